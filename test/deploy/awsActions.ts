import { readdir, readFile } from "node:fs/promises";
import { join, relative } from "node:path";
import ts from "typescript";

/** The IAM service prefix of each SDK package keepwarm may call. */
const SERVICE_OF_PACKAGE: Readonly<Record<string, string>> = {
  "@aws-sdk/client-bedrock": "bedrock",
  "@aws-sdk/client-bedrock-runtime": "bedrock",
  "@aws-sdk/client-cloudwatch": "cloudwatch",
  "@aws-sdk/client-cost-explorer": "ce",
  "@aws-sdk/client-sts": "sts",
};

/**
 * Actions every caller may make without a grant: STS answers GetCallerIdentity whatever the
 * policy says (AWS STS API reference), so no policy names it.
 */
export const UNGRANTED_ACTIONS: ReadonlySet<string> = new Set(["sts:GetCallerIdentity"]);

/** Operations whose IAM action is not named after them (AWS service authorization reference). */
const ACTION_OF_OPERATION: Readonly<Record<string, string>> = {
  "@aws-sdk/client-bedrock-runtime:Converse": "bedrock:InvokeModel",
  "@aws-sdk/client-bedrock-runtime:ConverseStream": "bedrock:InvokeModelWithResponseStream",
};

/** A construct in the code whose AWS permission cannot be derived; the test must fail on it. */
export class UnmappableAwsCallError extends Error {
  override readonly name = "UnmappableAwsCallError";
}

export interface AwsActionUse {
  readonly action: string;
  /** "file:line" of the import or call it was derived from. */
  readonly at: string;
}

/** What a value exported by an SDK package is, decided from the package itself. */
type ExportKind = "client" | "command" | "paginator" | "inert" | "unmappable";

async function exportKindOf(pkg: string, name: string): Promise<ExportKind> {
  const mod = (await import(pkg)) as Record<string, unknown>;
  const value = mod[name];
  if (value === undefined) throw new UnmappableAwsCallError(`${pkg} exports no ${name}`);
  if (name.endsWith("Command") && typeof value === "function") return "command";
  if (name.startsWith("paginate") && typeof value === "function") return "paginator";
  if (name.endsWith("Client") && typeof value === "function") return "client";
  if (typeof value === "function" && (value as { prototype?: unknown }).prototype instanceof Error)
    return "inert";
  if (typeof value !== "function") return "inert";
  // Aggregated clients (`new CloudWatch().listMetrics()`), waiters and other helpers call AWS
  // in ways this scan cannot follow.
  return "unmappable";
}

function actionOf(pkg: string, operation: string): string {
  const service = SERVICE_OF_PACKAGE[pkg];
  if (!service) throw new UnmappableAwsCallError(`no IAM service prefix known for ${pkg}`);
  return ACTION_OF_OPERATION[`${pkg}:${operation}`] ?? `${service}:${operation}`;
}

/**
 * The IAM actions one TypeScript source calls through the AWS SDK: every Command and paginator
 * imported from an @aws-sdk/client-* package. Throws UnmappableAwsCallError on anything that
 * reaches AWS in a way it cannot attribute (a Command from elsewhere, an aggregated client, a
 * dynamic import of an SDK package).
 */
export async function awsActionsInSource(file: string, text: string): Promise<AwsActionUse[]> {
  const source = ts.createSourceFile(file, text, ts.ScriptTarget.ES2022, true);
  const at = (node: ts.Node): string =>
    `${file}:${source.getLineAndCharacterOfPosition(node.getStart(source)).line + 1}`;
  const uses: AwsActionUse[] = [];
  /** Local name -> [package, exported name] of value imports from SDK client packages. */
  const imported = new Map<string, readonly [string, string]>();
  const namespaces = new Map<string, string>();
  const pending: Promise<void>[] = [];

  const visit = (node: ts.Node): void => {
    if (ts.isImportDeclaration(node) && ts.isStringLiteral(node.moduleSpecifier)) {
      const pkg = node.moduleSpecifier.text;
      const clause = node.importClause;
      if (pkg.startsWith("@aws-sdk/client-") && clause && !clause.isTypeOnly) {
        if (clause.name) throw new UnmappableAwsCallError(`${at(node)}: default import of ${pkg}`);
        const bindings = clause.namedBindings;
        if (bindings && ts.isNamespaceImport(bindings)) namespaces.set(bindings.name.text, pkg);
        if (bindings && ts.isNamedImports(bindings)) {
          for (const element of bindings.elements) {
            if (element.isTypeOnly) continue;
            const name = (element.propertyName ?? element.name).text;
            imported.set(element.name.text, [pkg, name]);
            pending.push(recordExport(pkg, name, at(element)));
          }
        }
      }
    }
    if (
      ts.isCallExpression(node) &&
      node.expression.kind === ts.SyntaxKind.ImportKeyword &&
      node.arguments[0] &&
      ts.isStringLiteral(node.arguments[0]) &&
      node.arguments[0].text.startsWith("@aws-sdk/client-")
    ) {
      throw new UnmappableAwsCallError(`${at(node)}: dynamic import of ${node.arguments[0].text}`);
    }
    if (ts.isNewExpression(node)) checkConstruction(node);
    if (ts.isPropertyAccessExpression(node) && ts.isIdentifier(node.expression)) {
      const pkg = namespaces.get(node.expression.text);
      if (pkg) pending.push(recordExport(pkg, node.name.text, at(node)));
    }
    ts.forEachChild(node, visit);
  };

  const checkConstruction = (node: ts.NewExpression): void => {
    const callee = node.expression;
    const name = ts.isIdentifier(callee)
      ? callee.text
      : ts.isPropertyAccessExpression(callee)
        ? callee.name.text
        : "";
    // commander's own `new Command()` is not an AWS call; `new <Operation>Command()` is.
    if (!name.endsWith("Command") || name === "Command") return;
    const fromSdk =
      (ts.isIdentifier(callee) && imported.has(name)) ||
      (ts.isPropertyAccessExpression(callee) &&
        ts.isIdentifier(callee.expression) &&
        namespaces.has(callee.expression.text));
    if (!fromSdk) {
      throw new UnmappableAwsCallError(
        `${at(node)}: new ${name}(...) is not imported from an @aws-sdk/client-* package`,
      );
    }
  };

  const recordExport = async (pkg: string, name: string, where: string): Promise<void> => {
    if (!SERVICE_OF_PACKAGE[pkg]) {
      throw new UnmappableAwsCallError(`${where}: no IAM service prefix known for ${pkg}`);
    }
    const kind = await exportKindOf(pkg, name);
    if (kind === "command")
      uses.push({ action: actionOf(pkg, name.slice(0, -"Command".length)), at: where });
    if (kind === "paginator")
      uses.push({ action: actionOf(pkg, name.slice("paginate".length)), at: where });
    if (kind === "unmappable") {
      throw new UnmappableAwsCallError(
        `${where}: ${name} from ${pkg} calls AWS in a way this scan cannot map`,
      );
    }
  };

  visit(source);
  await Promise.all(pending);
  return uses;
}

async function typeScriptFiles(dir: string): Promise<string[]> {
  const entries = await readdir(dir, { withFileTypes: true, recursive: true });
  return entries
    .filter((e) => e.isFile() && e.name.endsWith(".ts"))
    .map((e) => join(e.parentPath, e.name))
    .sort();
}

/** Every IAM action the sources under `srcDir` call, except those under the excluded dirs. */
export async function awsActionsInTree(
  root: string,
  srcDir: string,
  excludeDirs: readonly string[],
): Promise<AwsActionUse[]> {
  const uses: AwsActionUse[] = [];
  for (const file of await typeScriptFiles(join(root, srcDir))) {
    const name = relative(root, file);
    if (excludeDirs.some((dir) => name.startsWith(`${dir}/`))) continue;
    uses.push(...(await awsActionsInSource(name, await readFile(file, "utf8"))));
  }
  return uses;
}

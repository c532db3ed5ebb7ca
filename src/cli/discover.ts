import type { Command } from "commander";
import { Document, isMap, isScalar, type YAMLMap } from "yaml";
import { createRegionClients, type RegionClients } from "../aws/clients.js";
import {
  type CopyMetricName,
  type DiscoveredModel,
  discoverModel,
  discoverRegion,
} from "../aws/discovery.js";
import { AwsCallError } from "../aws/errors.js";
import { DEFAULT_METRIC } from "../config/defaults.js";
import { IMPORTED_MODEL_ARN_PATTERN, NAME_PATTERN, REGION_PATTERN } from "../config/formats.js";
import type { MetricSource } from "../domain/types.js";
import { ExitCode } from "./exitCodes.js";
import type { CommandOutput } from "./validate.js";

export interface DiscoverOptions {
  /** `--region`; taken from the ARN when only `--model` is given. */
  readonly region: string | undefined;
  readonly model: string | undefined;
  readonly namespace: string;
  readonly metricName: string;
}

/** Imports from this day on also accept OpenAI-style bodies, keepwarm's default ping. */
const OPENAI_BODIES_SINCE = Date.UTC(2025, 10, 11);
/** The ping of older imports, in the Llama / Bedrock completion dialect. */
const COMPLETION_REQUEST = { prompt: "ping", max_gen_len: 1 };
const SNIPPET_POLICY = "business-hours";

/** The SDK's default chain found nothing: no permission is missing yet, credentials are. */
const NO_CREDENTIALS = [
  "keepwarm discover: no AWS credentials found: the AWS SDK looked in the environment (AWS_ACCESS_KEY_ID, AWS_PROFILE), the shared config and credentials files (~/.aws/config, ~/.aws/credentials, or AWS_CONFIG_FILE and AWS_SHARED_CREDENTIALS_FILE), a web identity token (AWS_WEB_IDENTITY_TOKEN_FILE), the container credentials endpoint and the EC2 instance metadata",
  "  what to do: provide credentials in one of those places, e.g. `aws configure` (keys into ~/.aws/credentials), `aws sso login --profile NAME` then AWS_PROFILE=NAME, or AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY in the environment; they need cloudwatch:ListMetrics and bedrock:GetImportedModel (docs/install.md#iam-policy)",
];

export function registerDiscover(program: Command): void {
  program
    .command("discover")
    .description(
      "Find the ModelCopy metric, CMUs and architecture of imported models, and print a config snippet for them.",
    )
    .option("-r, --region <region>", "the AWS region to search (default: the region of --model)")
    .option("-m, --model <arn>", "one imported model's ARN; without it, every model of the region")
    .option(
      "--namespace <namespace>",
      "CloudWatch namespace of the copy metric",
      DEFAULT_METRIC.namespace,
    )
    .option("--metric <name>", "name of the copy metric", DEFAULT_METRIC.name)
    .action(
      async (opts: { region?: string; model?: string; namespace: string; metric: string }) => {
        process.exitCode = await discover(
          {
            region: opts.region,
            model: opts.model,
            namespace: opts.namespace,
            metricName: opts.metric,
          },
          {
            stdout: (line) => process.stdout.write(`${line}\n`),
            stderr: (line) => process.stderr.write(`${line}\n`),
          },
        );
      },
    );
}

/**
 * Prints what keepwarm will read for each model and a `models:` snippet for the config.
 * Exit 0 when every model was described, 1 when an AWS call failed, 2 on bad options.
 */
export async function discover(
  opts: DiscoverOptions,
  out: CommandOutput,
  clientsFor: (region: string) => RegionClients = (region) => createRegionClients(region),
): Promise<number> {
  const arnParts =
    opts.model === undefined ? undefined : IMPORTED_MODEL_ARN_PATTERN.exec(opts.model);
  if (opts.model !== undefined && !arnParts) {
    out.stderr(
      `keepwarm discover: --model: "${opts.model}" is not an imported-model ARN; allowed: arn:aws:bedrock:<region>:<12 digits>:imported-model/<12 of [a-z0-9]>`,
    );
    return ExitCode.badInput;
  }
  const region = opts.region ?? arnParts?.[1];
  if (region === undefined || !REGION_PATTERN.test(region)) {
    out.stderr(
      region === undefined
        ? "keepwarm discover: --region is required without --model; allowed: an AWS region name such as us-east-1"
        : `keepwarm discover: --region: "${region}" is not a region name; allowed: an AWS region name such as us-east-1`,
    );
    return ExitCode.badInput;
  }
  if (arnParts && arnParts[1] !== region) {
    out.stderr(
      `keepwarm discover: --region ${region} differs from the region of --model (${arnParts[1]}); allowed: the model's own region`,
    );
    return ExitCode.badInput;
  }

  const name: CopyMetricName = { namespace: opts.namespace, metricName: opts.metricName };
  const clients = clientsFor(region);
  let models: DiscoveredModel[];
  try {
    models =
      opts.model === undefined
        ? await discoverRegion(clients, name)
        : [await discoverModel(clients, opts.model, name)];
  } catch (error) {
    if (!(error instanceof AwsCallError)) throw error;
    const lines =
      error.awsName === "CredentialsProviderError"
        ? NO_CREDENTIALS
        : [`keepwarm discover: ${error.message}`, `  what to do: ${error.remedy}`];
    for (const line of lines) out.stderr(line);
    return ExitCode.failure;
  } finally {
    clients.runtime.destroy();
    clients.bedrock.destroy();
    clients.cloudwatch.destroy();
  }

  if (models.length === 0) {
    out.stderr(
      `keepwarm discover: no ${name.namespace} ${name.metricName} metric in ${region}. CloudWatch lists a metric only once it has data from the last two weeks: invoke a model once, wait a few minutes, and run discover again (or name it with --model).`,
    );
    return ExitCode.ok;
  }
  for (const line of describeModels(models, name)) out.stdout(line);
  const snippet = modelsSnippet(models);
  if (snippet) {
    out.stdout("");
    out.stdout("# Paste into keepwarm.yaml, then: keepwarm validate --config keepwarm.yaml");
    for (const line of snippet.trimEnd().split("\n")) out.stdout(line);
  }
  return models.every((m) => m.info !== undefined) ? ExitCode.ok : ExitCode.failure;
}

/** The human-readable part: one block per model. */
export function describeModels(models: readonly DiscoveredModel[], name: CopyMetricName): string[] {
  const lines: string[] = [];
  for (const m of models) {
    if (lines.length > 0) lines.push("");
    lines.push(m.info?.modelName ?? m.modelArn ?? m.identifier);
    lines.push(`  model:         ${m.modelArn ?? `${m.identifier} (ARN unknown)`}`);
    lines.push(`  ModelCopy:     ${describeMetric(m, name)}`);
    if (m.info) {
      const version = m.info.unitsVersion ? ` (units version ${m.info.unitsVersion})` : "";
      lines.push(`  CMU per copy:  ${m.info.customModelUnits}${version}`);
      const instruct =
        m.info.instructSupported === undefined
          ? ""
          : `, instruct ${m.info.instructSupported ? "yes" : "no"}`;
      lines.push(`  architecture:  ${m.info.architecture ?? "not reported"}${instruct}`);
      if (m.info.createdAt !== undefined) {
        lines.push(`  imported:      ${new Date(m.info.createdAt).toISOString().slice(0, 10)}`);
      }
    } else {
      lines.push(`  GetImportedModel failed: ${m.problem}`);
    }
  }
  return lines;
}

function describeMetric(m: DiscoveredModel, name: CopyMetricName): string {
  if (!m.metric) {
    return `none listed in ${name.namespace}; keepwarm reads its default ${DEFAULT_METRIC.namespace} ${DEFAULT_METRIC.name} ${DEFAULT_METRIC.dimension}=${m.modelArn ?? m.identifier}, which CloudWatch lists once the model has run in the last two weeks`;
  }
  const where = `namespace ${m.metric.namespace}, metric ${m.metric.metricName}, dimension ${m.metric.dimensionName}=${m.metric.dimensionValue}`;
  if (!m.modelArn) return where;
  return isDefaultMetric(m.metric, m.modelArn)
    ? `${where} (keepwarm's default)`
    : `${where} (not the default: the snippet sets it)`;
}

function isDefaultMetric(metric: MetricSource, modelArn: string): boolean {
  return (
    metric.namespace === DEFAULT_METRIC.namespace &&
    metric.metricName === DEFAULT_METRIC.name &&
    metric.dimensionName === DEFAULT_METRIC.dimension &&
    metric.dimensionValue === modelArn
  );
}

/** A `models:` list for the config, one entry per model whose ARN is known; "" when none is. */
export function modelsSnippet(models: readonly DiscoveredModel[]): string {
  const taken = new Set<string>();
  const entries = models.flatMap((m) => {
    if (!m.modelArn) return [];
    const entry: Record<string, unknown> = {
      name: uniqueName(m, taken),
      modelArn: m.modelArn,
      policy: SNIPPET_POLICY,
    };
    if (m.info) entry.customModelUnits = m.info.customModelUnits;
    if (m.info?.unitsVersion !== undefined) entry.customModelUnitsVersion = m.info.unitsVersion;
    if (m.info?.createdAt !== undefined && m.info.createdAt < OPENAI_BODIES_SINCE) {
      entry.request = COMPLETION_REQUEST;
    }
    if (m.metric && !isDefaultMetric(m.metric, m.modelArn)) {
      entry.metric = {
        namespace: m.metric.namespace,
        name: m.metric.metricName,
        dimension: m.metric.dimensionName,
        dimensionValue: m.metric.dimensionValue,
      };
    }
    return [{ entry, model: m }];
  });
  if (entries.length === 0) return "";

  const doc = new Document({ models: entries.map((e) => e.entry) });
  entries.forEach(({ model }, i) => {
    const item = doc.getIn(["models", i], true);
    if (!isMap(item)) return;
    commentOn(item, "policy", "a built-in policy: Mon-Fri 09:00-18:00; pick your own");
    if (model.info) {
      commentOn(item, "customModelUnits", "from GetImportedModel");
      commentOn(item, "customModelUnitsVersion", "from GetImportedModel: selects the price");
    } else {
      commentOn(
        item,
        "modelArn",
        "GetImportedModel failed: add customModelUnits, and a request if imported before 2025-11-11",
      );
    }
    const request = item.get("request", true);
    if (isMap(request)) {
      request.flow = true;
      request.comment = " imported before 2025-11-11: the base model's own dialect";
    }
  });
  return doc.toString({ lineWidth: 0 });
}

function commentOn(item: YAMLMap, key: string, comment: string): void {
  const node = item.get(key, true);
  if (isScalar(node)) node.comment = ` ${comment}`;
}

/** A config name from Bedrock's model name (or the id), unique within the snippet. */
function uniqueName(m: DiscoveredModel, taken: Set<string>): string {
  const id = (m.modelArn ?? m.identifier).slice((m.modelArn ?? m.identifier).lastIndexOf("/") + 1);
  const cleaned = (m.info?.modelName ?? "")
    .replace(/[^A-Za-z0-9._-]+/g, "-")
    .replace(/^[^A-Za-z0-9]+/, "");
  const base = NAME_PATTERN.test(cleaned) ? cleaned : id;
  let name = base;
  for (let n = 2; taken.has(name); n++) name = `${base}-${n}`;
  taken.add(name);
  return name;
}

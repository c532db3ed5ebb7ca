import { readFile } from "node:fs/promises";
import { fileURLToPath } from "node:url";
import { describe, expect, it } from "vitest";
import {
  awsActionsInSource,
  awsActionsInTree,
  UNGRANTED_ACTIONS,
  UnmappableAwsCallError,
} from "./awsActions.js";

const ROOT = fileURLToPath(new URL("../..", import.meta.url));
const POLICY_FILE = "deploy/iam-policy.json";
const MODEL_ARN_PLACEHOLDER = "arn:aws:bedrock:REGION:ACCOUNT_ID:imported-model/MODEL_ID";

/**
 * bedrock-facts.md §8, least privilege: the actions and the resources they are granted on;
 * and reconciliation's (docs/reconcile.md#permissions-and-cost): Cost Explorer and listing the
 * imports, neither of which takes a resource ARN.
 */
const FACTS_SECTION_8: Readonly<Record<string, string>> = {
  "bedrock:InvokeModel": MODEL_ARN_PLACEHOLDER,
  "bedrock:GetImportedModel": MODEL_ARN_PLACEHOLDER,
  "cloudwatch:GetMetricData": "*",
  "cloudwatch:ListMetrics": "*",
  "ce:GetCostAndUsage": "*",
  "bedrock:ListImportedModels": "*",
};

interface Statement {
  readonly Sid?: string;
  readonly Effect: string;
  readonly Action: string | readonly string[];
  readonly Resource: string | readonly string[];
  readonly Condition?: unknown;
  readonly NotAction?: unknown;
  readonly NotResource?: unknown;
}

const asList = (x: string | readonly string[]): readonly string[] =>
  typeof x === "string" ? [x] : x;

async function readPolicy(): Promise<{ Version: string; Statement: readonly Statement[] }> {
  return JSON.parse(await readFile(`${ROOT}${POLICY_FILE}`, "utf8"));
}

/** action -> resources it is granted on, over every statement. */
function grants(statements: readonly Statement[]): Map<string, string[]> {
  const byAction = new Map<string, string[]>();
  for (const s of statements) {
    for (const action of asList(s.Action)) {
      byAction.set(action, [...(byAction.get(action) ?? []), ...asList(s.Resource)]);
    }
  }
  return byAction;
}

describe("deploy/iam-policy.json", () => {
  describe("its statements", () => {
    it("only allow, with exact actions and no conditions or negations", async () => {
      const policy = await readPolicy();
      expect(policy.Version).toBe("2012-10-17");
      for (const s of policy.Statement) {
        expect(s.Effect).toBe("Allow");
        expect(s.NotAction).toBeUndefined();
        expect(s.NotResource).toBeUndefined();
        for (const action of asList(s.Action)) expect(action).toMatch(/^[a-z0-9-]+:[A-Za-z]+$/);
      }
    });

    it("grant exactly the permissions of bedrock-facts.md §8, on its resources", async () => {
      const granted = grants((await readPolicy()).Statement);
      expect(Object.fromEntries([...granted].map(([a, r]) => [a, r.join(" ")]))).toEqual(
        FACTS_SECTION_8,
      );
    });
  });

  describe("against the code", () => {
    it("grants every action keepwarm calls and nothing more (the simulator excluded)", async () => {
      const uses = await awsActionsInTree(ROOT, "src", ["src/sim"]);
      const called = new Set(uses.map((u) => u.action).filter((a) => !UNGRANTED_ACTIONS.has(a)));
      const granted = new Set(grants((await readPolicy()).Statement).keys());
      const missing = [...called].filter((a) => !granted.has(a));
      const unused = [...granted].filter((a) => !called.has(a));
      expect({ missing, unused }).toEqual({ missing: [], unused: [] });
    });
  });
});

describe("awsActionsInSource", () => {
  describe("when the SDK is called through Commands and paginators", () => {
    it.each([
      [
        "a named Command",
        `import { InvokeModelCommand } from "@aws-sdk/client-bedrock-runtime";
         await client.send(new InvokeModelCommand({ modelId }));`,
        ["bedrock:InvokeModel"],
      ],
      [
        "a renamed Command beside type imports",
        `import { type CloudWatchClient, GetMetricDataCommand as Read, type MetricDataQuery }
           from "@aws-sdk/client-cloudwatch";
         await cw.send(new Read({}));`,
        ["cloudwatch:GetMetricData"],
      ],
      [
        "a namespace import",
        `import * as bedrock from "@aws-sdk/client-bedrock";
         await c.send(new bedrock.GetImportedModelCommand({ modelIdentifier }));`,
        ["bedrock:GetImportedModel"],
      ],
      [
        "a paginator",
        `import { paginateListMetrics } from "@aws-sdk/client-cloudwatch";
         for await (const page of paginateListMetrics({ client }, {})) {}`,
        ["cloudwatch:ListMetrics"],
      ],
      [
        "Converse, which IAM calls InvokeModel",
        `import { ConverseCommand } from "@aws-sdk/client-bedrock-runtime";`,
        ["bedrock:InvokeModel"],
      ],
      [
        "only types, a client and an exception class",
        `import type { InvokeModelCommandOutput } from "@aws-sdk/client-bedrock-runtime";
         import { BedrockRuntimeClient, ModelNotReadyException } from "@aws-sdk/client-bedrock-runtime";
         import { Command } from "commander";
         new Command("keepwarm");`,
        [],
      ],
    ])("derives the actions of %s", async (_label, text, actions) => {
      const uses = await awsActionsInSource("x.ts", text);
      expect(uses.map((u) => u.action)).toEqual(actions);
    });
  });

  describe("when it meets a call it cannot attribute", () => {
    it.each([
      [
        "a Command not imported from an SDK package",
        `import { ListMetricsCommand } from "./reexport.js";
         await c.send(new ListMetricsCommand({}));`,
      ],
      ["an aggregated client", `import { CloudWatch } from "@aws-sdk/client-cloudwatch";`],
      [
        "a waiter",
        `import { waitUntilModelCustomizationJobCompleted } from "@aws-sdk/client-bedrock";`,
      ],
      [
        "a package without a known IAM prefix",
        `import { ListBucketsCommand } from "@aws-sdk/client-s3";`,
      ],
      ["a dynamic import of an SDK package", `const m = await import("@aws-sdk/client-bedrock");`],
    ])("throws UnmappableAwsCallError (%s)", async (_label, text) => {
      await expect(awsActionsInSource("x.ts", text)).rejects.toThrow(UnmappableAwsCallError);
    });
  });
});

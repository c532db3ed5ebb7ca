import { execFile } from "node:child_process";
import { mkdtempSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { promisify } from "node:util";
import { BedrockClient, GetImportedModelCommand } from "@aws-sdk/client-bedrock";
import {
  CloudWatchClient,
  ListMetricsCommand,
  type ListMetricsCommandInput,
} from "@aws-sdk/client-cloudwatch";
import { mockClient } from "aws-sdk-client-mock";
import { afterAll, afterEach, beforeAll, describe, expect, it } from "vitest";
import { createRegionClients } from "../../src/aws/clients.js";
import { type DiscoverOptions, discover } from "../../src/cli/discover.js";
import { parseConfigText } from "../../src/config/load.js";
import { ManualClock, type SimServer, Simulator } from "../../src/sim/index.js";

const ROOT = fileURLToPath(new URL("../..", import.meta.url));
const run = promisify(execFile);

const QWEN = "arn:aws:bedrock:us-east-1:123456789012:imported-model/km5b98xhpqel";
const LLAMA = "arn:aws:bedrock:us-east-1:123456789012:imported-model/a1b2c3d4e5f6";
const IDLE = "arn:aws:bedrock:us-east-1:123456789012:imported-model/zzzzzzzzzzzz";
const UNKNOWN = "arn:aws:bedrock:us-east-1:123456789012:imported-model/000000000000";
const START = Date.parse("2026-12-01T08:00:00Z");

/** The YAML after the "Paste into" line, as an operator would copy it. */
function snippetOf(stdout: string): string {
  const at = stdout.indexOf("# Paste into keepwarm.yaml");
  if (at < 0) throw new Error(`no snippet in:\n${stdout}`);
  return stdout.slice(at);
}

function validModels(yaml: string) {
  const result = parseConfigText(yaml, "discover-snippet.yaml");
  if (!result.ok) throw new Error(`snippet rejected: ${JSON.stringify(result.problems)}\n${yaml}`);
  return result.config.models.map((m) => ({
    name: m.name,
    modelArn: m.modelArn,
    customModelUnits: m.customModelUnits,
    request: m.request,
    metric: m.metric,
  }));
}

/** A ModelCopy metric as ListMetrics lists it, with its ModelId dimension. */
function modelCopyMetric(modelId: string) {
  return {
    Namespace: "AWS/Bedrock",
    MetricName: "ModelCopy",
    Dimensions: [{ Name: "ModelId", Value: modelId }],
  };
}

describe("keepwarm discover", () => {
  describe("over the wire, against the simulator", () => {
    const clock = new ManualClock(START);
    const sim = new Simulator({
      clock,
      models: [
        {
          modelArn: QWEN,
          customModelUnits: 4,
          architecture: "qwen2_5_vl",
          modelName: "MiMo VL 7B",
        },
        { modelArn: LLAMA, customModelUnits: 2, architecture: "llama", instructSupported: false },
        { modelArn: IDLE, customModelUnits: 8 },
      ],
    });
    let server: SimServer;

    /** The real CLI in a child process, reaching the simulator through AWS_ENDPOINT_URL only. */
    async function keepwarm(...args: string[]) {
      const env: NodeJS.ProcessEnv = {
        PATH: process.env.PATH,
        HOME: process.env.HOME,
        AWS_ENDPOINT_URL: server.url,
        AWS_ACCESS_KEY_ID: "AKIDSIMULATOR",
        AWS_SECRET_ACCESS_KEY: "simulator-secret",
        AWS_EC2_METADATA_DISABLED: "true",
      };
      return run(process.execPath, ["--import", "tsx", "src/cli/main.ts", "discover", ...args], {
        cwd: ROOT,
        env,
      }).then(
        ({ stdout, stderr }) => ({ code: 0, stdout, stderr }),
        (e: { code: number; stdout: string; stderr: string }) => ({
          code: e.code,
          stdout: e.stdout,
          stderr: e.stderr,
        }),
      );
    }

    beforeAll(async () => {
      // A first call starts a restore; ModelCopy is listed once that minute is published.
      sim.invokeModel(
        QWEN,
        JSON.stringify({ messages: [{ role: "user", content: "hi" }], max_tokens: 1 }),
      );
      sim.invokeModel(LLAMA, JSON.stringify({ prompt: "hi", max_gen_len: 1 }));
      clock.set(START + 6 * 60_000);
      server = await sim.listen();
    });
    afterAll(async () => {
      await server.close();
    });
    afterEach(() => {
      sim.faults.clear();
    });

    it("lists every model that publishes ModelCopy, with CMUs, architecture and a valid snippet", async () => {
      const { code, stdout, stderr } = await keepwarm("--region", "us-east-1");
      expect(code).toBe(0);
      expect(stderr).not.toContain("keepwarm discover");
      expect(stdout).toContain(
        `  ModelCopy:     namespace AWS/Bedrock, metric ModelCopy, dimension ModelId=${QWEN} (keepwarm's default)`,
      );
      expect(stdout).toContain("  CMU per copy:  4 (units version v1.0)");
      expect(stdout).toContain("  architecture:  qwen2_5_vl, instruct yes");
      expect(stdout).toContain("  CMU per copy:  2 (units version v1.0)");
      expect(stdout).toContain("  architecture:  llama, instruct no");
      expect(stdout).not.toContain(IDLE);
      const models = validModels(snippetOf(stdout));
      expect(models.map((m) => [m.name, m.modelArn, m.customModelUnits])).toEqual([
        ["MiMo-VL-7B", QWEN, 4],
        ["a1b2c3d4e5f6", LLAMA, 2],
      ]);
      expect(models[0]?.metric).toEqual({
        namespace: "AWS/Bedrock",
        metricName: "ModelCopy",
        dimensionName: "ModelId",
        dimensionValue: QWEN,
      });
    });

    it("describes one model by ARN, saying when CloudWatch lists no ModelCopy for it yet", async () => {
      const { code, stdout } = await keepwarm("--model", IDLE);
      expect(code).toBe(0);
      expect(stdout).toContain(
        `  ModelCopy:     none listed in AWS/Bedrock; keepwarm reads its default AWS/Bedrock ModelCopy ModelId=${IDLE}`,
      );
      expect(stdout).toContain("  CMU per copy:  8");
      expect(validModels(snippetOf(stdout)).map((m) => m.customModelUnits)).toEqual([8]);
    });

    it("exits 1 naming bedrock:GetImportedModel when the model does not exist", async () => {
      const { code, stdout } = await keepwarm("--model", UNKNOWN);
      expect(code).toBe(1);
      expect(stdout).toContain(`GetImportedModel failed: bedrock:GetImportedModel on ${UNKNOWN}`);
      expect(validModels(snippetOf(stdout))[0]?.customModelUnits).toBeUndefined();
    });

    it("exits 1 with the missing permission when ListMetrics is denied", async () => {
      const fault = sim.faults.add({ kind: "accessDenied", operations: ["ListMetrics"] });
      try {
        const { code, stdout, stderr } = await keepwarm("--region", "us-east-1");
        expect({ code, stdout }).toEqual({ code: 1, stdout: "" });
        expect(stderr).toContain("cloudwatch:ListMetrics on * failed: AccessDeniedException");
        expect(stderr).toContain("what to do: grant cloudwatch:ListMetrics on *");
      } finally {
        sim.faults.remove(fault);
      }
    });

    it.each([
      [["--model", "km5b98xhpqel"], '--model: "km5b98xhpqel" is not an imported-model ARN'],
      [[], "--region is required without --model"],
      [
        ["--region", "us-east-1", "--model", QWEN.replace("us-east-1", "us-west-2")],
        "differs from the region of --model",
      ],
    ])("exits 2 on bad options %j", async (args, message) => {
      const { code, stderr } = await keepwarm(...args);
      expect(code).toBe(2);
      expect(stderr).toContain(message);
    });
  });

  describe("with no AWS credentials anywhere", () => {
    it("says that none were found and how to provide them, not which permission to grant", async () => {
      const home = mkdtempSync(join(tmpdir(), "kw-discover-home-"));
      const result = await run(
        process.execPath,
        ["--import", "tsx", "src/cli/main.ts", "discover", "--region", "us-east-1"],
        {
          cwd: ROOT,
          env: { PATH: process.env.PATH, HOME: home, AWS_EC2_METADATA_DISABLED: "true" },
        },
      ).then(
        () => ({ code: 0, stderr: "" }),
        (e: { code: number; stderr: string }) => ({ code: e.code, stderr: e.stderr }),
      );
      expect(result.code).toBe(1);
      expect(result.stderr).toContain("keepwarm discover: no AWS credentials found");
      expect(result.stderr).toContain("what to do: provide credentials");
      expect(result.stderr).toContain("aws configure");
      expect(result.stderr).not.toContain("grant cloudwatch:ListMetrics");
    });
  });

  describe("discover() with mocked clients", () => {
    const cloudwatch = mockClient(CloudWatchClient);
    const bedrock = mockClient(BedrockClient);
    const lines: { stdout: string[]; stderr: string[] } = { stdout: [], stderr: [] };
    const out = {
      stdout: (l: string) => lines.stdout.push(l),
      stderr: (l: string) => lines.stderr.push(l),
    };
    const clientsFor = (region: string) =>
      createRegionClients(region, { credentials: { accessKeyId: "AKID", secretAccessKey: "s" } });
    const options = (o: Partial<DiscoverOptions>): DiscoverOptions => ({
      region: "us-east-1",
      model: undefined,
      namespace: "AWS/Bedrock",
      metricName: "ModelCopy",
      ...o,
    });

    afterEach(() => {
      cloudwatch.reset();
      bedrock.reset();
      lines.stdout.length = 0;
      lines.stderr.length = 0;
    });

    it("follows ListMetrics pages and skips metrics with other dimensions", async () => {
      const calls: ListMetricsCommandInput[] = [];
      cloudwatch.on(ListMetricsCommand).callsFake((input: ListMetricsCommandInput) => {
        calls.push(input);
        return input.NextToken === undefined
          ? {
              Metrics: [
                modelCopyMetric(QWEN),
                { Namespace: "AWS/Bedrock", MetricName: "ModelCopy", Dimensions: [] },
              ],
              NextToken: "page-2",
            }
          : {
              Metrics: [modelCopyMetric(LLAMA)],
            };
      });
      bedrock
        .on(GetImportedModelCommand)
        .resolves({ customModelUnits: { customModelUnitsPerModelCopy: 2 } });
      expect(await discover(options({}), out, clientsFor)).toBe(0);
      expect(calls).toEqual([
        { Namespace: "AWS/Bedrock", MetricName: "ModelCopy" },
        { Namespace: "AWS/Bedrock", MetricName: "ModelCopy", NextToken: "page-2" },
      ]);
      expect(validModels(snippetOf(lines.stdout.join("\n"))).map((m) => m.modelArn)).toEqual([
        QWEN,
        LLAMA,
      ]);
    });

    it("sets the metric in the snippet when the dimension is the bare id, not the ARN", async () => {
      cloudwatch.on(ListMetricsCommand).resolves({ Metrics: [modelCopyMetric("km5b98xhpqel")] });
      bedrock
        .on(GetImportedModelCommand, { modelIdentifier: "km5b98xhpqel" })
        .resolves({ modelArn: QWEN, customModelUnits: { customModelUnitsPerModelCopy: 4 } });
      expect(await discover(options({}), out, clientsFor)).toBe(0);
      const stdout = lines.stdout.join("\n");
      expect(stdout).toContain(
        "dimension ModelId=km5b98xhpqel (not the default: the snippet sets it)",
      );
      expect(validModels(snippetOf(stdout))).toEqual([
        {
          name: "km5b98xhpqel",
          modelArn: QWEN,
          customModelUnits: 4,
          request: { messages: [{ role: "user", content: "ping" }], max_tokens: 1 },
          metric: {
            namespace: "AWS/Bedrock",
            metricName: "ModelCopy",
            dimensionName: "ModelId",
            dimensionValue: "km5b98xhpqel",
          },
        },
      ]);
    });

    it("leaves out of the snippet a model whose ARN it cannot learn, and exits 1", async () => {
      cloudwatch.on(ListMetricsCommand).resolves({ Metrics: [modelCopyMetric("km5b98xhpqel")] });
      bedrock
        .on(GetImportedModelCommand)
        .rejects(Object.assign(new Error("denied"), { name: "AccessDeniedException" }));
      expect(await discover(options({}), out, clientsFor)).toBe(1);
      expect(lines.stdout).toEqual([
        "km5b98xhpqel",
        "  model:         km5b98xhpqel (ARN unknown)",
        "  ModelCopy:     namespace AWS/Bedrock, metric ModelCopy, dimension ModelId=km5b98xhpqel",
        "  GetImportedModel failed: bedrock:GetImportedModel on km5b98xhpqel failed in us-east-1: AccessDeniedException: denied",
      ]);
    });

    it.each([
      ["2025-11-10T23:59:59Z", { prompt: "ping", max_gen_len: 1 }],
      ["2025-11-11T00:00:00Z", { messages: [{ role: "user", content: "ping" }], max_tokens: 1 }],
    ])("picks the ping dialect from the import time (%s)", async (created, request) => {
      cloudwatch.on(ListMetricsCommand).resolves({ Metrics: [] });
      bedrock.on(GetImportedModelCommand).resolves({
        creationTime: new Date(created),
        customModelUnits: { customModelUnitsPerModelCopy: 2 },
      });
      expect(await discover(options({ model: LLAMA }), out, clientsFor)).toBe(0);
      expect(validModels(snippetOf(lines.stdout.join("\n")))[0]?.request).toEqual(request);
    });

    it("gives two models with the same Bedrock name distinct config names", async () => {
      cloudwatch.on(ListMetricsCommand).resolves({
        Metrics: [QWEN, LLAMA].map(modelCopyMetric),
      });
      bedrock.on(GetImportedModelCommand).resolves({
        modelName: "my model",
        customModelUnits: { customModelUnitsPerModelCopy: 2 },
      });
      expect(await discover(options({}), out, clientsFor)).toBe(0);
      expect(validModels(snippetOf(lines.stdout.join("\n"))).map((m) => m.name)).toEqual([
        "my-model",
        "my-model-2",
      ]);
    });

    it("says so and exits 0 when the region has no ModelCopy metric", async () => {
      cloudwatch.on(ListMetricsCommand).resolves({ Metrics: [] });
      expect(await discover(options({}), out, clientsFor)).toBe(0);
      expect(lines.stdout).toEqual([]);
      expect(lines.stderr.join("\n")).toContain("no AWS/Bedrock ModelCopy metric in us-east-1");
    });
  });
});

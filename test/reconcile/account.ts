import { RegionClientPool } from "../../src/aws/clients.js";
import { parseConfigText } from "../../src/config/load.js";
import type { ResolvedConfig } from "../../src/domain/types.js";
import { ManualClock, type SimModelSpec, type SimServer, Simulator } from "../../src/sim/index.js";

/** Managed: Qwen-based, 4 CMU in us-west-2, CMUs read from GetImportedModel. */
export const QWEN = "arn:aws:bedrock:us-west-2:123456789012:imported-model/qwenqwenqw01";
/** Managed: Llama, 2 CMU in us-east-1, CMUs in the config. */
export const LLAMA = "arn:aws:bedrock:us-east-1:123456789012:imported-model/llamallama01";
/** Not in the config: GPT-OSS, 8 CMU of v2.0 in us-east-1. */
export const OSS = "arn:aws:bedrock:us-east-1:123456789012:imported-model/gptossgptos1";
/** Managed in UNPRICED_YAML: GPT-OSS (v2.0) in us-west-2, where v2.0 has no price. */
export const OSS_WEST = "arn:aws:bedrock:us-west-2:123456789012:imported-model/gptosswest01";
/** Not in the config: a second Llama of us-east-1, billed under LLAMA's usage types. */
export const STRAY_LLAMA = "arn:aws:bedrock:us-east-1:123456789012:imported-model/strayllama01";

export const MIN = 60_000;
export const DAY = 24 * 60 * MIN;
const PING = '{"prompt":"ping","max_gen_len":1}';

export const SPECS: Readonly<Record<string, SimModelSpec>> = {
  [QWEN]: {
    modelArn: QWEN,
    customModelUnits: 4,
    architecture: "qwen2.5-vl",
    modelName: "mimo-import",
  },
  [LLAMA]: { modelArn: LLAMA, customModelUnits: 2, architecture: "llama" },
  [OSS]: {
    modelArn: OSS,
    customModelUnits: 8,
    architecture: "gpt-oss",
    cmuVersion: "v2.0",
    modelName: "gpt-oss-120b-trial",
  },
  [OSS_WEST]: {
    modelArn: OSS_WEST,
    customModelUnits: 8,
    architecture: "gpt-oss",
    cmuVersion: "v2.0",
  },
  [STRAY_LLAMA]: {
    modelArn: STRAY_LLAMA,
    customModelUnits: 2,
    architecture: "llama",
    modelName: "old-llama",
  },
};

/** The config naming QWEN (as mimo-vl) and LLAMA (as batch-llama), and nothing else. */
export const CONFIG_YAML = `
timezone: UTC
models:
  - name: mimo-vl
    modelArn: ${QWEN}
    policy: business-hours
  - name: batch-llama
    modelArn: ${LLAMA}
    policy: always-on
    customModelUnits: 2
    request: { prompt: ping, max_gen_len: 1 }
`;

export function configOf(yaml: string = CONFIG_YAML): ResolvedConfig {
  const result = parseConfigText(yaml, "reconcile-test.yaml");
  if (!result.ok) throw new Error(`test config invalid: ${JSON.stringify(result.problems)}`);
  return result.config;
}

/** The UTC instant `hh:mm` of `day` (1-based) of December 2026; days past 31 run into January. */
export const dec = (day: number, hhmm = "00:00"): number => {
  const [h, m] = hhmm.split(":").map(Number) as [number, number];
  return Date.UTC(2026, 11, day, h, m);
};

export interface Account {
  readonly sim: Simulator;
  readonly clock: ManualClock;
  /** Calls the model at each instant, in time order across models (the simulator records in order). */
  play(calls: readonly (readonly [string, number])[]): void;
  /** Serves the simulator and returns clients that reach it as the daemon's do. */
  serve(): Promise<RegionClientPool>;
  close(): Promise<void>;
}

/** A simulator holding `models` from `start`, restores exactly 90 s, evictions 15 min after the last call. */
export function account(models: readonly string[], start: number): Account {
  const clock = new ManualClock(start);
  const sim = new Simulator({
    clock,
    settings: { restoreJitterMs: 0 },
    models: models.map((arn) => SPECS[arn] as SimModelSpec),
  });
  let server: SimServer | undefined;
  let clients: RegionClientPool | undefined;
  return {
    sim,
    clock,
    play(calls) {
      for (const [arn, t] of [...calls].sort((a, b) => a[1] - b[1])) {
        clock.set(t);
        sim.invokeModel(arn, PING);
      }
    },
    async serve() {
      server = await sim.listen({ port: 0 });
      clients = new RegionClientPool({
        endpoint: server.url,
        credentials: { accessKeyId: "AKIDRECONCILE", secretAccessKey: "simulated" },
        retryBackoffMs: 0,
      });
      return clients;
    },
    async close() {
      clients?.destroy();
      await server?.close();
    },
  };
}

/**
 * A run of `arn` from `from` to `to` (hh:mm, `to` may pass midnight): a cold call, the
 * first success 2 minutes later, then a call every 10 minutes; it ends 15 minutes after the
 * last call.
 */
export function run(arn: string, day: number, from: string, to: string): [string, number][] {
  const start = dec(day, from);
  let end = dec(day, to);
  if (end <= start) end += DAY;
  const calls: [string, number][] = [
    [arn, start],
    [arn, start + 2 * MIN],
  ];
  for (let t = start + 12 * MIN; t < end; t += 10 * MIN) calls.push([arn, t]);
  return calls;
}

/** A single call (and its retry 2 minutes later): a 15-minute run from the retry. */
export function blip(arn: string, t: number): [string, number][] {
  return [
    [arn, t],
    [arn, t + 2 * MIN],
  ];
}

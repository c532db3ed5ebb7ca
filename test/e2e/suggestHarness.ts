import { mkdtempSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { RegionClientPool } from "../../src/aws/clients.js";
import { suggestCommand, type suggestJson } from "../../src/cli/suggest.js";
import { parseConfigText } from "../../src/config/load.js";
import { seededRandom } from "../../src/domain/random.js";
import type { ResolvedConfig } from "../../src/domain/types.js";
import { VirtualClock } from "../../src/runtime/infra/virtualClock.js";
import { Daemon } from "../../src/runtime/keep/daemon.js";
import { InProcessSimHandler, type SimModelSpec, Simulator } from "../../src/sim/index.js";
import { collectingLogger, type LogLine } from "./daemonHarness.js";

const CREDENTIALS = { accessKeyId: "AKIDSUGGEST", secretAccessKey: "simulated" };

/** A config file written to a directory of its own, with the state directory beside it. */
export interface Weeks {
  readonly file: string;
  readonly stateDir: string;
  readonly config: ResolvedConfig;
  readonly clock: VirtualClock;
  readonly sim: Simulator;
  /** The daemon's log lines, parsed. */
  readonly lines: readonly LogLine[];
}

/**
 * keepwarm's daemon keeping `yaml`'s models warm from `start` to `until` against a
 * simulator whose models have `users`, in process (a month of virtual time in seconds),
 * then stopped: pings.json and timings.json are in the state directory.
 */
export async function runWeeks(options: {
  readonly yaml: string;
  readonly users: readonly SimModelSpec[];
  readonly start: number;
  readonly until: number;
}): Promise<Weeks> {
  const dir = mkdtempSync(join(tmpdir(), "kw-suggest-"));
  const stateDir = join(dir, "state");
  const file = join(dir, "keepwarm.yaml");
  const yaml = `${options.yaml}\ndaemon:\n  stateDir: ${stateDir}\n`;
  writeFileSync(file, yaml);
  const parsed = parseConfigText(yaml, file, {});
  if (!parsed.ok) throw new Error(`test config invalid: ${JSON.stringify(parsed.problems)}`);
  const config = parsed.config;
  const clock = new VirtualClock(options.start);
  const sim = new Simulator({ clock: clock.reference, models: options.users });
  const clients = new RegionClientPool({
    endpoint: "http://127.0.0.1:1",
    credentials: CREDENTIALS,
    cacheMiddleware: true,
    retryBackoffMs: 0,
    requestHandler: new InProcessSimHandler(sim),
  });
  const { logger, lines } = collectingLogger(() => clock.now());
  const daemon = new Daemon(config, {
    clock,
    logger,
    clients,
    stateDir,
    random: seededRandom(1),
    simulated: true,
    // The demand read in parts of two models, as a large fleet is read.
    demandReadModels: 2,
  });
  await daemon.start();
  await clock.runUntil(options.until);
  await daemon.stop({ graceMs: 1_000 });
  clients.destroy();
  return { file, stateDir, config, clock, sim, lines };
}

export type SuggestJson = ReturnType<typeof suggestJson>;

/** `keepwarm suggest --json` at the clock's instant, reading the simulator over a loopback socket. */
export async function suggestOverTheWire(
  weeks: Weeks,
  extra: {
    readonly model?: string;
    readonly weeks?: string;
    readonly stateDir?: string;
    readonly now?: number;
  } = {},
): Promise<{ json: SuggestJson; stderr: string[]; calls: number; metricsRequested: number }> {
  const server = await weeks.sim.listen();
  const clients = new RegionClientPool({
    endpoint: server.url,
    credentials: CREDENTIALS,
    retryBackoffMs: 0,
  });
  const stdout: string[] = [];
  const stderr: string[] = [];
  const before = weeks.sim.getMetricDataUsage();
  try {
    const code = await suggestCommand(
      {
        config: weeks.file,
        json: true,
        now: extra.now ?? weeks.clock.now(),
        clients,
        stateDir: extra.stateDir ?? weeks.stateDir,
        ...(extra.model ? { model: extra.model } : {}),
        ...(extra.weeks ? { weeks: extra.weeks } : {}),
      },
      { stdout: (l) => stdout.push(l), stderr: (l) => stderr.push(l) },
    );
    if (code !== 0) throw new Error(`suggest exited ${code}: ${stderr.join("\n")}`);
  } finally {
    clients.destroy();
    await server.close();
  }
  const after = weeks.sim.getMetricDataUsage();
  return {
    json: JSON.parse(stdout.join("\n")) as SuggestJson,
    stderr,
    calls: after.calls - before.calls,
    metricsRequested: after.metricsRequested - before.metricsRequested,
  };
}

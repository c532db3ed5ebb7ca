import type { Command } from "commander";
import { formatProblem } from "../config/problems.js";
import type { Clock } from "../domain/clock.js";
import { realClock, scaledClock } from "../sim/clock.js";
import { loadSimConfigFile, type SimConfig } from "../sim/config.js";
import type { SimServer } from "../sim/server.js";
import { DEFAULT_SIM_SETTINGS } from "../sim/settings.js";
import { Simulator } from "../sim/simulator.js";
import { ExitCode } from "./exitCodes.js";

export interface SimCommandOptions {
  readonly port: number;
  readonly host: string;
  readonly config: string | undefined;
  /** Overrides the file's clock.speed. */
  readonly speed: number | undefined;
  /** Overrides the file's clock.start (ISO 8601 with an offset). */
  readonly start: string | undefined;
}

export interface SimCommandOutput {
  readonly stdout: (line: string) => void;
  readonly stderr: (line: string) => void;
}

export type StartedSim =
  | { readonly ok: true; readonly sim: Simulator; readonly server: SimServer }
  | { readonly ok: false; readonly exitCode: number };

export function registerSim(program: Command): void {
  program
    .command("sim")
    .description(
      "Run the Bedrock + CloudWatch simulator on one port (HTTP/1.1 and h2c); point AWS_ENDPOINT_URL at it.",
    )
    .option("-p, --port <n>", "port to listen on; 0 picks a free one", "4599")
    .option("--host <host>", "address to listen on", "127.0.0.1")
    .option("-c, --config <file>", "simulator settings and models (YAML, see config/sim.yaml)")
    .option("--speed <factor>", "simulated seconds per real second (overrides clock.speed)")
    .option(
      "--start <iso>",
      "simulated start instant, e.g. 2026-12-01T08:00:00Z (overrides clock.start)",
    )
    .action(
      async (opts: {
        port: string;
        host: string;
        config?: string;
        speed?: string;
        start?: string;
      }) => {
        const out: SimCommandOutput = {
          stdout: (line) => process.stdout.write(`${line}\n`),
          stderr: (line) => process.stderr.write(`${line}\n`),
        };
        const port = Number(opts.port);
        const speed = opts.speed === undefined ? undefined : Number(opts.speed);
        if (!Number.isInteger(port) || port < 0 || port > 65535) {
          out.stderr(`keepwarm sim: --port ${opts.port}: allowed: a whole number from 0 to 65535`);
          process.exitCode = ExitCode.badInput;
          return;
        }
        if (speed !== undefined && !(speed > 0 && Number.isFinite(speed))) {
          out.stderr(
            `keepwarm sim: --speed ${opts.speed}: allowed: a number above 0 (1 is real time)`,
          );
          process.exitCode = ExitCode.badInput;
          return;
        }
        const started = await startSim(
          { port, host: opts.host, config: opts.config, speed, start: opts.start },
          out,
        );
        if (!started.ok) {
          process.exitCode = started.exitCode;
          return;
        }
        const stop = () => {
          void started.server.close().then(() => process.exit(ExitCode.ok));
        };
        process.once("SIGINT", stop);
        process.once("SIGTERM", stop);
      },
    );
}

/** Loads the settings, starts the server and prints where it listens. */
export async function startSim(
  opts: SimCommandOptions,
  out: SimCommandOutput,
): Promise<StartedSim> {
  let config: SimConfig = {
    settings: DEFAULT_SIM_SETTINGS,
    models: [],
    speed: 1,
    start: undefined,
    faults: [],
  };
  if (opts.config) {
    const loaded = await loadSimConfigFile(opts.config);
    if (!loaded.ok) {
      for (const p of loaded.problems) out.stderr(formatProblem(p));
      return { ok: false, exitCode: ExitCode.badInput };
    }
    config = loaded.config;
  }
  let start = config.start;
  if (opts.start !== undefined) {
    start = Date.parse(opts.start);
    if (Number.isNaN(start) || !/(Z|[+-]\d{2}:?\d{2})$/.test(opts.start)) {
      out.stderr(
        `keepwarm sim: --start ${opts.start}: allowed: ISO 8601 with an offset, e.g. 2026-12-01T08:00:00Z`,
      );
      return { ok: false, exitCode: ExitCode.badInput };
    }
  }
  const speed = opts.speed ?? config.speed;
  const clock: Clock =
    speed === 1 && start === undefined ? realClock : scaledClock(speed, start ?? Date.now());
  const sim = new Simulator({ clock, settings: config.settings, models: config.models });
  for (const fault of config.faults) sim.faults.add(fault);
  let server: SimServer;
  try {
    server = await sim.listen({ host: opts.host, port: opts.port });
  } catch (err) {
    out.stderr(`keepwarm sim: ${err instanceof Error ? err.message : String(err)}`);
    return { ok: false, exitCode: ExitCode.failure };
  }
  out.stdout(
    `keepwarm sim: listening on ${server.url} (HTTP/1.1 and h2c), ${config.models.length} model(s), ${config.faults.length} fault(s), clock x${speed} from ${new Date(clock.now()).toISOString()}`,
  );
  out.stdout(`  export AWS_ENDPOINT_URL=${server.url}   # ledger: curl ${server.url}/_sim/ledger`);
  if (config.models.length === 0) {
    out.stderr("keepwarm sim: no models configured; add them under models: in --config FILE");
  }
  return { ok: true, sim, server };
}

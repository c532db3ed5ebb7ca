/**
 * The daemon `keepwarm run` starts once its config and mode are decided: the clock (moved to
 * just before the next planned ping when simulated), the logger, the built-in simulator or
 * AWS's clients, the HTTP server, shutdown and config reload.
 */
import { RegionClientPool } from "../aws/clients.js";
import {
  type ConfigEnv,
  type ConfigProblem,
  formatProblem,
  loadConfigFile,
} from "../config/load.js";
import { planModel } from "../domain/plan.js";
import {
  type ModelObservations,
  type ModelTimings,
  NO_OBSERVATIONS,
  resolveTimings,
} from "../domain/timings.js";
import type { ModelConfig, ResolvedConfig } from "../domain/types.js";
import { PromMetrics } from "../runtime/http/promMetrics.js";
import { readHttpToken, startHttpServer } from "../runtime/http/server.js";
import {
  createLogger,
  describeError,
  type Logger,
  logProcessWarnings,
} from "../runtime/infra/logger.js";
import { realClock } from "../runtime/infra/realClock.js";
import { type ConfigWatcher, watchConfig } from "../runtime/infra/reload.js";
import { installShutdown } from "../runtime/infra/shutdown.js";
import { Daemon } from "../runtime/keep/daemon.js";
import type { ControllerTiming } from "../runtime/keep/loopTiming.js";
import { type SimServer, type SimSettings, Simulator } from "../sim/index.js";
import type { KeepwarmEnv } from "./env.js";
import { ExitCode } from "./exitCodes.js";
import { whoAmI } from "./mode.js";
import { readLearnedTimings } from "./stateDir.js";

/**
 * The built-in simulator's settings for `npm start`: restores and ModelCopy faster than
 * AWS's (90 s, ~2 min) so that a cold start, the warm-up and ModelCopy confirming it all
 * show within two minutes of real time.
 */
export const DEMO_SIM_SETTINGS: Partial<SimSettings> = Object.freeze({
  restoreMs: 20_000,
  restoreJitterMs: 5_000,
  publishDelayMs: 0,
});

/** The daemon's assumptions matched to the demo simulator. */
const DEMO_TIMING: Partial<ControllerTiming> = Object.freeze({
  publishDelayMs: DEMO_SIM_SETTINGS.publishDelayMs as number,
});

/** The simulated clock starts this long before the config's next planned ping. */
const DEMO_LEAD_MS = 10_000;
const DEMO_SEARCH_MS = 8 * 24 * 60 * 60_000;

/**
 * The simulator refuses a request without an Authorization header, as AWS does. A fresh
 * object each time: the SDK marks the credentials it is given with their source.
 */
function simulatedCredentials() {
  return { accessKeyId: "AKIAKEEPWARMSIMULATED", secretAccessKey: "simulated" };
}

/** What `run` has decided before the daemon is built. */
export interface DaemonStart {
  readonly configPath: string;
  readonly config: ResolvedConfig;
  /** The config's warnings, logged once the logger exists. */
  readonly warnings: readonly ConfigProblem[];
  /** What the config is loaded with, again at each reload. */
  readonly loadEnv: ConfigEnv;
  readonly simulated: boolean;
  /** Why the run is simulated or live, for the `mode` line. */
  readonly modeReason: string;
  readonly stateDir: string;
  readonly pretty: boolean;
  readonly httpHost: string;
  readonly httpPort: number;
  readonly env: KeepwarmEnv;
}

/**
 * Builds and starts the daemon and returns once it runs (it then lives on its timers, servers
 * and signal handlers); returns an exit code when its HTTP server cannot start.
 */
export async function startDaemon(start: DaemonStart): Promise<number> {
  const { configPath, config, loadEnv, simulated, modeReason, stateDir, env } = start;
  // The simulated clock starts just before the next planned ping, whatever the time of day,
  // planned with the timings the daemon will read from the same state directory.
  const offsetMs = simulated
    ? demoOffset(config, Date.now(), (await readLearnedTimings(stateDir)).observationsOf)
    : 0;
  const clock = realClock({ offsetMs, logger: () => logger });
  const logger = createLogger({
    pretty: start.pretty,
    timezone: config.timezone,
    ...(env.logLevel ? { level: env.logLevel } : {}),
    base: simulated ? { simulated: true } : {},
    now: () => clock.now(),
  });
  logProcessWarnings(logger);
  for (const w of start.warnings) {
    logger.warn(
      { event: "config-warning", file: configPath, problem: formatProblem(w) },
      "config warning",
    );
  }

  let clients: RegionClientPool;
  let sim: { simulator: Simulator; server: SimServer } | undefined;
  if (simulated) {
    const simulator = new Simulator({
      clock,
      settings: DEMO_SIM_SETTINGS,
      models: config.models.map((m) => ({
        modelArn: m.modelArn,
        customModelUnits: m.customModelUnits ?? 4,
        ...(m.cmuVersion ? { cmuVersion: m.cmuVersion } : {}),
      })),
    });
    const server = await simulator.listen({ host: "127.0.0.1", port: 0 });
    sim = { simulator, server };
    clients = new RegionClientPool({
      endpoint: server.url,
      credentials: simulatedCredentials(),
      logger,
    });
    logger.warn(
      { event: "mode", mode: "simulated", reason: modeReason },
      `mode: SIMULATED (${modeReason}): no AWS is called`,
    );
    logger.warn(
      {
        event: "simulated",
        reason: modeReason,
        simulatorUrl: server.url,
        simulatorSettings: simulator.settings,
        clockOffsetMs: offsetMs,
        simulatedNow: new Date(clock.now()).toISOString(),
      },
      `SIMULATED: no AWS is called; the built-in simulator at ${server.url} stands in for Bedrock and CloudWatch, with a ${(DEMO_SIM_SETTINGS.restoreMs as number) / 1000} s restore and ModelCopy published as each minute ends; the clock is moved to ${new Date(clock.now()).toISOString()}, just before the next planned ping`,
    );
  } else {
    clients = new RegionClientPool({ logger });
    await logLiveMode(config, clients, { reason: modeReason, endpoint: env.awsEndpoint }, logger);
  }

  // A rotated key in a shared credentials file is read at the next call after a SIGHUP.
  process.on("SIGHUP", () => clients.refreshCredentials("SIGHUP"));

  const metrics = new PromMetrics();
  const daemon = new Daemon(config, {
    clock,
    logger,
    clients,
    stateDir,
    observer: metrics,
    simulated,
    ...(simulated ? { timing: DEMO_TIMING } : {}),
  });

  let http: Awaited<ReturnType<typeof startHttpServer>>;
  try {
    http = await startHttpServer({
      host: start.httpHost,
      port: start.httpPort,
      registry: metrics.registry,
      status: () => daemon.status(),
      now: () => clock.now(),
      logger,
      token: readHttpToken(env),
    });
  } catch (error) {
    logger.error({ event: "start-failed", error: describeError(error) }, (error as Error).message);
    await sim?.server.close();
    clients.destroy();
    return ExitCode.failure;
  }

  // Armed before the daemon starts: rebuilding month to date can take a while, and a
  // SIGTERM during it must still end in a clean exit.
  let watcher: ConfigWatcher | undefined;
  installShutdown({
    daemon,
    http,
    watcher: { close: async () => watcher?.close() },
    logger,
    exit: (code) => {
      clients.destroy();
      void (sim?.server.close() ?? Promise.resolve()).finally(() => process.exit(code));
    },
  });

  await daemon.start();
  metrics.configReload(true, Date.now());
  watcher = await watchConfig({
    path: configPath,
    load: (path) => loadConfigFile(path, loadEnv),
    apply: async (next) => {
      if (sim) addSimulatedModels(sim.simulator, next, logger);
      await daemon.applyConfig(next);
    },
    logger,
    observer: metrics,
  });
  return ExitCode.ok;
}

/**
 * How far to move the demo's clock so that it starts DEMO_LEAD_MS before the next planned
 * ping of any model, whatever the time of day; 0 when nothing is planned within 8 days.
 * The pings are planned as the daemon will plan them: with what it has learned
 * (`observationsOf`, from the state directory it reads), at its moved clock's instant,
 * which decides which measurements are still recent.
 */
export function demoOffset(
  config: ResolvedConfig,
  now: number,
  observationsOf: (model: ModelConfig) => ModelObservations = () => NO_OBSERVATIONS,
): number {
  let offset = 0;
  for (let round = 0; round < 3; round++) {
    const next = offsetTo(config, now, (m) =>
      resolveTimings(m.timing, observationsOf(m), now + offset),
    );
    if (next === offset) break;
    offset = next;
  }
  return offset;
}

function offsetTo(
  config: ResolvedConfig,
  now: number,
  timingsOf: (model: ModelConfig) => ModelTimings,
): number {
  let first: number | undefined;
  for (const model of config.models) {
    const range = { start: now + DEMO_LEAD_MS, end: now + DEMO_SEARCH_MS };
    const ping = planModel(config, model, range, timingsOf(model)).pings[0];
    if (ping !== undefined && (first === undefined || ping < first)) first = ping;
  }
  return first === undefined ? 0 : first - DEMO_LEAD_MS - now;
}

/**
 * The `mode` line of a live run: the regions it pings, as whom (STS GetCallerIdentity) and
 * with credentials from where, and the endpoint when AWS_ENDPOINT_URL replaces AWS's.
 */
async function logLiveMode(
  config: ResolvedConfig,
  clients: RegionClientPool,
  { reason, endpoint }: { readonly reason: string; readonly endpoint: string | undefined },
  logger: Logger,
): Promise<void> {
  const regions = [...new Set(config.models.map((m) => m.region))];
  const { source, identity } = await whoAmI(
    clients.credentials.provider,
    regions[0] ?? "us-east-1",
  );
  const who = "error" in identity ? `unknown (${identity.error})` : identity.arn;
  logger.info(
    {
      event: "mode",
      mode: "live",
      reason,
      regions,
      credentialSource: source,
      ...("error" in identity
        ? { identityError: identity.error }
        : { account: identity.account, callerArn: identity.arn }),
      ...(endpoint ? { endpoint } : {}),
    },
    `mode: LIVE (${reason}): pings go to AWS${endpoint ? ` at ${endpoint}` : ""} in ${regions.join(", ")} and are billed, as ${who}, credentials from ${source}`,
  );
}

/** A reload may name models the simulator has not met yet. */
function addSimulatedModels(simulator: Simulator, config: ResolvedConfig, logger: Logger): void {
  const known = new Set(simulator.models().map((m) => m.modelArn));
  for (const m of config.models) {
    if (known.has(m.modelArn)) continue;
    simulator.addModel({
      modelArn: m.modelArn,
      customModelUnits: m.customModelUnits ?? 4,
      ...(m.cmuVersion ? { cmuVersion: m.cmuVersion } : {}),
    });
    logger.info(
      { event: "simulated-model-added", modelArn: m.modelArn },
      "simulator serves a new model",
    );
  }
}

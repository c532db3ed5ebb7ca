import {
  createCredentialChain,
  fromEnv,
  fromHttp,
  fromIni,
  fromProcess,
  fromTokenFile,
} from "@aws-sdk/credential-providers";
import type { Command } from "commander";
import { RegionClientPool } from "../aws/clients.js";
import { formatProblem, loadConfigFile } from "../config/load.js";
import { planModel } from "../domain/plan.js";
import {
  type ModelObservations,
  type ModelTimings,
  NO_OBSERVATIONS,
  resolveTimings,
} from "../domain/timings.js";
import type { ModelConfig, ResolvedConfig } from "../domain/types.js";
import { PromMetrics } from "../runtime/http/promMetrics.js";
import {
  DEFAULT_HTTP_HOST,
  DEFAULT_HTTP_PORT,
  readHttpToken,
  startHttpServer,
} from "../runtime/http/server.js";
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
import {
  type KeepwarmEnv,
  parsePort,
  parseSimulateMode,
  readEnv,
  type SimulateMode,
  UsageError,
} from "./env.js";
import { ExitCode } from "./exitCodes.js";
import { exampleAccountModels, exampleAccountRefusal, whoAmI } from "./mode.js";
import { readLearnedTimings, simulatedStateDir } from "./stateDir.js";

export interface RunOptions {
  readonly config?: string;
  readonly pretty?: boolean;
  readonly simulate?: string | boolean;
  readonly stateDir?: string;
  readonly httpHost?: string;
  readonly httpPort?: string;
  /** Run live on models of the example account: a simulator reached through AWS_ENDPOINT_URL. */
  readonly allowExampleAccount?: boolean;
}

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

/** How long the default credential chain may take before `auto` decides there is none. */
const CREDENTIAL_PROBE_MS = 3_000;

export function registerRun(program: Command): void {
  program
    .command("run")
    .description(
      "Keep the configured models warm on their schedule, confirm it with ModelCopy and log spend every minute.",
    )
    .option("-c, --config <file>", "the config file (default: $KEEPWARM_CONFIG)")
    .option("--pretty", "human-readable log lines instead of JSON")
    .option(
      "--simulate [mode]",
      "on: the built-in simulator instead of AWS; off: AWS; auto: the simulator unless AWS credentials are configured; EC2 instance metadata is not probed (default: $KEEPWARM_SIMULATE, else off)",
    )
    .option(
      "--state-dir <dir>",
      "where summaries.jsonl and learned timings are kept; simulated runs use its simulated/ subdirectory (default: $KEEPWARM_STATE_DIR, $STATE_DIRECTORY, the config's daemon.stateDir, ./.state)",
    )
    .option(
      "--http-host <host>",
      `address of /healthz, /readyz, /metrics (default: $KEEPWARM_HTTP_HOST, the config, ${DEFAULT_HTTP_HOST})`,
    )
    .option(
      "--http-port <port>",
      `port of /healthz, /readyz, /metrics (default: $KEEPWARM_HTTP_PORT, the config, ${DEFAULT_HTTP_PORT})`,
    )
    .option(
      "--allow-example-account",
      "run live even on models of the example account 123456789012 (a simulator started with `keepwarm sim` and reached through AWS_ENDPOINT_URL)",
    )
    .action(async (opts: RunOptions) => {
      const code = await runDaemon(opts, readEnv());
      if (code !== ExitCode.ok) process.exit(code);
    });
}

/**
 * Starts the daemon and returns once it runs (it then lives on its timers, servers and
 * signal handlers); returns an exit code when it cannot start.
 */
export async function runDaemon(opts: RunOptions, env: KeepwarmEnv): Promise<number> {
  const configPath = opts.config ?? env.config;
  if (!configPath) {
    process.stderr.write(
      "keepwarm run: no config file; pass --config FILE or set KEEPWARM_CONFIG\n",
    );
    return ExitCode.badInput;
  }
  let mode: SimulateMode;
  let httpPort: number | undefined;
  try {
    mode = parseSimulateMode(
      opts.simulate ?? env.simulate,
      opts.simulate !== undefined ? "--simulate" : "KEEPWARM_SIMULATE",
    );
    const port = opts.httpPort ?? env.httpPort;
    httpPort =
      port === undefined
        ? undefined
        : parsePort(port, opts.httpPort ? "--http-port" : "KEEPWARM_HTTP_PORT");
  } catch (error) {
    if (!(error instanceof UsageError)) throw error;
    process.stderr.write(`keepwarm run: ${error.message}\n`);
    return ExitCode.badInput;
  }
  const loadEnv = env.stateDir ? { stateDir: env.stateDir } : {};
  const loaded = await loadConfigFile(configPath, loadEnv);
  if (!loaded.ok) {
    for (const p of loaded.problems) process.stderr.write(`${formatProblem(p)}\n`);
    return ExitCode.badInput;
  }
  const config = loaded.config;

  const credentialsFound = mode === "auto" ? await credentialsResolve() : undefined;
  const simulated = mode === "on" || (mode === "auto" && !credentialsFound);
  const modeFrom =
    opts.simulate !== undefined
      ? "--simulate"
      : env.simulate !== undefined
        ? "KEEPWARM_SIMULATE"
        : undefined;
  const modeReason =
    modeFrom === undefined
      ? "no --simulate: off by default"
      : mode !== "auto"
        ? `${modeFrom} ${mode}`
        : simulated
          ? `${modeFrom} auto and no AWS credentials configured`
          : `${modeFrom} auto found AWS credentials`;
  const placeholders = simulated || opts.allowExampleAccount ? [] : exampleAccountModels(config);
  if (placeholders.length > 0) {
    for (const line of exampleAccountRefusal(configPath, placeholders, modeReason)) {
      process.stderr.write(`${line}\n`);
    }
    return ExitCode.badInput;
  }
  // What a simulated run learns is the simulator's behaviour: it is kept apart, so that
  // `plan` and a real run never plan from it.
  const stateDir = simulated
    ? simulatedStateDir(opts.stateDir ?? config.daemon.stateDir)
    : (opts.stateDir ?? config.daemon.stateDir);
  // The simulated clock starts just before the next planned ping, whatever the time of day,
  // planned with the timings the daemon will read from the same state directory.
  const offsetMs = simulated
    ? demoOffset(config, Date.now(), (await readLearnedTimings(stateDir)).observationsOf)
    : 0;
  const clock = realClock({ offsetMs, logger: () => logger });
  const logger = createLogger({
    pretty: opts.pretty ?? false,
    timezone: config.timezone,
    ...(env.logLevel ? { level: env.logLevel } : {}),
    base: simulated ? { simulated: true } : {},
    now: () => clock.now(),
  });
  logProcessWarnings(logger);
  for (const w of loaded.warnings) {
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
      host: opts.httpHost ?? env.httpHost ?? config.daemon.httpHost,
      port: httpPort ?? config.daemon.httpPort,
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

/**
 * True when credentials are configured: the environment, the shared config and credentials
 * files (profiles, SSO, role_arn, credential_process), a web identity token file, or an
 * ECS/EKS container endpoint. It is the default chain less the EC2 instance metadata
 * service, which `auto` does not probe: a laptop or CI runner would send a request to
 * 169.254.169.254 for nothing. On EC2, `--simulate off` (the default) uses the whole chain.
 */
export async function credentialsResolve(): Promise<boolean> {
  const probe = createCredentialChain(
    fromEnv(),
    fromIni(),
    fromProcess(),
    fromTokenFile(),
    fromHttp(),
  );
  let timer: NodeJS.Timeout | undefined;
  try {
    const found = probe().then(
      (c) => Boolean(c?.accessKeyId),
      () => false,
    );
    const timeout = new Promise<boolean>((resolve) => {
      timer = setTimeout(() => resolve(false), CREDENTIAL_PROBE_MS);
    });
    return await Promise.race([found, timeout]);
  } finally {
    clearTimeout(timer);
  }
}

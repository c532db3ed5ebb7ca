/**
 * The `keepwarm run` command: its flags, the config, and the mode it runs in (simulated or
 * live, and whether AWS credentials are configured), before runWiring.ts starts the daemon.
 */
import {
  createCredentialChain,
  fromEnv,
  fromHttp,
  fromIni,
  fromProcess,
  fromTokenFile,
} from "@aws-sdk/credential-providers";
import type { Command } from "commander";
import { formatProblem, loadConfigFile } from "../config/load.js";
import { DEFAULT_HTTP_HOST, DEFAULT_HTTP_PORT } from "../runtime/http/server.js";
import {
  type KeepwarmEnv,
  parsePort,
  parseSimulateMode,
  readEnv,
  type SimulateMode,
  UsageError,
} from "./env.js";
import { ExitCode } from "./exitCodes.js";
import { exampleAccountModels, exampleAccountRefusal } from "./mode.js";
import { startDaemon } from "./runWiring.js";
import { simulatedStateDir } from "./stateDir.js";

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
  return startDaemon({
    configPath,
    config,
    warnings: loaded.warnings,
    loadEnv,
    simulated,
    modeReason,
    stateDir,
    pretty: opts.pretty ?? false,
    httpHost: opts.httpHost ?? env.httpHost ?? config.daemon.httpHost,
    httpPort: httpPort ?? config.daemon.httpPort,
    env,
  });
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

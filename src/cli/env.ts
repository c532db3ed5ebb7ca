import { KeepwarmError } from "../domain/errors.js";

/** Whether `keepwarm run` talks to AWS, to the built-in simulator, or decides by credentials. */
export type SimulateMode = "on" | "off" | "auto";

/** The environment keepwarm reads, read once at start-up. */
export interface KeepwarmEnv {
  /** KEEPWARM_CONFIG */
  readonly config: string | undefined;
  /** KEEPWARM_STATE_DIR, else systemd's STATE_DIRECTORY (its first entry). */
  readonly stateDir: string | undefined;
  /** KEEPWARM_HTTP_HOST */
  readonly httpHost: string | undefined;
  /** KEEPWARM_HTTP_PORT, as written; checked where it is used. */
  readonly httpPort: string | undefined;
  /** KEEPWARM_SIMULATE */
  readonly simulate: string | undefined;
  /** KEEPWARM_LOG_LEVEL (pino level name). */
  readonly logLevel: string | undefined;
  /** AWS_ENDPOINT_URL: the SDK reads it itself; keepwarm only says where calls go. */
  readonly awsEndpoint: string | undefined;
  /** A bearer token for the status page and /api/status, or the file that holds it. */
  readonly httpToken: string | undefined;
  readonly httpTokenFile: string | undefined;
}

const nonEmpty = (v: string | undefined) => (v === undefined || v.trim() === "" ? undefined : v);

/** Reads keepwarm's variables from `env` into a frozen object; nothing else reads process.env. */
export function readEnv(env: NodeJS.ProcessEnv = process.env): KeepwarmEnv {
  return Object.freeze({
    config: nonEmpty(env.KEEPWARM_CONFIG),
    // systemd may list several directories separated by colons; the first is ours.
    stateDir: nonEmpty(env.KEEPWARM_STATE_DIR) ?? nonEmpty(env.STATE_DIRECTORY?.split(":")[0]),
    httpHost: nonEmpty(env.KEEPWARM_HTTP_HOST),
    httpPort: nonEmpty(env.KEEPWARM_HTTP_PORT),
    simulate: nonEmpty(env.KEEPWARM_SIMULATE),
    logLevel: nonEmpty(env.KEEPWARM_LOG_LEVEL),
    awsEndpoint: nonEmpty(env.AWS_ENDPOINT_URL),
    httpToken: nonEmpty(env.KEEPWARM_HTTP_TOKEN),
    httpTokenFile: nonEmpty(env.KEEPWARM_HTTP_TOKEN_FILE),
  });
}

/** A command-line or environment value that is not allowed; the message says what is. */
export class UsageError extends KeepwarmError {
  override readonly name = "UsageError";
}

export function parseSimulateMode(value: string | boolean | undefined, from: string): SimulateMode {
  // Off unless asked: a daemon whose credentials broke must say so, not quietly simulate.
  // `--simulate` alone means on.
  if (value === undefined) return "off";
  if (value === true) return "on";
  if (value === false) return "off";
  const v = value.toLowerCase();
  if (v === "on" || v === "off" || v === "auto") return v;
  if (v === "true" || v === "1") return "on";
  if (v === "false" || v === "0") return "off";
  throw new UsageError(`${from}: "${value}" is not a simulate mode; allowed: on, off, auto`);
}

/** An integer within [min, max] from the command line or the environment. */
export function parseInteger(
  value: string,
  from: string,
  range: { readonly min: number; readonly max: number; readonly what: string },
): number {
  const n = Number(value);
  if (!/^\d+$/.test(value.trim()) || n < range.min || n > range.max) {
    const upper = Number.isFinite(range.max) ? `..${range.max}` : " or more";
    throw new UsageError(
      `${from}: "${value}" is not ${range.what}; allowed: an integer ${range.min}${upper}`,
    );
  }
  return n;
}

export function parsePort(value: string, from: string): number {
  return parseInteger(value, from, { min: 0, max: 65_535, what: "a port" });
}

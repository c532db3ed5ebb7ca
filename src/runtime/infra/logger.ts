import pino, { type DestinationStream } from "pino";
import pretty from "pino-pretty";
import { endpointOf, networkFailureOf } from "../../aws/errors.js";
import type { EventFields } from "./events.js";

/** A line: its fields, with an event from LOG_EVENTS, and a message for people. */
type LogLine = (fields: EventFields, message?: string) => void;

/** pino's logger, typed so that every line names one of the events in LOG_EVENTS. */
export interface Logger {
  readonly trace: LogLine;
  readonly debug: LogLine;
  readonly info: LogLine;
  readonly warn: LogLine;
  readonly error: LogLine;
  readonly fatal: LogLine;
  child(bindings: Record<string, unknown>): Logger;
  isLevelEnabled(level: string): boolean;
  flush(callback?: (error?: Error) => void): void;
}

/** Keys whose values never reach a log line. */
const SECRET_KEYS = [
  "accessKeyId",
  "secretAccessKey",
  "sessionToken",
  "credentials",
  "authorization",
  "Authorization",
  "password",
  "token",
  "signature",
  '["x-amz-security-token"]',
  '["x-amz-signature"]',
];

/**
 * Where secrets could sit: the top level and the objects a request or an error would be
 * logged under. Explicit paths, not wildcards: a wildcard makes every line ten times dearer
 * (20 us instead of 2 us). Lines are built from chosen fields, errors through describeError,
 * so nothing deeper ever carries a request.
 */
const SECRET_PARENTS = ["", "headers", "request", "request.headers", "error", "cause", "config"];

const REDACT_PATHS = SECRET_PARENTS.flatMap((parent) =>
  SECRET_KEYS.flatMap((key) => {
    if (parent === "") return key.startsWith("[") ? [] : [key];
    return [key.startsWith("[") ? `${parent}${key}` : `${parent}.${key}`];
  }),
);

export interface LoggerOptions {
  /** Colourful, human-readable lines instead of JSON; for people, never for collectors. */
  readonly pretty?: boolean;
  /** pino level name; "info" when omitted. */
  readonly level?: string;
  /** Where lines go; stdout when omitted. Tests pass a stream that collects them. */
  readonly destination?: DestinationStream;
  /** Fields on every line, e.g. `{ simulated: true }`. */
  readonly base?: Readonly<Record<string, unknown>>;
  /** The clock whose time stamps the lines: virtual time in tests and `simulate`. */
  readonly now?: () => number;
}

/**
 * The daemon's logger: one JSON object a line on stdout, every line with a stable `event`
 * (docs/events.md, LOG_EVENTS), credential-like fields redacted.
 */
export function createLogger(options: LoggerOptions = {}): Logger {
  const now = options.now ?? Date.now;
  const destination =
    options.destination ??
    (options.pretty
      ? pretty({ sync: true, translateTime: "SYS:yyyy-mm-dd HH:MM:ss.l o", ignore: "pid,hostname" })
      : pino.destination({ dest: 1, sync: true }));
  return pino(
    {
      level: options.level ?? "info",
      base: { ...(options.base ?? {}) },
      redact: { paths: REDACT_PATHS, censor: "[redacted]" },
      timestamp: () => `,"time":"${new Date(now()).toISOString()}"`,
      formatters: { level: (label) => ({ level: label }) },
    },
    destination,
  );
}

/** Text of several lines as one: each line break and the blanks around it become a space. */
export function oneLine(text: string): string {
  return text.trim().replace(/\s*\n\s*/g, " ");
}

/**
 * Node's process warnings (the AWS SDK's notice of the Node.js versions it will support, a
 * deprecation) as `node-warning` lines of `logger`, in place of Node's own several lines of
 * text on stderr, which a collector of JSON lines cannot parse. Returns the undo.
 */
export function logProcessWarnings(logger: Logger, proc: NodeJS.Process = process): () => void {
  return onWarningsOnly(proc, (warning) => {
    const message = oneLine(warning.message);
    logger.warn({ event: "node-warning", name: warning.name, message }, message);
  });
}

/**
 * For the commands other than `run`: each process warning as one line on stderr (`write`),
 * `keepwarm: warning: ...`, in place of Node's several lines. Returns the undo.
 */
export function printProcessWarnings(
  write: (line: string) => void,
  proc: NodeJS.Process = process,
): () => void {
  return onWarningsOnly(proc, (warning) => write(`keepwarm: warning: ${oneLine(warning.message)}`));
}

/** Makes `onWarning` the only listener of `proc`'s warnings (Node's printer removed); returns the undo. */
function onWarningsOnly(proc: NodeJS.Process, onWarning: (warning: Error) => void): () => void {
  const previous = proc.listeners("warning");
  proc.removeAllListeners("warning");
  proc.on("warning", onWarning);
  return () => {
    proc.off("warning", onWarning);
    for (const listener of previous) proc.on("warning", listener as (w: Error) => void);
  };
}

/**
 * The parts of an error a log line may carry: name, message and, for AWS errors, the
 * request id and status. Never the raw error, whose `$response` may hold request headers.
 * A transport failure is named for what it was (`ConnectionRefused`, `RequestTimeout`,
 * `ConnectionReset`) with the `endpoint` and the `cause` in words, not Node's "Error".
 */
export function describeError(error: unknown): {
  name: string;
  message: string;
  requestId?: string;
  httpStatus?: number;
  endpoint?: string;
  cause?: string;
} {
  if (!(error instanceof Error)) return { name: "Error", message: scrubSecrets(String(error)) };
  const meta = (error as { $metadata?: { requestId?: string; httpStatusCode?: number } }).$metadata;
  const network = networkFailureOf(error);
  const endpoint = endpointOf(error);
  return {
    name: network?.name ?? error.name,
    message: network
      ? `${network.cause}${endpoint ? ` (${endpoint})` : ""}: ${scrubSecrets(error.message)}`
      : scrubSecrets(error.message),
    ...(meta?.requestId ? { requestId: meta.requestId } : {}),
    ...(meta?.httpStatusCode ? { httpStatus: meta.httpStatusCode } : {}),
    ...(endpoint ? { endpoint } : {}),
    ...(network ? { cause: network.cause } : {}),
  };
}

/**
 * AWS echoes the request in signature errors: the canonical request (with the session
 * token), the access key id and the signature. Redaction by key cannot see inside a message.
 */
function scrubSecrets(message: string): string {
  return message
    .replace(
      /\s*The Canonical String for this request should have been[\s\S]*/,
      " [canonical request redacted]",
    )
    .replace(/(x-amz-security-token[:=]\s*)[^\s&',]+/gi, "$1[redacted]")
    .replace(/(Credential=)[^\s,]+/g, "$1[redacted]")
    .replace(/(Signature=)[^\s,&]+/g, "$1[redacted]")
    .replace(/\b(?:AKIA|ASIA)[A-Z0-9]{16}\b/g, "[redacted]");
}

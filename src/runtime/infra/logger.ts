import { DateTime } from "luxon";
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
  /** One short line per event for people (pino-pretty), never for collectors. */
  readonly pretty?: boolean;
  /** The zone pretty lines tell the time in: the config's. UTC when omitted. */
  readonly timezone?: string;
  /** pino level name; "info" when omitted. */
  readonly level?: string;
  /** Where lines go (pretty or JSON); stdout when omitted. Tests pass a stream that collects them. */
  readonly destination?: DestinationStream;
  /** Fields on every line, e.g. `{ simulated: true }`. */
  readonly base?: Readonly<Record<string, unknown>>;
  /** The clock whose time stamps the lines: virtual time in tests and `simulate`. */
  readonly now?: () => number;
}

/**
 * The daemon's logger: one JSON object a line on stdout, every line with a stable `event`
 * (docs/events.md, LOG_EVENTS), credential-like fields redacted. A model's child logger
 * (bound with `model`) starts each message with the model's name: "mimo-vl: ping ok".
 */
export function createLogger(options: LoggerOptions = {}): Logger {
  const now = options.now ?? Date.now;
  const destination = options.pretty
    ? prettyDestination(options.timezone ?? "UTC", options.destination)
    : (options.destination ?? pino.destination({ dest: 1, sync: true }));
  return prefixModelMessages(
    pino(
      {
        level: options.level ?? "info",
        base: { ...(options.base ?? {}) },
        redact: { paths: REDACT_PATHS, censor: "[redacted]" },
        timestamp: () => `,"time":"${new Date(now()).toISOString()}"`,
        formatters: { level: (label) => ({ level: label }) },
      },
      destination,
    ),
  );
}

/**
 * Makes every child bound to a `model` prefix its messages with the model's name. Set on
 * the root only: pino's children inherit it, and a child of such a child keeps the prefix.
 */
function prefixModelMessages(logger: pino.Logger): pino.Logger {
  const pinoChild = logger.child as unknown as (
    this: pino.Logger,
    bindings: pino.Bindings,
    options: pino.ChildLoggerOptions,
  ) => pino.Logger;
  function child(this: pino.Logger, bindings: pino.Bindings, options?: pino.ChildLoggerOptions) {
    const model = bindings.model;
    const prefix =
      typeof model === "string" && this.msgPrefix === undefined && !options?.msgPrefix
        ? { msgPrefix: `${model}: ` }
        : {};
    return pinoChild.call(this, bindings, { ...options, ...prefix });
  }
  (logger as { child: unknown }).child = child;
  return logger;
}

/** Longest error text a pretty line carries; the JSON line has all of it. */
const PRETTY_ERROR_CHARS = 160;
const WARN_OR_WORSE = new Set(["warn", "error", "fatal"]);

const cut = (text: string) =>
  text.length > PRETTY_ERROR_CHARS ? `${text.slice(0, PRETTY_ERROR_CHARS - 1)}\u2026` : text;

/** What a warning or an error line says went wrong and what to do: its error, problem(s), remedy. */
function whatWentWrong(log: Record<string, unknown>): string[] {
  const out: string[] = [];
  const error = log.error as { name?: unknown; message?: unknown } | undefined;
  if (error && typeof error === "object") {
    out.push(cut(oneLine(`${error.name ?? "Error"}: ${error.message ?? ""}`)));
  }
  if (typeof log.problem === "string") out.push(cut(oneLine(log.problem)));
  if (Array.isArray(log.problems) && typeof log.problems[0] === "string") {
    const more = log.problems.length > 1 ? ` (+${log.problems.length - 1} more)` : "";
    out.push(`${cut(oneLine(log.problems[0]))}${more}`);
  }
  if (typeof log.remedy === "string") out.push(cut(oneLine(log.remedy)));
  return out;
}

/**
 * pino-pretty, one line per event: the time in `zone` (HH:mm:ss, and the date and the
 * zone's offset on the first line and whenever the date changes), the level, the message
 * (which names the model on a model's lines), then the event and, at warn and above, what
 * went wrong (the error, the config problem) and the remedy, each cut short. The fields
 * themselves stay in the JSON lines.
 */
function prettyDestination(zone: string, destination?: DestinationStream) {
  let lastDate: string | undefined;
  const time = (value: string | object): string => {
    const at = DateTime.fromISO(String(value), { zone });
    if (!at.isValid) return String(value);
    const date = at.toISODate();
    const withDate = date !== lastDate;
    lastDate = date ?? undefined;
    return withDate ? at.toFormat("yyyy-MM-dd HH:mm:ss ZZ") : at.toFormat("HH:mm:ss");
  };
  return pretty({
    sync: true,
    ...(destination ? { destination } : {}),
    translateTime: false,
    hideObject: true,
    ignore: "pid,hostname,name",
    customPrettifiers: { time },
    messageFormat: (log, messageKey, _label, { colors }) => {
      const msg = log[messageKey];
      const event = typeof log.event === "string" ? log.event : undefined;
      const model = typeof log.model === "string" ? log.model : undefined;
      const text =
        typeof msg === "string"
          ? oneLine(msg)
          : [model, event].filter((x) => x !== undefined).join(": ");
      // Without a message the event is already the text.
      const extra = typeof msg === "string" ? [event] : [];
      if (WARN_OR_WORSE.has(String(log.level))) extra.push(...whatWentWrong(log));
      const tail = extra.filter((x) => x !== undefined && x !== "").join("; ");
      return tail === "" ? text : `${text} ${colors.gray(`(${tail})`)}`;
    },
  });
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

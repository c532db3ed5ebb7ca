import type {
  FinalizeRequestHandlerOptions,
  FinalizeRequestMiddleware,
  MetadataBearer,
} from "@smithy/types";
import { KeepwarmError } from "../domain/errors.js";

/**
 * What a failed AWS call means for keepwarm, decided from the error's name (never its HTTP
 * status: ModelNotReadyException and ThrottlingException are both 429).
 * - not-ready: the model is cold or restoring; a cold start.
 * - throttled: an account quota; back off.
 * - unavailable: a server fault or a broken connection; back off.
 * - denied: credentials or IAM; an operator has to act.
 * - invalid: the request or the configuration is wrong; an operator has to act.
 * - model-error: the model failed or timed out on the request; try again at the next ping.
 */
export type AwsFailureKind =
  | "not-ready"
  | "throttled"
  | "unavailable"
  | "denied"
  | "invalid"
  | "model-error";

const KIND_BY_NAME: Readonly<Record<string, AwsFailureKind>> = {
  ModelNotReadyException: "not-ready",
  ThrottlingException: "throttled",
  Throttling: "throttled",
  TooManyRequestsException: "throttled",
  RequestLimitExceeded: "throttled",
  LimitExceededException: "throttled",
  ServiceUnavailableException: "unavailable",
  ServiceUnavailable: "unavailable",
  InternalServerException: "unavailable",
  InternalServiceFault: "unavailable",
  InternalFailure: "unavailable",
  TimeoutError: "unavailable",
  RequestTimeout: "unavailable",
  AbortError: "unavailable",
  AccessDeniedException: "denied",
  AccessDenied: "denied",
  UnrecognizedClientException: "denied",
  ExpiredTokenException: "denied",
  ExpiredToken: "denied",
  InvalidSignatureException: "denied",
  IncompleteSignature: "denied",
  InvalidClientTokenId: "denied",
  MissingAuthenticationToken: "denied",
  CredentialsProviderError: "denied",
  ValidationException: "invalid",
  ResourceNotFoundException: "invalid",
  InvalidParameterValueException: "invalid",
  InvalidParameterCombinationException: "invalid",
  MissingRequiredParameterException: "invalid",
  ServiceQuotaExceededException: "invalid",
  ConflictException: "invalid",
  ModelErrorException: "model-error",
  ModelTimeoutException: "model-error",
};

/** A failure to reach an endpoint, named for an operator rather than by Node's generic "Error". */
export interface NetworkFailure {
  /** e.g. "ConnectionRefused"; stands in for the error's name in `errorName`. */
  readonly name: string;
  /** What happened, in words: "connection refused", "timed out after 60 s". */
  readonly cause: string;
}

/** The endpoint a failed request was sent to, set on the error by `endpointOnError`. */
const ENDPOINT = Symbol.for("keepwarm.endpoint");

/** Why a request was abandoned by keepwarm itself; the SDK keeps it as the AbortError's cause. */
export class RequestTimeoutError extends KeepwarmError {
  override readonly name = "RequestTimeoutError";
  readonly timeoutMs: number;

  constructor(timeoutMs: number) {
    super(`no answer within ${seconds(timeoutMs)}`);
    this.timeoutMs = timeoutMs;
  }
}

const NETWORK_NAMES: Readonly<Record<string, NetworkFailure>> = {
  ECONNREFUSED: { name: "ConnectionRefused", cause: "connection refused" },
  ECONNRESET: { name: "ConnectionReset", cause: "connection reset" },
  EPIPE: { name: "ConnectionReset", cause: "connection reset" },
  ECONNABORTED: { name: "ConnectionReset", cause: "connection aborted" },
  ETIMEDOUT: { name: "ConnectTimeout", cause: "connection timed out" },
  EAI_AGAIN: { name: "HostNotFound", cause: "DNS lookup failed (try again)" },
  ENOTFOUND: { name: "HostNotFound", cause: "host not found" },
  EHOSTUNREACH: { name: "HostUnreachable", cause: "host unreachable" },
  ENETUNREACH: { name: "HostUnreachable", cause: "network unreachable" },
  ERR_HTTP2_STREAM_ERROR: { name: "ConnectionReset", cause: "HTTP/2 stream reset" },
  ERR_HTTP2_SESSION_ERROR: { name: "ConnectionReset", cause: "HTTP/2 session reset" },
  ERR_HTTP2_GOAWAY_SESSION: { name: "ConnectionReset", cause: "HTTP/2 session closed (GOAWAY)" },
  ERR_HTTP2_INVALID_SESSION: { name: "ConnectionReset", cause: "HTTP/2 session closed" },
};

/**
 * What a transport failure was, when it was one: Node's socket errors carry only a `code`,
 * the SDK's abort and time-out errors only a sentence, and a server that drops an HTTP/2
 * session shows up as a "TimeoutError" that is really a reset.
 */
export function networkFailureOf(error: unknown): NetworkFailure | undefined {
  if (!(error instanceof Error)) return undefined;
  const e = error as { code?: unknown; cause?: unknown };
  const message = error.message;
  if (error.name === "AbortError") {
    if (e.cause instanceof RequestTimeoutError) {
      return { name: "RequestTimeout", cause: `timed out after ${seconds(e.cause.timeoutMs)}` };
    }
    const nested = networkFailureOf(e.cause);
    return nested ?? { name: "RequestAborted", cause: "aborted by keepwarm (shutting down)" };
  }
  if (/http2 request did not get a response|stream is abnormally aborted/i.test(message)) {
    return { name: "ConnectionReset", cause: "connection reset (HTTP/2 session closed)" };
  }
  // The SDK's own time-outs: before the code table, as a request time-out carries ETIMEDOUT.
  if (error.name === "TimeoutError") {
    const ms = /(\d+) ?ms\b/.exec(message)?.[1];
    const connecting = /establish a connection|connection timed out/i.test(message);
    const after = ms ? ` after ${seconds(Number(ms))}` : "";
    return connecting
      ? { name: "ConnectTimeout", cause: `no connection${after}` }
      : { name: "RequestTimeout", cause: `timed out${after} (no answer)` };
  }
  const code = typeof e.code === "string" ? e.code : undefined;
  if (code && NETWORK_NAMES[code]) return NETWORK_NAMES[code];
  return e.cause !== undefined && e.cause !== error ? networkFailureOf(e.cause) : undefined;
}

function seconds(ms: number): string {
  return ms % 1000 === 0 ? `${ms / 1000} s` : `${ms} ms`;
}

/** The endpoint (scheme, host, port) a failed request went to, if `endpointOnError` saw it. */
export function endpointOf(error: unknown): string | undefined {
  let e: unknown = error;
  for (let depth = 0; depth < 4 && e instanceof Error; depth++) {
    const endpoint = (e as unknown as Record<symbol, unknown>)[ENDPOINT];
    if (typeof endpoint === "string") return endpoint;
    e = (e as { cause?: unknown }).cause;
  }
  return undefined;
}

/** The name to log as `errorName`: AWS's, or for a transport failure what it was. */
export function errorNameOf(error: unknown): string {
  const network = networkFailureOf(error);
  if (network) return network.name;
  return error instanceof Error ? error.name : "Error";
}

/** Anything with an SDK middleware stack: every v3 client. */
interface WithMiddleware {
  readonly middlewareStack: {
    add(
      middleware: FinalizeRequestMiddleware<object, MetadataBearer>,
      options: FinalizeRequestHandlerOptions & {
        name: string;
        priority?: "high" | "normal" | "low";
      },
    ): void;
  };
}

/**
 * Marks every error of `client` with the endpoint its request went to: a refused
 * connection or a time-out otherwise names no host. At `finalizeRequest` the host is known.
 */
export function addEndpointOnError<C extends WithMiddleware>(client: C): C {
  const middleware: FinalizeRequestMiddleware<object, MetadataBearer> = (next) => async (args) => {
    try {
      return await next(args);
    } catch (error) {
      const request = args.request as { protocol?: string; hostname?: string; port?: number };
      if (error instanceof Error && request?.hostname) {
        const port = request.port ? `:${request.port}` : "";
        Object.defineProperty(error, ENDPOINT, {
          value: `${request.protocol ?? "https:"}//${request.hostname}${port}`,
          enumerable: false,
          configurable: true,
        });
      }
      throw error;
    }
  };
  client.middlewareStack.add(middleware, {
    name: "keepwarmEndpointOnError",
    step: "finalizeRequest",
    priority: "low",
  });
  return client;
}

export function classifyAwsError(error: unknown): AwsFailureKind {
  const e = error as { name?: unknown; code?: unknown; $fault?: unknown } | undefined;
  const name = typeof e?.name === "string" ? e.name : "";
  const known = KIND_BY_NAME[name];
  if (known) return known;
  if (networkFailureOf(error)) return "unavailable";
  // An error name this table does not know: the SDK's own fault attribution decides.
  return e?.$fault === "client" ? "invalid" : "unavailable";
}

/** True for failures that go away by themselves and deserve a backoff-and-retry. */
export function isTransient(kind: AwsFailureKind): boolean {
  return kind === "throttled" || kind === "unavailable";
}

/**
 * A failed AWS call with what an operator needs to act on it: the IAM action, the
 * resource, and for `denied`/`invalid` what is missing or wrong.
 */
export class AwsCallError extends KeepwarmError {
  override readonly name = "AwsCallError";
  readonly kind: AwsFailureKind;
  /** IAM action of the call, e.g. "bedrock:InvokeModel". */
  readonly action: string;
  /** The ARN the call was about, or "*" for CloudWatch reads. */
  readonly resource: string;
  /** The error name AWS gave, e.g. "AccessDeniedException". */
  readonly awsName: string;
  /** What to fix: the missing permission or the config field at fault. */
  readonly remedy: string;
  /** AWS says the model does not exist (deleted, or a mistyped ARN). */
  readonly modelMissing: boolean;

  constructor(action: string, resource: string, cause: unknown, remedyFor?: RemedyFields) {
    const kind = classifyAwsError(cause);
    const awsName = errorNameOf(cause);
    const network = networkFailureOf(cause);
    const endpoint = endpointOf(cause);
    const message = network
      ? `${network.cause}${endpoint ? ` (${endpoint})` : ""}`
      : cause instanceof Error
        ? cause.message
        : String(cause);
    super(`${action} on ${resource} failed: ${awsName}: ${message}`, { cause, subject: resource });
    this.kind = kind;
    this.action = action;
    this.resource = resource;
    this.awsName = awsName;
    this.modelMissing = isModelMissing(awsName, message);
    this.remedy = this.modelMissing
      ? `check that ${resource} still exists (aws bedrock get-imported-model --model-identifier ${resource}): a deleted or mistyped import answers this way; fix modelArn or remove the model from the config`
      : awsName === "CredentialsProviderError"
        ? "no AWS credentials were found: set AWS_PROFILE or AWS_ACCESS_KEY_ID/AWS_SECRET_ACCESS_KEY, a web identity token, or run where an instance or container role is attached"
        : remedyOf(kind, action, resource, remedyFor);
  }
}

/**
 * Whether an error says the model is not there: GetImportedModel's ResourceNotFoundException,
 * or InvokeModel's "The provided model identifier is invalid" for an ARN with no model behind it.
 */
function isModelMissing(awsName: string, message: string): boolean {
  return (
    awsName === "ResourceNotFoundException" ||
    (awsName === "ValidationException" && /model identifier is invalid/i.test(message))
  );
}

/** Config fields to name when a request is rejected as invalid. */
export interface RemedyFields {
  readonly invalid?: string;
  readonly modelError?: string;
}

function remedyOf(
  kind: AwsFailureKind,
  action: string,
  resource: string,
  fields: RemedyFields | undefined,
): string {
  switch (kind) {
    case "denied":
      return `grant ${action} on ${resource} to the credentials keepwarm runs with, or renew them`;
    case "invalid":
      return fields?.invalid ?? `check the request ${action} sends`;
    case "model-error":
      return fields?.modelError ?? "the model failed on the request; it is tried again later";
    default:
      return "retried with backoff";
  }
}

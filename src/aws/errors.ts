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

/** Socket-level failures of Node, which carry a `code` and the generic name "Error". */
const NETWORK_CODES = new Set([
  "ECONNRESET",
  "ECONNREFUSED",
  "ECONNABORTED",
  "EPIPE",
  "ETIMEDOUT",
  "EAI_AGAIN",
  "ENOTFOUND",
  "EHOSTUNREACH",
  "ENETUNREACH",
  "ERR_HTTP2_STREAM_ERROR",
  "ERR_HTTP2_SESSION_ERROR",
  "ERR_HTTP2_GOAWAY_SESSION",
  "ERR_HTTP2_INVALID_SESSION",
]);

export function classifyAwsError(error: unknown): AwsFailureKind {
  const e = error as { name?: unknown; code?: unknown; $fault?: unknown } | undefined;
  const name = typeof e?.name === "string" ? e.name : "";
  const known = KIND_BY_NAME[name];
  if (known) return known;
  if (typeof e?.code === "string" && NETWORK_CODES.has(e.code)) return "unavailable";
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
export class AwsCallError extends Error {
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

  constructor(action: string, resource: string, cause: unknown, remedyFor?: RemedyFields) {
    const kind = classifyAwsError(cause);
    const awsName = cause instanceof Error ? cause.name : "Error";
    const message = cause instanceof Error ? cause.message : String(cause);
    super(`${action} on ${resource} failed: ${awsName}: ${message}`, { cause });
    this.kind = kind;
    this.action = action;
    this.resource = resource;
    this.awsName = awsName;
    this.remedy = remedyOf(kind, action, resource, remedyFor);
  }
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

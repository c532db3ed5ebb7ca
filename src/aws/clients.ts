import { BedrockClient } from "@aws-sdk/client-bedrock";
import { BedrockRuntimeClient } from "@aws-sdk/client-bedrock-runtime";
import { CloudWatchClient } from "@aws-sdk/client-cloudwatch";
import { ConfiguredRetryStrategy } from "@smithy/core/retry";
import type {
  AwsCredentialIdentity,
  HttpHandlerOptions,
  HttpRequest,
  HttpResponse,
  RequestHandler,
} from "@smithy/types";
import { addEndpointOnError } from "./errors.js";

/**
 * The three SDK clients keepwarm uses for one region. Credentials, endpoints
 * (AWS_ENDPOINT_URL, AWS_ENDPOINT_URL_BEDROCK_RUNTIME, ...) and the rest come from the
 * SDK's default chain unless overridden, so the simulator and real AWS are reached the
 * same way.
 */
export interface RegionClients {
  readonly region: string;
  readonly runtime: BedrockRuntimeClient;
  readonly bedrock: BedrockClient;
  readonly cloudwatch: CloudWatchClient;
}

/** For tests and the in-process simulator: an explicit endpoint and credentials. */
export interface ClientOverrides {
  readonly endpoint?: string;
  readonly credentials?: AwsCredentialIdentity;
  /** Per-request timeout of the Bedrock control-plane and CloudWatch clients. */
  readonly requestTimeoutMs?: number;
  /** What carries the SDK's requests instead of its HTTP handlers (the in-process simulator). */
  readonly requestHandler?: RequestHandler<HttpRequest, HttpResponse, HttpHandlerOptions>;
  /** The SDK's `cacheMiddleware`: resolve each command's middleware stack once, not per call. */
  readonly cacheMiddleware?: boolean;
  /**
   * Wait between the SDK's own retries of a Bedrock control-plane or CloudWatch call, in
   * place of its real backoff. On a virtual clock a call takes no virtual time, retries
   * included, so waiting real time there only slows the run: simulate and the tests set 0.
   */
  readonly retryBackoffMs?: number;
}

/** The SDK's default number of attempts of a control-plane or CloudWatch call. */
const SDK_MAX_ATTEMPTS = 3;

/**
 * A GetMetricData or GetImportedModel call that has not answered by then is abandoned (and
 * retried by the SDK): a stalled connection must not hold up start-up or pile up the
 * minute polls. Pings have their own timeout in the controller.
 */
export const REQUEST_TIMEOUT_MS = 20_000;
const CONNECTION_TIMEOUT_MS = 10_000;

export function createRegionClients(
  region: string,
  overrides: ClientOverrides = {},
): RegionClients {
  const common = {
    region,
    ...(overrides.endpoint ? { endpoint: overrides.endpoint } : {}),
    ...(overrides.credentials ? { credentials: overrides.credentials } : {}),
    ...(overrides.cacheMiddleware ? { cacheMiddleware: true } : {}),
  };
  const retries =
    overrides.retryBackoffMs === undefined
      ? {}
      : { retryStrategy: new ConfiguredRetryStrategy(SDK_MAX_ATTEMPTS, overrides.retryBackoffMs) };
  const timeouts = overrides.requestHandler ?? {
    requestTimeout: overrides.requestTimeoutMs ?? REQUEST_TIMEOUT_MS,
    connectionTimeout: CONNECTION_TIMEOUT_MS,
    // Without it the SDK only logs a warning when requestTimeout passes and keeps waiting.
    throwOnRequestTimeout: true,
  };
  const clients = {
    region,
    // The SDK retries ModelNotReadyException for ~2 s, which hides a cold start and is far
    // shorter than a restore: keepwarm runs its own cold-start and backoff loops instead.
    runtime: new BedrockRuntimeClient({
      ...common,
      maxAttempts: 1,
      ...(overrides.requestHandler ? { requestHandler: overrides.requestHandler } : {}),
    }),
    bedrock: new BedrockClient({ ...common, ...retries, requestHandler: timeouts }),
    cloudwatch: new CloudWatchClient({ ...common, ...retries, requestHandler: timeouts }),
  };
  // A refused connection or a time-out names no host by itself: the log line needs it.
  addEndpointOnError(clients.runtime);
  addEndpointOnError(clients.bedrock);
  addEndpointOnError(clients.cloudwatch);
  return clients;
}

/** One set of clients per region, created on first use. */
export class RegionClientPool {
  readonly #byRegion = new Map<string, RegionClients>();
  readonly #overrides: ClientOverrides;

  constructor(overrides: ClientOverrides = {}) {
    this.#overrides = overrides;
  }

  get(region: string): RegionClients {
    let clients = this.#byRegion.get(region);
    if (!clients) {
      clients = createRegionClients(region, this.#overrides);
      this.#byRegion.set(region, clients);
    }
    return clients;
  }

  destroy(): void {
    for (const c of this.#byRegion.values()) {
      c.runtime.destroy();
      c.bedrock.destroy();
      c.cloudwatch.destroy();
    }
    this.#byRegion.clear();
  }
}

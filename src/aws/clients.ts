import { BedrockClient } from "@aws-sdk/client-bedrock";
import { BedrockRuntimeClient } from "@aws-sdk/client-bedrock-runtime";
import { CloudWatchClient } from "@aws-sdk/client-cloudwatch";
import { CostExplorerClient } from "@aws-sdk/client-cost-explorer";
import { ConfiguredRetryStrategy } from "@smithy/core/retry";
import type {
  AwsCredentialIdentity,
  HttpHandlerOptions,
  HttpRequest,
  HttpResponse,
  RequestHandler,
} from "@smithy/types";
import type { Logger } from "../runtime/infra/logger.js";
import { COST_EXPLORER_REGION } from "./costExplorer.js";
import {
  type CredentialRefreshReason,
  CredentialSource,
  refreshOnAuthError,
} from "./credentials.js";
import { addEndpointOnError } from "./errors.js";

/**
 * The three SDK clients keepwarm uses for one region. Credentials, endpoints
 * (AWS_ENDPOINT_URL, AWS_ENDPOINT_URL_BEDROCK_RUNTIME, ...) and the rest come from the
 * SDK's default chain unless overridden, so the simulator and real AWS are reached the
 * same way. Credentials come through a CredentialSource, which can be told to read them
 * anew (a rotated key) and does so by itself after a call refused for its credentials.
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
  /** Fixed credentials in place of the SDK's default chain (source "given"). */
  readonly credentials?: AwsCredentialIdentity;
  /** The credentials to sign with, shared by several sets of clients; wins over `credentials`. */
  readonly credentialSource?: CredentialSource;
  /** Where the credentials' source and its changes are logged. */
  readonly logger?: Logger;
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

/** The credentials `overrides` ask for: a shared source, fixed keys, or the default chain. */
export function credentialSourceOf(overrides: ClientOverrides = {}): CredentialSource {
  if (overrides.credentialSource) return overrides.credentialSource;
  const options = overrides.logger ? { logger: overrides.logger } : {};
  return overrides.credentials
    ? CredentialSource.given(overrides.credentials, options)
    : CredentialSource.defaultChain(options);
}

export function createRegionClients(
  region: string,
  overrides: ClientOverrides = {},
): RegionClients {
  const source = credentialSourceOf(overrides);
  const common = {
    region,
    credentials: source.provider,
    ...(overrides.endpoint ? { endpoint: overrides.endpoint } : {}),
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
  // A call refused for its credentials makes the next one read them anew.
  refreshOnAuthError(clients.runtime, source);
  refreshOnAuthError(clients.bedrock, source);
  refreshOnAuthError(clients.cloudwatch, source);
  return clients;
}

/**
 * Cost Explorer's client: us-east-1, its only endpoint, with the credentials, endpoint,
 * retries and time-outs `overrides` give the other clients.
 */
export function createCostExplorerClient(overrides: ClientOverrides = {}): CostExplorerClient {
  const source = credentialSourceOf(overrides);
  const client = new CostExplorerClient({
    region: COST_EXPLORER_REGION,
    credentials: source.provider,
    ...(overrides.endpoint ? { endpoint: overrides.endpoint } : {}),
    ...(overrides.retryBackoffMs === undefined
      ? {}
      : { retryStrategy: new ConfiguredRetryStrategy(SDK_MAX_ATTEMPTS, overrides.retryBackoffMs) }),
    requestHandler: overrides.requestHandler ?? {
      requestTimeout: overrides.requestTimeoutMs ?? REQUEST_TIMEOUT_MS,
      connectionTimeout: CONNECTION_TIMEOUT_MS,
      throwOnRequestTimeout: true,
    },
  });
  addEndpointOnError(client);
  refreshOnAuthError(client, source);
  return client;
}

/** One set of clients per region, created on first use, all signing with one CredentialSource. */
export class RegionClientPool {
  readonly #byRegion = new Map<string, RegionClients>();
  readonly #overrides: ClientOverrides;
  #costExplorer: CostExplorerClient | undefined;
  /** The credentials every client of the pool signs with. */
  readonly credentials: CredentialSource;

  constructor(overrides: ClientOverrides = {}) {
    this.credentials = credentialSourceOf(overrides);
    this.#overrides = { ...overrides, credentialSource: this.credentials };
  }

  /** Cost Explorer's client, created on first use, signing with the pool's credentials. */
  costExplorer(): CostExplorerClient {
    this.#costExplorer ??= createCostExplorerClient(this.#overrides);
    return this.#costExplorer;
  }

  get(region: string): RegionClients {
    let clients = this.#byRegion.get(region);
    if (!clients) {
      clients = createRegionClients(region, this.#overrides);
      this.#byRegion.set(region, clients);
    }
    return clients;
  }

  /**
   * The next call of any region reads the credentials anew (SIGHUP: a rotated key in the
   * shared credentials file, a new profile's keys). Calls under way finish with the old ones.
   */
  refreshCredentials(reason: CredentialRefreshReason = "SIGHUP"): void {
    this.credentials.refresh(reason);
  }

  destroy(): void {
    for (const c of this.#byRegion.values()) {
      c.runtime.destroy();
      c.bedrock.destroy();
      c.cloudwatch.destroy();
    }
    this.#byRegion.clear();
    this.#costExplorer?.destroy();
    this.#costExplorer = undefined;
  }
}

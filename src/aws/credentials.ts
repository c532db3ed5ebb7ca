import { join } from "node:path";
import { fromNodeProviderChain } from "@aws-sdk/credential-providers";
import { getSmithyContext } from "@smithy/core";
import { getHomeDir, loadSharedConfigFiles } from "@smithy/core/config";
import type {
  AwsCredentialIdentity,
  AwsCredentialIdentityProvider,
  InitializeHandlerOptions,
  InitializeMiddleware,
  MetadataBearer,
} from "@smithy/types";
import type { Logger } from "../runtime/infra/logger.js";

/**
 * Error names with which AWS refuses the credentials themselves, not what they may do: an
 * expired session token, a key that was deleted or deactivated, a signature made with a
 * secret that is no longer the key's. Another read of the source may find new credentials.
 */
export const CREDENTIAL_ERROR_NAMES: ReadonlySet<string> = new Set([
  "ExpiredToken",
  "ExpiredTokenException",
  "UnrecognizedClient",
  "UnrecognizedClientException",
  "InvalidClientTokenId",
  "InvalidAccessKeyId",
  "InvalidSignatureException",
  "SignatureDoesNotMatch",
  "AuthFailure",
]);

/** Why the credentials are read again. */
export type CredentialRefreshReason = "SIGHUP" | "auth-error" | "manual";

/** Which link of the SDK's default chain gave the credentials, or "given" in code. */
export type CredentialKind =
  | "given"
  | "environment"
  | "shared-file"
  | "assumed-role"
  | "sso"
  | "process"
  | "login"
  | "web-identity"
  | "container"
  | "instance-metadata";

/** At least this long between two re-reads set off by auth errors. */
export const AUTH_REFRESH_INTERVAL_MS = 60_000;

/** What `describe()` says before the first AWS call has resolved the default chain. */
export const UNRESOLVED = "default chain (not resolved yet)";

export interface CredentialSourceOptions {
  /** Where the source and each change of it are logged; nothing is logged without it. */
  readonly logger?: Logger;
  /** The least time between two re-reads set off by auth errors (AUTH_REFRESH_INTERVAL_MS). */
  readonly authRefreshIntervalMs?: number;
  /** Monotonic milliseconds, for that interval. */
  readonly now?: () => number;
  /** The environment the source is described from; process.env when omitted. */
  readonly env?: NodeJS.ProcessEnv;
}

type Resolve = (options?: Record<string, unknown>) => Promise<AwsCredentialIdentity>;

/** The provider handed to the SDK clients; `memoized` keeps the SDK from caching it again. */
export type SharedCredentialProvider = AwsCredentialIdentityProvider & { memoized: true };

interface Resolved {
  readonly identity: AwsCredentialIdentity;
  readonly description: string;
}

/**
 * The credentials every client of a pool signs with, and where they come from. The SDK's
 * default chain caches what it found until it expires, and static keys (the environment,
 * a shared credentials file) never do: a rewritten file would be ignored until restart.
 * `refresh()` drops that cache, and the next call reads the chain again from the start,
 * files included. An AWS call refused for its credentials (`CREDENTIAL_ERROR_NAMES`) does
 * the same, once per set of credentials and at most once per AUTH_REFRESH_INTERVAL_MS, so
 * credentials that stay bad are not read again on every failing call. Temporary
 * credentials (web identity, container, instance metadata) are still renewed by the chain
 * before they expire.
 */
export class CredentialSource {
  /** Fixed credentials (the simulator, tests); a refresh hands out the same keys. */
  static given(
    credentials: AwsCredentialIdentity,
    options: CredentialSourceOptions = {},
  ): CredentialSource {
    return new CredentialSource(
      "given",
      () => {
        // A copy per read: the SDK marks the object it signs with with its source.
        const copy = { ...credentials };
        return async () => copy;
      },
      options,
    );
  }

  /** The SDK's default chain, reading the shared config and credentials files afresh each time. */
  static defaultChain(options: CredentialSourceOptions = {}): CredentialSource {
    return new CredentialSource(
      "chain",
      () => fromNodeProviderChain({ ignoreCache: true }) as Resolve,
      options,
    );
  }

  /** Pass to an SDK client as its `credentials`. */
  readonly provider: SharedCredentialProvider;

  readonly #mode: "given" | "chain";
  readonly #makeChain: () => Resolve;
  readonly #logger: Logger | undefined;
  readonly #authRefreshIntervalMs: number;
  readonly #now: () => number;
  readonly #env: NodeJS.ProcessEnv;
  #chain: Resolve;
  /** Set when the next call must read the chain anew, with why. */
  #due: CredentialRefreshReason | undefined;
  /** Why the chain being read now was made, for the line logged when it answers. */
  #reason: CredentialRefreshReason | undefined;
  #lastAuthRefreshAt = Number.NEGATIVE_INFINITY;
  /** The credentials handed out last, set as soon as the chain answers. */
  #latest: AwsCredentialIdentity | undefined;
  #noting: { identity: AwsCredentialIdentity; done: Promise<void> } | undefined;
  #resolved: Resolved | undefined;

  private constructor(
    mode: "given" | "chain",
    makeChain: () => Resolve,
    options: CredentialSourceOptions,
  ) {
    this.#mode = mode;
    this.#makeChain = makeChain;
    this.#chain = makeChain();
    this.#logger = options.logger;
    this.#authRefreshIntervalMs = options.authRefreshIntervalMs ?? AUTH_REFRESH_INTERVAL_MS;
    this.#now = options.now ?? (() => performance.now());
    this.#env = options.env ?? process.env;
    this.provider = Object.assign((options?: Record<string, unknown>) => this.#get(options), {
      memoized: true as const,
    });
  }

  /** Where the credentials in use come from, e.g. "shared credentials file /etc/aws/credentials profile default". */
  describe(): string {
    if (this.#mode === "given") return "given";
    return this.#resolved?.description ?? UNRESOLVED;
  }

  /** The last 4 characters of the access key id in use; the rest of it and the secret are never shown. */
  keyIdSuffix(): string | undefined {
    const resolved = this.#resolved;
    return resolved === undefined ? undefined : suffixOf(resolved.identity.accessKeyId);
  }

  /** The next call reads the credentials anew: the chain from its start, files included. */
  refresh(reason: CredentialRefreshReason = "manual"): void {
    this.#due = reason;
    if (reason === "auth-error") this.#lastAuthRefreshAt = this.#now();
    this.#logger?.info(
      {
        event: "credentials-refresh",
        reason,
        source: this.describe(),
        keyIdSuffix: this.keyIdSuffix(),
      },
      "AWS credentials will be read again at the next call",
    );
  }

  /**
   * An AWS call signed with `identity` (the credentials in use when undefined) failed with
   * `errorName`. Returns whether that made the next call read the credentials anew: not for
   * credentials already replaced or already due for a re-read, nor within the interval of
   * the last re-read an auth error set off.
   */
  authFailed(errorName: string, identity?: unknown): boolean {
    if (!CREDENTIAL_ERROR_NAMES.has(errorName) || this.#due !== undefined) return false;
    if (identity !== undefined && identity !== this.#latest) return false;
    const now = this.#now();
    if (now - this.#lastAuthRefreshAt < this.#authRefreshIntervalMs) return false;
    this.#lastAuthRefreshAt = now;
    this.#due = "auth-error";
    this.#logger?.warn(
      {
        event: "credentials-refresh",
        reason: "auth-error",
        errorName,
        source: this.describe(),
        keyIdSuffix: this.keyIdSuffix(),
      },
      `AWS refused the credentials (${errorName}); they will be read again at the next call`,
    );
    return true;
  }

  async #get(options?: Record<string, unknown>): Promise<AwsCredentialIdentity> {
    if (this.#due !== undefined) {
      this.#reason = this.#due;
      this.#due = undefined;
      this.#chain = this.#makeChain();
    }
    const chain = this.#chain;
    const identity = await chain(options);
    // Credentials of a chain replaced meanwhile are used by their call, and noted by none.
    if (chain !== this.#chain) return identity;
    if (identity !== this.#latest) {
      this.#latest = identity;
      this.#noting = { identity, done: this.#note(identity) };
    }
    if (this.#noting?.identity === identity) await this.#noting.done;
    return identity;
  }

  /** Describes credentials seen for the first time and logs the line they call for. */
  async #note(identity: AwsCredentialIdentity): Promise<void> {
    const reason = this.#reason;
    this.#reason = undefined;
    const description = await this.#describeIdentity(identity);
    const previous = this.#resolved;
    this.#resolved = { identity, description };
    this.#log(identity, description, previous, reason);
  }

  #log(
    identity: AwsCredentialIdentity,
    description: string,
    previous: Resolved | undefined,
    reason: CredentialRefreshReason | undefined,
  ): void {
    const logger = this.#logger;
    // Keys given in code (the simulator's) come from no chain: nothing to say of them.
    if (!logger || description === "given") return;
    const changed =
      previous === undefined ||
      previous.description !== description ||
      previous.identity.accessKeyId !== identity.accessKeyId;
    const sourceChanged = previous !== undefined && previous.description !== description;
    const line = {
      event: "credentials" as const,
      reason: reason ?? (previous === undefined ? "start" : "expiry"),
      source: description,
      keyIdSuffix: suffixOf(identity.accessKeyId),
      changed,
      ...(identity.expiration ? { expiresAt: identity.expiration.toISOString() } : {}),
    };
    const message = `AWS credentials from ${description}`;
    if (reason === "auth-error" && !changed) {
      logger.warn(line, `${message}: the same key as before; renew the credentials there`);
    } else if (previous === undefined || reason !== undefined || sourceChanged) {
      logger.info(line, message);
    } else {
      logger.debug(line, message);
    }
  }

  async #describeIdentity(identity: AwsCredentialIdentity): Promise<string> {
    if (this.#mode === "given") return "given";
    try {
      return await describeCredentials(identity, this.#env);
    } catch {
      return credentialKindOf(identity, this.#env);
    }
  }
}

/** The last 4 characters of an access key id; none of a key too short to hide the rest. */
function suffixOf(accessKeyId: string): string | undefined {
  return accessKeyId.length >= 12 ? accessKeyId.slice(-4) : undefined;
}

type Attributed = AwsCredentialIdentity & { readonly $source?: Readonly<Record<string, unknown>> };

/**
 * Which link of the default chain resolved `identity`, from the features the SDK marks
 * credentials with (`$source`). Instance metadata marks none; neither does the container
 * endpoint when reached by its fallback provider, which only runs in a container.
 */
export function credentialKindOf(
  identity: AwsCredentialIdentity,
  env: NodeJS.ProcessEnv = process.env,
): CredentialKind {
  const source = (identity as Attributed).$source ?? {};
  const has = (...features: string[]) => features.some((f) => source[f] !== undefined);
  if (
    has(
      "CREDENTIALS_ENV_VARS_STS_WEB_ID_TOKEN",
      "CREDENTIALS_PROFILE_STS_WEB_ID_TOKEN",
      "CREDENTIALS_STS_ASSUME_ROLE_WEB_ID",
    )
  ) {
    return "web-identity";
  }
  if (
    has(
      "CREDENTIALS_PROFILE_SOURCE_PROFILE",
      "CREDENTIALS_PROFILE_NAMED_PROVIDER",
      "CREDENTIALS_STS_ASSUME_ROLE",
    )
  ) {
    return "assumed-role";
  }
  if (
    has(
      "CREDENTIALS_PROFILE_SSO",
      "CREDENTIALS_PROFILE_SSO_LEGACY",
      "CREDENTIALS_SSO",
      "CREDENTIALS_SSO_LEGACY",
    )
  ) {
    return "sso";
  }
  if (has("CREDENTIALS_PROFILE_PROCESS", "CREDENTIALS_PROCESS")) return "process";
  if (has("CREDENTIALS_PROFILE_LOGIN", "CREDENTIALS_LOGIN")) return "login";
  if (has("CREDENTIALS_PROFILE")) return "shared-file";
  if (has("CREDENTIALS_ENV_VARS")) return "environment";
  if (has("CREDENTIALS_HTTP")) return "container";
  if (has("CREDENTIALS_IMDS")) return "instance-metadata";
  if (has("CREDENTIALS_CODE")) return "given";
  const container =
    env.AWS_CONTAINER_CREDENTIALS_RELATIVE_URI || env.AWS_CONTAINER_CREDENTIALS_FULL_URI;
  return container ? "container" : "instance-metadata";
}

/** The shared credentials file: AWS_SHARED_CREDENTIALS_FILE, else ~/.aws/credentials. */
export function sharedCredentialsPath(env: NodeJS.ProcessEnv = process.env): string {
  return env.AWS_SHARED_CREDENTIALS_FILE || join(getHomeDir(), ".aws", "credentials");
}

/** The shared config file: AWS_CONFIG_FILE, else ~/.aws/config. */
export function sharedConfigPath(env: NodeJS.ProcessEnv = process.env): string {
  return env.AWS_CONFIG_FILE || join(getHomeDir(), ".aws", "config");
}

/**
 * `identity`'s source in words: "environment", "shared credentials file PATH profile P",
 * "shared config file PATH profile P", "web identity", "container", "instance metadata",
 * "assumed role, profile P", "SSO, profile P", "credential process, profile P".
 */
export async function describeCredentials(
  identity: AwsCredentialIdentity,
  env: NodeJS.ProcessEnv = process.env,
): Promise<string> {
  const kind = credentialKindOf(identity, env);
  const profile = env.AWS_PROFILE || "default";
  switch (kind) {
    case "shared-file": {
      const filepath = sharedCredentialsPath(env);
      const configFilepath = sharedConfigPath(env);
      const files = await loadSharedConfigFiles({ filepath, configFilepath });
      const inCredentialsFile =
        files.credentialsFile[profile]?.aws_access_key_id === identity.accessKeyId;
      return inCredentialsFile
        ? `shared credentials file ${filepath} profile ${profile}`
        : `shared config file ${configFilepath} profile ${profile}`;
    }
    case "web-identity": {
      const viaProfile = (identity as Attributed).$source?.CREDENTIALS_PROFILE_STS_WEB_ID_TOKEN;
      return viaProfile === undefined ? "web identity" : `web identity, profile ${profile}`;
    }
    case "assumed-role":
      return `assumed role, profile ${profile}`;
    case "sso":
      return `SSO, profile ${profile}`;
    case "process":
      return `credential process, profile ${profile}`;
    case "login":
      return `console login, profile ${profile}`;
    case "environment":
      return "environment";
    case "container":
      return "container";
    case "instance-metadata":
      return "instance metadata";
    case "given":
      return "given";
  }
}

/** Anything with an SDK middleware stack: every v3 client. */
interface WithMiddleware {
  readonly middlewareStack: {
    add(
      middleware: InitializeMiddleware<object, MetadataBearer>,
      options: InitializeHandlerOptions & { name: string; priority?: "high" | "normal" | "low" },
    ): void;
  };
}

/**
 * Makes `client` tell `source` of each call refused for its credentials, with the
 * credentials the call was signed with, so that the next call reads them anew. The
 * failing call is not retried: it fails as before.
 */
export function refreshOnAuthError<C extends WithMiddleware>(
  client: C,
  source: CredentialSource,
): C {
  const middleware: InitializeMiddleware<object, MetadataBearer> =
    (next, context) => async (args) => {
      try {
        return await next(args);
      } catch (error) {
        const name = (error as { name?: unknown } | undefined)?.name;
        if (typeof name === "string" && CREDENTIAL_ERROR_NAMES.has(name)) {
          const scheme = getSmithyContext(context).selectedHttpAuthScheme as
            | { identity?: unknown }
            | undefined;
          source.authFailed(name, scheme?.identity);
        }
        throw error;
      }
    };
  client.middlewareStack.add(middleware, {
    name: "keepwarmRefreshCredentialsOnAuthError",
    step: "initialize",
    priority: "high",
  });
  return client;
}

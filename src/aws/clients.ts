import { BedrockClient } from "@aws-sdk/client-bedrock";
import { BedrockRuntimeClient } from "@aws-sdk/client-bedrock-runtime";
import { CloudWatchClient } from "@aws-sdk/client-cloudwatch";

/**
 * The three SDK clients keepwarm uses for one region. Credentials, endpoints
 * (AWS_ENDPOINT_URL, AWS_ENDPOINT_URL_BEDROCK_RUNTIME, ...) and the rest come from the
 * SDK's default chain, so the simulator and real AWS are reached the same way.
 */
export interface RegionClients {
  readonly region: string;
  readonly runtime: BedrockRuntimeClient;
  readonly bedrock: BedrockClient;
  readonly cloudwatch: CloudWatchClient;
}

export function createRegionClients(region: string): RegionClients {
  return {
    region,
    // The SDK retries ModelNotReadyException for ~2 s, which hides a cold start and is far
    // shorter than a restore: keepwarm runs its own cold-start and backoff loops instead.
    runtime: new BedrockRuntimeClient({ region, maxAttempts: 1 }),
    bedrock: new BedrockClient({ region }),
    cloudwatch: new CloudWatchClient({ region }),
  };
}

/** One set of clients per region, created on first use. */
export class RegionClientPool {
  readonly #byRegion = new Map<string, RegionClients>();

  get(region: string): RegionClients {
    let clients = this.#byRegion.get(region);
    if (!clients) {
      clients = createRegionClients(region);
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

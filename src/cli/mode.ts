import { GetCallerIdentityCommand, STSClient } from "@aws-sdk/client-sts";
import type { AwsCredentialIdentityProvider } from "@smithy/types";
import { describeCredentials } from "../aws/credentials.js";
import type { ModelConfig, ResolvedConfig } from "../domain/types.js";

/**
 * AWS's documentation account, which the sample config's model ARNs use: no real model is
 * in it, so a live run on such a config is a sample left unedited.
 */
export const EXAMPLE_ACCOUNT = "123456789012";

/** The models of `config` whose ARN is in the example account. */
export function exampleAccountModels(config: ResolvedConfig): ModelConfig[] {
  return config.models.filter((m) => m.modelArn.split(":")[4] === EXAMPLE_ACCOUNT);
}

/** Why a live run refuses to start on the sample's models, and how to put in one's own. */
export function exampleAccountRefusal(
  configPath: string,
  models: readonly ModelConfig[],
  why: string,
): string[] {
  const names = models.map((m) => m.name).join(", ");
  return [
    `keepwarm run: ${configPath}: ${names} ${models.length === 1 ? "is" : "are"} in account ${EXAMPLE_ACCOUNT}, the placeholder of the sample config, and this run is live (${why}): nothing was called.`,
    "  Put in your own models: `keepwarm discover --region REGION` lists the imported models of a region with their ARNs and CMUs as a models: snippet for the config (docs/configuration.md#keepwarm-discover); then `keepwarm validate --config FILE`.",
    "  To try the sample without AWS: --simulate on.",
  ];
}

/** Whom a live run calls AWS as: GetCallerIdentity's answer, or why there is none. */
export type CallerIdentity =
  | { readonly account: string; readonly arn: string }
  | { readonly error: string };

/** How long start-up waits for the credentials and GetCallerIdentity before going on without. */
const IDENTITY_TIMEOUT_MS = 10_000;

/**
 * Resolves `credentials` (the provider the daemon's clients sign with), says where they came
 * from, and asks STS whose they are. Never throws: a live run starts without the answer, and
 * its first calls log what is wrong.
 */
export async function whoAmI(
  credentials: AwsCredentialIdentityProvider,
  region: string,
): Promise<{ readonly source: string; readonly identity: CallerIdentity }> {
  let source = "none found";
  const sts = new STSClient({
    region,
    credentials,
    maxAttempts: 2,
    requestHandler: {
      requestTimeout: 5_000,
      connectionTimeout: 3_000,
      throwOnRequestTimeout: true,
    },
  });
  let timer: NodeJS.Timeout | undefined;
  try {
    const ask = async (): Promise<CallerIdentity> => {
      const identity = await credentials();
      source = await describeCredentials(identity).catch(() => "unknown");
      const me = await sts.send(new GetCallerIdentityCommand({}));
      return { account: me.Account ?? "unknown", arn: me.Arn ?? "unknown" };
    };
    const timeout = new Promise<CallerIdentity>((resolve) => {
      timer = setTimeout(
        () => resolve({ error: `no answer within ${IDENTITY_TIMEOUT_MS / 1000} s` }),
        IDENTITY_TIMEOUT_MS,
      );
    });
    const identity = await Promise.race([
      ask().catch(
        (error: unknown): CallerIdentity => ({
          error: error instanceof Error ? `${error.name}: ${error.message}` : String(error),
        }),
      ),
      timeout,
    ]);
    return { source, identity };
  } finally {
    clearTimeout(timer);
    sts.destroy();
  }
}

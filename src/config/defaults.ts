/**
 * What keepwarm.yaml means where a field is left out: the schema documents these values and
 * the resolver applies them, so both read them from here.
 */

export const BUILT_IN_POLICY_NAMES = ["always-on", "business-hours", "off"] as const;

/** The built-in policy with windows, the one a policy can extend. */
export const WINDOWED_BUILT_IN = "business-hours";

export function isBuiltInPolicy(name: string): name is (typeof BUILT_IN_POLICY_NAMES)[number] {
  return (BUILT_IN_POLICY_NAMES as readonly string[]).includes(name);
}

/** `auto`: learned per model from measured evictions and restores (domain/timings.ts). */
export const AUTO = "auto";
export const DEFAULT_CADENCE = AUTO;
export const DEFAULT_LEAD_TIME = AUTO;
export const DEFAULT_EVICTION_DELAY = AUTO;
export const DEFAULT_WARMUP_TIMEOUT = "10m";
export const DEFAULT_TIMEZONE = "UTC";
export const DEFAULT_HTTP_HOST = "127.0.0.1";
export const DEFAULT_HTTP_PORT = 9464;
/** Two g6e.2xlarge reserved instances, the self-hosted alternative (bedrock-facts.md §2). */
export const DEFAULT_SELF_HOSTING_USD_PER_MONTH = 2062.26;
export const DEFAULT_METRIC = {
  namespace: "AWS/Bedrock",
  name: "ModelCopy",
  dimension: "ModelId",
} as const;
/** The cheapest ping an OpenAI-chat-compatible import answers: one generated token. */
export const DEFAULT_REQUEST: Readonly<Record<string, unknown>> = {
  messages: [{ role: "user", content: "ping" }],
  max_tokens: 1,
};
/** Parameters that cap the generated tokens; a body without one may get a full-length answer. */
export const TOKEN_CAP_KEYS = ["max_tokens", "max_gen_len"] as const;

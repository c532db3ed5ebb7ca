import { type AwsErrorShape, awsErrors } from "./errors.js";

/** Tokens a model writes when the request's cap is absent or in another dialect's name. */
export const FULL_ANSWER_TOKENS = 256;

export type Dialect = "openai-chat" | "openai-completion" | "bedrock-completion";

export interface Answer {
  readonly dialect: Dialect;
  readonly body: string;
  readonly inputTokens: number;
  readonly outputTokens: number;
}

function capOf(value: unknown, field: string): number | AwsErrorShape {
  if (value === undefined) return FULL_ANSWER_TOKENS;
  if (typeof value !== "number" || !Number.isInteger(value) || value < 1) {
    return awsErrors.malformedInput(`${field} must be a positive integer`);
  }
  return value;
}

function tokensIn(text: string): number {
  return Math.max(1, Math.ceil(text.length / 4));
}

/**
 * Answers an InvokeModel body in the dialect it was written in (bedrock-facts.md §5). Only
 * the dialect's own cap limits the answer: a parameter of another dialect is ignored, as
 * Bedrock ignores unknown parameters, so a wrong cap shows as a full-length answer.
 */
export function answerInvocation(raw: string, modelArn: string, now: number): Answer | AwsErrorShape {
  let body: unknown;
  try {
    body = JSON.parse(raw);
  } catch {
    return awsErrors.malformedInput("the body is not valid JSON");
  }
  if (typeof body !== "object" || body === null || Array.isArray(body)) {
    return awsErrors.malformedInput("the body must be a JSON object");
  }
  const b = body as Record<string, unknown>;
  const created = Math.floor(now / 1000);
  const id = `sim-${now.toString(36)}`;
  if (Array.isArray(b.messages)) {
    const cap = capOf(b.max_tokens ?? b.max_completion_tokens, "max_tokens");
    if (typeof cap !== "number") return cap;
    const prompt = b.messages.map((m) => String((m as { content?: unknown })?.content ?? "")).join("\n");
    const inputTokens = tokensIn(prompt);
    return {
      dialect: "openai-chat",
      inputTokens,
      outputTokens: cap,
      body: JSON.stringify({
        id,
        object: "chat.completion",
        created,
        model: modelArn,
        choices: [
          {
            index: 0,
            message: { role: "assistant", content: generate(cap) },
            finish_reason: "length",
          },
        ],
        usage: { prompt_tokens: inputTokens, completion_tokens: cap, total_tokens: inputTokens + cap },
      }),
    };
  }
  if (typeof b.prompt !== "string") {
    return awsErrors.malformedInput("required key [prompt] or [messages] not found");
  }
  const inputTokens = tokensIn(b.prompt);
  if (b.max_tokens !== undefined && b.max_gen_len === undefined) {
    const cap = capOf(b.max_tokens, "max_tokens");
    if (typeof cap !== "number") return cap;
    return {
      dialect: "openai-completion",
      inputTokens,
      outputTokens: cap,
      body: JSON.stringify({
        id,
        object: "text_completion",
        created,
        model: modelArn,
        choices: [{ index: 0, text: generate(cap), finish_reason: "length" }],
        usage: { prompt_tokens: inputTokens, completion_tokens: cap, total_tokens: inputTokens + cap },
      }),
    };
  }
  const cap = capOf(b.max_gen_len, "max_gen_len");
  if (typeof cap !== "number") return cap;
  return {
    dialect: "bedrock-completion",
    inputTokens,
    outputTokens: cap,
    body: JSON.stringify({
      generation: generate(cap),
      prompt_token_count: inputTokens,
      generation_token_count: cap,
      stop_reason: "length",
    }),
  };
}

/** One short word per token, so a caller can see how many tokens came back. */
function generate(tokens: number): string {
  return Array.from({ length: tokens }, () => "ok").join(" ");
}

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

interface ParsedRequest {
  readonly dialect: Dialect;
  readonly cap: number;
  readonly inputTokens: number;
}

// A keep-alive sends the same body every time; a month of pings parses it once.
const MEMO_LIMIT = 256;
const parsedBodies = new Map<string, ParsedRequest | AwsErrorShape>();
const renderedTails = new Map<string, string>();

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

/** Which dialect a body speaks and the cap that dialect honours (bedrock-facts.md §5). */
function parseRequest(raw: string): ParsedRequest | AwsErrorShape {
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
  const parsed = (dialect: Dialect, cap: number | AwsErrorShape, prompt: string) =>
    typeof cap === "number" ? { dialect, cap, inputTokens: tokensIn(prompt) } : cap;
  if (Array.isArray(b.messages)) {
    const prompt = b.messages
      .map((m) => String((m as { content?: unknown })?.content ?? ""))
      .join("\n");
    return parsed(
      "openai-chat",
      capOf(b.max_tokens ?? b.max_completion_tokens, "max_tokens"),
      prompt,
    );
  }
  if (typeof b.prompt !== "string") {
    return awsErrors.malformedInput("required key [prompt] or [messages] not found");
  }
  if (b.max_tokens !== undefined && b.max_gen_len === undefined) {
    return parsed("openai-completion", capOf(b.max_tokens, "max_tokens"), b.prompt);
  }
  return parsed("bedrock-completion", capOf(b.max_gen_len, "max_gen_len"), b.prompt);
}

function memo<V>(map: Map<string, V>, key: string, make: () => V): V {
  let value = map.get(key);
  if (value === undefined) {
    if (map.size >= MEMO_LIMIT) map.clear();
    value = make();
    map.set(key, value);
  }
  return value;
}

/** The part of an answer that depends only on dialect, cap and prompt size. */
function tail(r: ParsedRequest): string {
  return memo(renderedTails, `${r.dialect}:${r.cap}:${r.inputTokens}`, () => {
    const text = generate(r.cap);
    const usage = {
      prompt_tokens: r.inputTokens,
      completion_tokens: r.cap,
      total_tokens: r.inputTokens + r.cap,
    };
    switch (r.dialect) {
      case "openai-chat":
        return JSON.stringify({
          choices: [
            { index: 0, message: { role: "assistant", content: text }, finish_reason: "length" },
          ],
          usage,
        }).slice(1);
      case "openai-completion":
        return JSON.stringify({
          choices: [{ index: 0, text, finish_reason: "length" }],
          usage,
        }).slice(1);
      case "bedrock-completion":
        return JSON.stringify({
          generation: text,
          prompt_token_count: r.inputTokens,
          generation_token_count: r.cap,
          stop_reason: "length",
        });
    }
  });
}

/**
 * Answers an InvokeModel body in the dialect it was written in (bedrock-facts.md §5). Only
 * the dialect's own cap limits the answer: a parameter of another dialect is ignored, as
 * Bedrock ignores unknown parameters, so a wrong cap shows as a full-length answer.
 */
export function answerInvocation(
  raw: string,
  modelArn: string,
  now: number,
): Answer | AwsErrorShape {
  const r = memo(parsedBodies, raw, () => parseRequest(raw));
  if ("type" in r) return r;
  const answer = { dialect: r.dialect, inputTokens: r.inputTokens, outputTokens: r.cap };
  if (r.dialect === "bedrock-completion") return { ...answer, body: tail(r) };
  const object = r.dialect === "openai-chat" ? "chat.completion" : "text_completion";
  const head = `{"id":"sim-${now.toString(36)}","object":"${object}","created":${Math.floor(now / 1000)},"model":${JSON.stringify(modelArn)},`;
  return { ...answer, body: head + tail(r) };
}

/** One short word per token, so a caller can see how many tokens came back. */
function generate(tokens: number): string {
  return `${"ok ".repeat(tokens - 1)}ok`;
}

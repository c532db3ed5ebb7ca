import { EventStreamCodec } from "@smithy/core/event-streams";
import type { InvokeAnswer } from "./service.js";

const codec = new EventStreamCodec(
  (bytes) => Buffer.from(bytes).toString("utf8"),
  (text) => Buffer.from(text, "utf8"),
);

/** Content type of an `application/vnd.amazon.eventstream` response body. */
export const EVENT_STREAM_CONTENT_TYPE = "application/vnd.amazon.eventstream";

/**
 * One `chunk` event of InvokeModelWithResponseStream: a PayloadPart whose `bytes` (base64
 * in the JSON payload, as restJson1 sends a blob) hold one piece of the model's answer.
 */
export function chunkEvent(part: object): Uint8Array {
  const bytes = Buffer.from(JSON.stringify(part), "utf8").toString("base64");
  return codec.encode({
    headers: {
      ":event-type": { type: "string", value: "chunk" },
      ":content-type": { type: "string", value: "application/json" },
      ":message-type": { type: "string", value: "event" },
    },
    body: Buffer.from(JSON.stringify({ bytes }), "utf8"),
  });
}

/**
 * The answer of InvokeModel cut into the chunks a streaming call gets: one token per
 * chunk in the request's dialect, the last carrying the stop reason and
 * `amazon-bedrock-invocationMetrics`, as Bedrock ends a stream.
 */
export function answerChunks(answer: InvokeAnswer, latencyMs: number): object[] {
  const whole = JSON.parse(answer.body) as Record<string, unknown>;
  const text = answerText(answer, whole);
  const tokens = text.match(/\S+\s*/g) ?? [text];
  const metrics = {
    "amazon-bedrock-invocationMetrics": {
      inputTokenCount: answer.inputTokens,
      outputTokenCount: answer.outputTokens,
      invocationLatency: latencyMs,
      firstByteLatency: latencyMs,
    },
  };
  return tokens.map((token, i) => {
    const last = i === tokens.length - 1;
    switch (answer.dialect) {
      case "bedrock-completion":
        return {
          generation: token,
          prompt_token_count: i === 0 ? answer.inputTokens : null,
          generation_token_count: i + 1,
          stop_reason: last ? whole.stop_reason : null,
          ...(last ? metrics : {}),
        };
      case "openai-chat":
        return {
          id: whole.id,
          object: "chat.completion.chunk",
          created: whole.created,
          model: whole.model,
          choices: [
            {
              index: 0,
              delta: i === 0 ? { role: "assistant", content: token } : { content: token },
              finish_reason: last ? "length" : null,
            },
          ],
          ...(last ? { usage: whole.usage, ...metrics } : {}),
        };
      default:
        return {
          id: whole.id,
          object: "text_completion",
          created: whole.created,
          model: whole.model,
          choices: [{ index: 0, text: token, finish_reason: last ? "length" : null }],
          ...(last ? { usage: whole.usage, ...metrics } : {}),
        };
    }
  });
}

function answerText(answer: InvokeAnswer, whole: Record<string, unknown>): string {
  if (answer.dialect === "bedrock-completion") return String(whole.generation ?? "");
  const [choice] = (whole.choices ?? []) as {
    text?: string;
    message?: { content?: string };
  }[];
  return String((answer.dialect === "openai-chat" ? choice?.message?.content : choice?.text) ?? "");
}

import { type BedrockRuntimeClient, InvokeModelCommand } from "@aws-sdk/client-bedrock-runtime";
import { AwsCallError } from "./errors.js";

export const INVOKE_ACTION = "bedrock:InvokeModel";

export interface PingOptions {
  /** Aborts the request when the daemon shuts down and its grace period is over. */
  readonly signal?: AbortSignal;
}

/**
 * Sends one keep-alive request: the model's configured body, as JSON. Resolves when the
 * model answered; rejects with an AwsCallError whose `kind` says what the failure means.
 * The client must be built with `maxAttempts: 1`: retries are the daemon's.
 */
export async function invokePing(
  runtime: BedrockRuntimeClient,
  modelArn: string,
  body: Readonly<Record<string, unknown>>,
  options: PingOptions = {},
): Promise<void> {
  try {
    await runtime.send(
      new InvokeModelCommand({
        modelId: modelArn,
        body: JSON.stringify(body),
        contentType: "application/json",
        accept: "application/json",
      }),
      options.signal ? { abortSignal: options.signal } : {},
    );
  } catch (error) {
    throw new AwsCallError(INVOKE_ACTION, modelArn, error, {
      invalid: `models[].request (the keep-alive body) or models[].modelArn: Bedrock rejected the request`,
      modelError: "the model failed on the keep-alive body; check models[].request",
    });
  }
}

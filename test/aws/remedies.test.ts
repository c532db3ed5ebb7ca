import { describe, expect, it } from "vitest";
import { AwsCallError } from "../../src/aws/errors.js";

const ARN = "arn:aws:bedrock:us-west-2:123456789012:imported-model/km5b98xhpqel";

/** An error as the SDK throws it: a name, a message, a fault. */
function sdkError(name: string, message: string): Error {
  return Object.assign(new Error(message), { name, $fault: "client" });
}

describe("AwsCallError remedies", () => {
  it.each([
    ["InvokeModel", "ValidationException", "The provided model identifier is invalid."],
    [
      "GetImportedModel",
      "ResourceNotFoundException",
      `The specified imported model ${ARN} was not found.`,
    ],
  ])("asks whether the model still exists when %s answers %s", (operation, name, message) => {
    const error = new AwsCallError(`bedrock:${operation}`, ARN, sdkError(name, message));
    expect(error.modelMissing).toBe(true);
    expect(error.remedy).toMatch(/still exists.*get-imported-model --model-identifier/);
    expect(error.remedy).not.toMatch(/grant|request/);
  });

  it("keeps pointing at the request for another validation error", () => {
    const error = new AwsCallError(
      "bedrock:InvokeModel",
      ARN,
      sdkError("ValidationException", "Malformed input request: max_tokens must be positive"),
    );
    expect(error.modelMissing).toBe(false);
    expect(error.remedy).toMatch(/request/);
  });

  it("says no credentials were found, not which permission to grant, when the chain found none", () => {
    const error = new AwsCallError(
      "cloudwatch:GetMetricData",
      "*",
      sdkError("CredentialsProviderError", "Could not load credentials from any providers"),
    );
    expect(error.remedy).toMatch(/no AWS credentials were found/);
    expect(error.remedy).not.toMatch(/^grant/);
  });
});

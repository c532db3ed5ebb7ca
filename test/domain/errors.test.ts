import { describe, expect, it } from "vitest";
import { AwsCallError, RequestTimeoutError } from "../../src/aws/errors.js";
import { ImportedModelError } from "../../src/aws/importedModel.js";
import { KeepwarmError } from "../../src/domain/errors.js";
import { monthRange, SpendError } from "../../src/domain/spend.js";
import { StateFileError } from "../../src/runtime/state/stateFiles.js";

const MODEL_ARN = "arn:aws:bedrock:us-east-1:111122223333:imported-model/abc123";

function awsError(name: string, message: string): Error {
  const error = new Error(message);
  error.name = name;
  return error;
}

describe("KeepwarmError", () => {
  it("carries its message, cause and subject", () => {
    const cause = new Error("disk full");
    const error = new KeepwarmError("cannot write", { cause, subject: "/var/lib/keepwarm/x" });
    expect(error).toBeInstanceOf(Error);
    expect(error.name).toBe("KeepwarmError");
    expect(error.message).toBe("cannot write");
    expect(error.cause).toBe(cause);
    expect(error.subject).toBe("/var/lib/keepwarm/x");
  });

  it("has no cause and no subject when given none", () => {
    const error = new KeepwarmError("plain");
    expect("cause" in error).toBe(false);
    expect(error.subject).toBeUndefined();
    expect(String(error)).toBe("KeepwarmError: plain");
  });
});

describe("subclasses", () => {
  it("AwsCallError carries its resource as subject and the SDK error as cause", () => {
    const cause = awsError("AccessDeniedException", "not authorized");
    const error = new AwsCallError("bedrock:InvokeModel", MODEL_ARN, cause);
    expect(error).toBeInstanceOf(KeepwarmError);
    expect(error).toBeInstanceOf(Error);
    expect(error.name).toBe("AwsCallError");
    expect(error.message).toBe(
      `bedrock:InvokeModel on ${MODEL_ARN} failed: AccessDeniedException: not authorized`,
    );
    expect(error.subject).toBe(MODEL_ARN);
    expect(error.resource).toBe(MODEL_ARN);
    expect(error.cause).toBe(cause);
    expect(error.kind).toBe("denied");
  });

  it("StateFileError carries its path as subject, and the errno", () => {
    const cause = Object.assign(new Error("no space left on device"), { code: "ENOSPC" });
    const error = new StateFileError("/state/timings.json", "write", cause);
    expect(error).toBeInstanceOf(KeepwarmError);
    expect(error.name).toBe("StateFileError");
    expect(error.message).toBe("cannot write /state/timings.json: ENOSPC: no space left on device");
    expect(error.subject).toBe("/state/timings.json");
    expect(error.path).toBe("/state/timings.json");
    expect(error.code).toBe("ENOSPC");
    expect(error.cause).toBe(cause);
  });

  it("ImportedModelError carries the model's ARN as subject", () => {
    const cause = awsError("ResourceNotFoundException", "no such model");
    const error = new ImportedModelError(MODEL_ARN, "GetImportedModel failed", { cause });
    expect(error).toBeInstanceOf(KeepwarmError);
    expect(error.name).toBe("ImportedModelError");
    expect(error.subject).toBe(MODEL_ARN);
    expect(error.modelArn).toBe(MODEL_ARN);
    expect(error.cause).toBe(cause);
  });

  it("a subclass without a constructor of its own keeps its name", () => {
    let thrown: unknown;
    try {
      monthRange("2026-13-01");
    } catch (error) {
      thrown = error;
    }
    expect(thrown).toBeInstanceOf(SpendError);
    expect(thrown).toBeInstanceOf(KeepwarmError);
    expect((thrown as SpendError).name).toBe("SpendError");
    expect((thrown as SpendError).subject).toBeUndefined();
  });

  it("RequestTimeoutError has no cause: keepwarm abandoned the request itself", () => {
    const error = new RequestTimeoutError(5_000);
    expect(error).toBeInstanceOf(KeepwarmError);
    expect(error.name).toBe("RequestTimeoutError");
    expect(error.timeoutMs).toBe(5_000);
    expect(error.cause).toBeUndefined();
  });
});

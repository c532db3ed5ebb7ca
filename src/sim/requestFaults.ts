import { type AwsErrorShape, awsErrors } from "./errors.js";
import type { FaultSchedule, SimOperation } from "./faults.js";
import { parseImportedModelArn } from "./settings.js";

/**
 * What a scripted request fault makes of a call before it reaches the model: a delay, a
 * dropped connection, or the error AWS would answer. `action` and `resource` word an
 * AccessDenied as IAM does.
 */
export function requestFault(
  faults: FaultSchedule,
  operation: SimOperation,
  modelArn: string | undefined,
  now: number,
  action: string,
  resource: string = modelArn ?? "*",
):
  | { kind: "ok"; delayMs: number }
  | { kind: "error"; error: AwsErrorShape; delayMs: number }
  | { kind: "dropped" } {
  const fault = faults.takeRequestFault(operation, modelArn, now);
  if (!fault) return { kind: "ok", delayMs: 0 };
  switch (fault.kind) {
    case "slow":
      return { kind: "ok", delayMs: fault.delayMs };
    case "dropConnection":
      return { kind: "dropped" };
    case "throttling":
      return { kind: "error", error: awsErrors.throttling(), delayMs: 0 };
    case "serviceUnavailable":
      return { kind: "error", error: awsErrors.serviceUnavailable(), delayMs: 0 };
    case "accessDenied": {
      const account = (modelArn && parseImportedModelArn(modelArn)?.accountId) ?? "123456789012";
      return {
        kind: "error",
        error: awsErrors.accessDenied(action, resource, account),
        delayMs: 0,
      };
    }
    case "expiredToken":
      return { kind: "error", error: awsErrors.expiredToken(), delayMs: 0 };
    case "cloudwatchThrottling":
      return { kind: "error", error: awsErrors.cloudwatchThrottling(), delayMs: 0 };
  }
}

import { awsErrors, SimServiceError } from "./errors.js";
import type { Dimension } from "./metrics.js";

/**
 * Readers of CloudWatch's wire parameters. Each refuses a bad value with the error
 * CloudWatch answers, naming the parameter by its query-protocol path.
 */

const MAX_DIMENSIONS = 30;

// Wire values arrive as epoch seconds (the SDK) or ISO strings (hand-written JSON).
export function parseInstant(v: unknown, field: string): number {
  if (typeof v === "number" && Number.isFinite(v)) return Math.round(v * 1000);
  if (typeof v === "string") {
    const n = Number(v);
    if (v.trim() !== "" && Number.isFinite(n)) return Math.round(n * 1000);
    const t = Date.parse(v);
    if (!Number.isNaN(t)) return t;
  }
  throw new SimServiceError(
    awsErrors.invalidParameterValue(`The parameter ${field} must be a timestamp.`),
  );
}

export function requireString(v: unknown, field: string): string {
  if (typeof v !== "string" || v === "") {
    throw new SimServiceError(awsErrors.missingParameter(`The parameter ${field} is required.`));
  }
  return v;
}

export function requireNumber(v: unknown, field: string): number {
  const n = typeof v === "string" ? Number(v) : v;
  if (typeof n !== "number" || !Number.isFinite(n)) {
    throw new SimServiceError(
      awsErrors.invalidParameterValue(`The parameter ${field} must be a number.`),
    );
  }
  return n;
}

export function parseDimensions(v: unknown, field: string): Dimension[] {
  if (v === undefined || v === null) return [];
  if (!Array.isArray(v)) {
    throw new SimServiceError(awsErrors.invalidParameterValue(`${field} must be a list.`));
  }
  if (v.length > MAX_DIMENSIONS) {
    throw new SimServiceError(
      awsErrors.invalidParameterValue(
        `The collection ${field} must not have a size greater than ${MAX_DIMENSIONS}.`,
      ),
    );
  }
  return v.map((d, i) => ({
    Name: requireString(d?.Name, `${field}.member.${i + 1}.Name`),
    Value: requireString(d?.Value, `${field}.member.${i + 1}.Value`),
  }));
}

/** Refuses a request that lacks `field`, as CloudWatch does. */
export function missing(field: string): never {
  throw new SimServiceError(awsErrors.missingParameter(`The parameter ${field} is required.`));
}

/** A NextToken: the offset of the next item, opaque to the caller. */
export function encodeToken(offset: number): string {
  return Buffer.from(JSON.stringify({ offset }), "utf8").toString("base64url");
}

export function decodeToken(token: unknown): number {
  if (token === undefined || token === null) return 0;
  try {
    const { offset } = JSON.parse(Buffer.from(String(token), "base64url").toString("utf8"));
    if (Number.isInteger(offset) && offset >= 0) return offset;
  } catch (cause) {
    throw new SimServiceError(awsErrors.invalidNextToken(), { cause });
  }
  throw new SimServiceError(awsErrors.invalidNextToken());
}

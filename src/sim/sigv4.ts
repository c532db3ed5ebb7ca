import { type AwsErrorShape, awsErrors, type SigningService } from "./errors.js";

/** What a signed request says about itself: who, for which region and service, and when. */
export interface SigningScope {
  readonly kind: "sigv4";
  readonly accessKeyId: string;
  readonly region: string;
  readonly service: string;
  /** X-Amz-Date (or Date) as epoch ms. */
  readonly signedAt: number;
}

/** A Bedrock API key (`Authorization: Bearer ...`): it names no region. */
export interface BearerAuth {
  readonly kind: "bearer";
}

export type RequestAuth = SigningScope | BearerAuth;

export interface SignedRequest {
  header(name: string): string | undefined;
  readonly query: URLSearchParams;
}

export interface ScopeRules {
  readonly service: SigningService;
  /** bedrock-runtime also takes Bedrock API keys; CloudWatch does not. */
  readonly allowBearer: boolean;
}

const MINUTE = 60_000;

/**
 * How far X-Amz-Date may be from the server's clock. Bedrock's message says 5 min (seen in
 * "Signature expired: ... (... - 5 min.)"); the query-era services, CloudWatch among them, 15,
 * and Cost Explorer is taken to allow as much.
 */
export const SIGNATURE_TOLERANCE_MS: Readonly<Record<SigningService, number>> = {
  bedrock: 5 * MINUTE,
  monitoring: 15 * MINUTE,
  ce: 15 * MINUTE,
};

const ALGORITHM = "AWS4-HMAC-SHA256";
const TERMINATOR = "aws4_request";
const AMZ_DATE = /^(\d{4})(\d{2})(\d{2})T(\d{2})(\d{2})(\d{2})Z$/;
const SCOPE_DATE = /^\d{8}$/;
// Commercial, China, GovCloud and ISO partitions: us-east-1, cn-north-1, us-gov-west-1, us-isob-east-1.
const REGION = /^[a-z]{2}(-gov|-iso[a-z]?)?-(north|south|east|west|central)(east|west)?-\d{1,2}$/;

/**
 * Reads the SigV4 credential scope and date of a request and checks them as AWS does
 * before it looks at the HMAC (which the simulator does not verify): a well-formed
 * Authorization header or presigned query, the service, a real region, and a date within
 * the tolerance of `now`. `now` is the host's wall clock, the clock the SDK signs with.
 */
export function checkRequestAuth(
  req: SignedRequest,
  rules: ScopeRules,
  now: number,
): RequestAuth | AwsErrorShape {
  const authorization = req.header("authorization");
  const service = rules.service;
  if (authorization === undefined) {
    if (!req.query.has("X-Amz-Signature")) return awsErrors.missingAuthentication();
    return checkPresigned(req.query, rules, now);
  }
  if (rules.allowBearer && /^Bearer\s+\S+/.test(authorization)) return { kind: "bearer" };

  const space = authorization.indexOf(" ");
  const algorithm = space < 0 ? authorization : authorization.slice(0, space);
  const params = parseAuthorizationParams(space < 0 ? "" : authorization.slice(space + 1));
  const missing = ["Credential", "Signature", "SignedHeaders"]
    .filter((p) => params.get(p) === undefined)
    .map((p) => `Authorization header requires '${p}' parameter.`);
  const amzDate = req.header("x-amz-date") ?? req.header("date");
  if (amzDate === undefined) {
    missing.push(
      "Authorization header requires existence of either a 'X-Amz-Date' or a 'Date' header.",
    );
  }
  if (missing.length > 0 || algorithm !== ALGORITHM) {
    const reasons = missing.length > 0 ? missing : [`Unsupported AWS 'algorithm': '${algorithm}'.`];
    return awsErrors.incompleteSignature(
      `${reasons.join(" ")} Authorization=${authorization}`,
      service,
    );
  }
  return checkScope(params.get("Credential") as string, amzDate as string, rules, now, undefined);
}

function checkPresigned(
  query: URLSearchParams,
  rules: ScopeRules,
  now: number,
): RequestAuth | AwsErrorShape {
  const missing = ["X-Amz-Algorithm", "X-Amz-Credential", "X-Amz-Date", "X-Amz-SignedHeaders"]
    .filter((p) => !query.has(p))
    .map((p) => `AWS query-string parameters must include '${p}'.`);
  if (missing.length > 0) {
    return awsErrors.incompleteSignature(
      `${missing.join(" ")} Re-examine the query-string parameters.`,
      rules.service,
    );
  }
  const expires = Number(query.get("X-Amz-Expires") ?? "900");
  return checkScope(
    query.get("X-Amz-Credential") as string,
    query.get("X-Amz-Date") as string,
    rules,
    now,
    Number.isFinite(expires) ? expires * 1000 : undefined,
  );
}

function checkScope(
  credential: string,
  dateValue: string,
  rules: ScopeRules,
  now: number,
  presignedForMs: number | undefined,
): SigningScope | AwsErrorShape {
  const service = rules.service;
  const parts = credential.split("/");
  if (parts.length !== 5 || parts.some((p) => p === "")) {
    return awsErrors.incompleteSignature(
      `Credential must have exactly 5 slash-delimited elements, e.g. keyid/date/region/service/term, got '${credential}'`,
      service,
    );
  }
  const [accessKeyId, scopeDate, region, scopeService, terminator] = parts as [
    string,
    string,
    string,
    string,
    string,
  ];
  const signedAt = parseSigningDate(dateValue);
  if (signedAt === undefined) {
    return awsErrors.incompleteSignature(
      `Date must be in ISO-8601 'basic format'. Got '${dateValue}'. See http://en.wikipedia.org/wiki/ISO_8601`,
      service,
    );
  }
  // Formatted once, not per message: this runs on every request.
  const basic = AMZ_DATE.test(dateValue) ? dateValue : basicFormat(signedAt);
  if (!SCOPE_DATE.test(scopeDate) || scopeDate !== basic.slice(0, 8)) {
    return awsErrors.invalidSignature(
      `Date in Credential scope does not match YYYYMMDD from ISO-8601 version of date from HTTP: '${scopeDate}' != '${basic.slice(0, 8)}', from '${basic}'.`,
    );
  }
  if (terminator !== TERMINATOR) {
    return awsErrors.invalidSignature(
      `Credential should be scoped with a valid terminator: '${TERMINATOR}', not '${terminator}'. `,
    );
  }
  if (scopeService !== service) {
    return awsErrors.invalidSignature(
      `Credential should be scoped to correct service: '${service}'. `,
    );
  }
  if (!REGION.test(region)) {
    return awsErrors.invalidSignature(
      `Credential should be scoped to a valid region, not '${region}'. `,
    );
  }
  const tolerance = SIGNATURE_TOLERANCE_MS[service];
  const minutes = tolerance / MINUTE;
  const latest = presignedForMs === undefined ? signedAt + tolerance : signedAt + presignedForMs;
  if (now > latest) {
    return awsErrors.invalidSignature(
      presignedForMs === undefined
        ? `Signature expired: ${basic} is now earlier than ${basicFormat(now - tolerance)} (${basicFormat(now)} - ${minutes} min.)`
        : `Signature expired: ${basic} is now earlier than ${basicFormat(now - presignedForMs)} (${basicFormat(now)} - ${presignedForMs / 1000} sec.)`,
    );
  }
  if (signedAt > now + tolerance) {
    return awsErrors.invalidSignature(
      `Signature not yet current: ${basic} is still later than ${basicFormat(now + tolerance)} (${basicFormat(now)} + ${minutes} min.)`,
    );
  }
  return { kind: "sigv4", accessKeyId, region, service: scopeService, signedAt };
}

/** `Credential=a/b/c/d/e, SignedHeaders=host;x-amz-date, Signature=hex` into a map. */
function parseAuthorizationParams(text: string): Map<string, string> {
  const params = new Map<string, string>();
  for (const item of text.split(",")) {
    const eq = item.indexOf("=");
    if (eq < 0) continue;
    const value = item.slice(eq + 1).trim();
    if (value !== "") params.set(item.slice(0, eq).trim(), value);
  }
  return params;
}

/** X-Amz-Date (`20261201T090000Z`) or an RFC 7231 `Date` header, as epoch ms. */
function parseSigningDate(v: string): number | undefined {
  const m = AMZ_DATE.exec(v);
  if (m) {
    const [, y, mo, d, h, mi, s] = m.map(Number) as [
      number,
      number,
      number,
      number,
      number,
      number,
      number,
    ];
    const t = Date.UTC(y, mo - 1, d, h, mi, s);
    const at = new Date(t);
    // Date.UTC rolls 20261232 over into January: such a date is not a date.
    const real =
      at.getUTCDate() === d && at.getUTCMonth() === mo - 1 && h < 24 && mi < 60 && s < 60;
    return real ? t : undefined;
  }
  if (!/GMT$/.test(v)) return undefined;
  const t = Date.parse(v);
  return Number.isNaN(t) ? undefined : t;
}

function basicFormat(t: number): string {
  return `${new Date(t).toISOString().slice(0, 19).replace(/[-:]/g, "")}Z`;
}

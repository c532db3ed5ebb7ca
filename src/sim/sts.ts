import { createHash, randomUUID } from "node:crypto";
import type { NodeResponse } from "./protocols.js";
import type { SimService } from "./service.js";
import { parseImportedModelArn } from "./settings.js";

/**
 * STS GetCallerIdentity, the one STS call keepwarm makes (to say at start whose account a
 * live run pings). STS speaks awsQuery: a form-encoded POST to `/` with
 * `Action=GetCallerIdentity&Version=2011-06-15`, answered in XML. Both the JS SDK v3
 * (`@aws-sdk/client-sts`) and botocore send it that way.
 */

const STS_VERSION = "2011-06-15";
const NAMESPACE = `https://sts.amazonaws.com/doc/${STS_VERSION}/`;
/** The account of the simulator's caller when it serves no model: AWS's documentation example. */
export const SIMULATED_ACCOUNT = "123456789012";
/** The simulator's caller, an IAM user of that account. */
export const SIMULATED_USER = "keepwarm-simulator";
/** How far X-Amz-Date may be from the host's clock, as for the other query-era services. */
const TOLERANCE_MS = 15 * 60_000;

export interface StsRequest {
  readonly path: string;
  readonly query: URLSearchParams;
  readonly body: Buffer;
  header(name: string): string | undefined;
}

/**
 * Answers `request` when it is an STS call and returns true; false leaves it to the other
 * services (CloudWatch's own awsQuery calls say `Version=2010-08-01`). `now` is the host's
 * wall clock, the one the SDK signs with.
 */
export function answerSts(
  sim: SimService,
  request: StsRequest,
  res: NodeResponse,
  now: number,
): boolean {
  const params = stsParams(request);
  if (params === undefined) return false;
  const refused = checkAuth(request, now);
  if (refused) {
    sendError(res, refused.status, refused.code, refused.message);
    return true;
  }
  const action = params.get("Action");
  if (action !== "GetCallerIdentity") {
    sendError(
      res,
      400,
      "InvalidAction",
      `Could not find operation ${action} for version ${STS_VERSION}`,
    );
    return true;
  }
  const accessKeyId = credentialOf(request)?.[0] ?? "";
  const account = accountOf(sim);
  const requestId = randomUUID();
  const xml = [
    `<GetCallerIdentityResponse xmlns="${NAMESPACE}">`,
    "<GetCallerIdentityResult>",
    `<Arn>arn:aws:iam::${account}:user/${SIMULATED_USER}</Arn>`,
    `<UserId>${userIdOf(accessKeyId)}</UserId>`,
    `<Account>${account}</Account>`,
    "</GetCallerIdentityResult>",
    `<ResponseMetadata><RequestId>${requestId}</RequestId></ResponseMetadata>`,
    "</GetCallerIdentityResponse>",
  ].join("");
  res.writeHead(200, { "content-type": "text/xml", "x-amzn-requestid": requestId });
  res.end(xml);
  return true;
}

/** The query parameters of an STS request (the form body, else the URL's); undefined for any other. */
function stsParams(request: StsRequest): URLSearchParams | undefined {
  if (request.path !== "/" || request.header("x-amz-target") !== undefined) return undefined;
  const form = (request.header("content-type") ?? "").startsWith(
    "application/x-www-form-urlencoded",
  );
  const params = form ? new URLSearchParams(request.body.toString("utf8")) : request.query;
  if (!params.has("Action")) return undefined;
  const scopedToSts = credentialOf(request)?.[3] === "sts";
  return params.get("Version") === STS_VERSION || scopedToSts ? params : undefined;
}

/** `Credential=KEY/DATE/REGION/SERVICE/aws4_request` of the Authorization header or the presigned query. */
function credentialOf(request: StsRequest): string[] | undefined {
  const authorization = request.header("authorization");
  const credential =
    authorization === undefined
      ? (request.query.get("X-Amz-Credential") ?? undefined)
      : /Credential=([^,\s]+)/.exec(authorization)?.[1];
  return credential?.split("/");
}

interface Refusal {
  readonly status: number;
  readonly code: string;
  readonly message: string;
}

/** The checks STS makes before the signature itself, which the simulator does not verify. */
function checkAuth(request: StsRequest, now: number): Refusal | undefined {
  const credential = credentialOf(request);
  if (credential === undefined) {
    return {
      status: 403,
      code: "MissingAuthenticationToken",
      message: "Request is missing Authentication Token",
    };
  }
  if (credential.length !== 5 || credential[3] !== "sts" || credential[4] !== "aws4_request") {
    return {
      status: 403,
      code: "SignatureDoesNotMatch",
      message: "Credential should be scoped to correct service: 'sts'. ",
    };
  }
  const date = request.header("x-amz-date") ?? request.query.get("X-Amz-Date") ?? "";
  const m = /^(\d{4})(\d{2})(\d{2})T(\d{2})(\d{2})(\d{2})Z$/.exec(date);
  const signedAt = m
    ? Date.UTC(
        +(m[1] as string),
        +(m[2] as string) - 1,
        +(m[3] as string),
        +(m[4] as string),
        +(m[5] as string),
        +(m[6] as string),
      )
    : Number.NaN;
  if (!(Math.abs(now - signedAt) <= TOLERANCE_MS)) {
    return {
      status: 403,
      code: "SignatureDoesNotMatch",
      message: `Signature expired or not yet current: X-Amz-Date '${date}' is more than 15 min from the server's clock`,
    };
  }
  return undefined;
}

/** The account of the models served (the first one's), else SIMULATED_ACCOUNT. */
function accountOf(sim: SimService): string {
  for (const m of sim.models()) {
    const account = parseImportedModelArn(m.modelArn)?.accountId;
    if (account !== undefined) return account;
  }
  return SIMULATED_ACCOUNT;
}

/** An IAM user's unique id (`AIDA` and 17 characters), the same for the same access key. */
function userIdOf(accessKeyId: string): string {
  const digest = createHash("sha256").update(accessKeyId).digest("hex").toUpperCase();
  return `AIDA${digest
    .replace(/[^A-Z2-7]/g, "")
    .padEnd(17, "X")
    .slice(0, 17)}`;
}

function sendError(res: NodeResponse, status: number, code: string, message: string): void {
  const requestId = randomUUID();
  const xml = [
    `<ErrorResponse xmlns="${NAMESPACE}">`,
    `<Error><Type>Sender</Type><Code>${escapeXml(code)}</Code>`,
    `<Message>${escapeXml(message)}</Message></Error>`,
    `<RequestId>${requestId}</RequestId></ErrorResponse>`,
  ].join("");
  res.writeHead(status, { "content-type": "text/xml", "x-amzn-requestid": requestId });
  res.end(xml);
}

function escapeXml(text: string): string {
  return text.replace(/[<>&"']/g, (c) => `&#${c.charCodeAt(0)};`);
}

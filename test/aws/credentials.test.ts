import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import http from "node:http";
import type { AddressInfo } from "node:net";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { Writable } from "node:stream";
import { GetImportedModelCommand } from "@aws-sdk/client-bedrock";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { RegionClientPool } from "../../src/aws/clients.js";
import {
  AUTH_REFRESH_INTERVAL_MS,
  CredentialSource,
  credentialKindOf,
  describeCredentials,
  UNRESOLVED,
} from "../../src/aws/credentials.js";
import { createLogger, type Logger } from "../../src/runtime/infra/logger.js";
import { ManualClock } from "../../src/sim/clock.js";
import type { SimServer } from "../../src/sim/server.js";
import { Simulator } from "../../src/sim/simulator.js";
import { ARN, modelCopyQuery, T0 } from "../sim/harness.js";

const KEY_A = "AKIAKEEPWARMTESTAAAA";
const KEY_B = "AKIAKEEPWARMTESTBBBB";
const KEY_C = "AKIAKEEPWARMTESTCCCC";
const SECRET: Readonly<Record<string, string>> = {
  [KEY_A]: "secret-of-key-a",
  [KEY_B]: "secret-of-key-b",
  [KEY_C]: "secret-c",
};

/** Every variable the SDK's default chain reads: cleared, so that only the test's files count. */
const AWS_ENV = [
  "AWS_SHARED_CREDENTIALS_FILE",
  "AWS_CONFIG_FILE",
  "AWS_ACCESS_KEY_ID",
  "AWS_SECRET_ACCESS_KEY",
  "AWS_SESSION_TOKEN",
  "AWS_CREDENTIAL_EXPIRATION",
  "AWS_PROFILE",
  "AWS_WEB_IDENTITY_TOKEN_FILE",
  "AWS_ROLE_ARN",
  "AWS_ROLE_SESSION_NAME",
  "AWS_CONTAINER_CREDENTIALS_FULL_URI",
  "AWS_CONTAINER_CREDENTIALS_RELATIVE_URI",
  "AWS_CONTAINER_AUTHORIZATION_TOKEN",
  "AWS_CONTAINER_AUTHORIZATION_TOKEN_FILE",
  "AWS_EC2_METADATA_DISABLED",
  "AWS_EC2_METADATA_SERVICE_ENDPOINT",
  "AWS_BEARER_TOKEN_BEDROCK",
];

interface AwsFiles {
  readonly dir: string;
  readonly credentials: string;
  readonly config: string;
  /** Rewrites the shared credentials file: the default profile with `key`. */
  rotate(key: string): void;
  restore(): void;
}

/** A temp dir with a shared credentials file (the default profile with `key`) and an empty config. */
function awsFiles(key: string): AwsFiles {
  const saved = new Map(AWS_ENV.map((k) => [k, process.env[k]]));
  for (const k of AWS_ENV) delete process.env[k];
  const dir = mkdtempSync(join(tmpdir(), "keepwarm-credentials-"));
  const credentials = join(dir, "credentials");
  const config = join(dir, "config");
  writeFileSync(config, "");
  process.env.AWS_SHARED_CREDENTIALS_FILE = credentials;
  process.env.AWS_CONFIG_FILE = config;
  // No probe of 169.254.169.254 from a test.
  process.env.AWS_EC2_METADATA_DISABLED = "true";
  const rotate = (k: string) =>
    writeFileSync(
      credentials,
      `[default]\naws_access_key_id = ${k}\naws_secret_access_key = ${SECRET[k] ?? "s"}\n`,
    );
  rotate(key);
  return {
    dir,
    credentials,
    config,
    rotate,
    restore() {
      for (const [k, v] of saved) {
        if (v === undefined) delete process.env[k];
        else process.env[k] = v;
      }
      rmSync(dir, { recursive: true, force: true });
    },
  };
}

/**
 * A proxy in front of the simulator that reads the access key id each request was signed
 * with (`Credential=AKID/...` of its Authorization header) and refuses revoked keys as
 * Bedrock does a deleted key: 403 UnrecognizedClientException. Bedrock's REST-JSON calls
 * only (CloudWatch answers in another protocol).
 */
interface KeyGate {
  readonly url: string;
  /** The access key id of every request, in order. */
  readonly seen: string[];
  readonly revoked: Set<string>;
  close(): Promise<void>;
}

async function keyGate(target: string): Promise<KeyGate> {
  const seen: string[] = [];
  const revoked = new Set<string>();
  const agent = new http.Agent({ keepAlive: true });
  const server = http.createServer((req, res) => {
    const key = /Credential=([^/,\s]+)\//.exec(req.headers.authorization ?? "")?.[1] ?? "";
    seen.push(key);
    if (revoked.has(key)) {
      req.resume();
      res.writeHead(403, {
        "content-type": "application/json",
        "x-amzn-errortype": "UnrecognizedClientException",
        "x-amzn-requestid": "key-gate",
      });
      res.end(
        JSON.stringify({ message: "The security token included in the request is invalid." }),
      );
      return;
    }
    const upstream = http.request(
      new URL(req.url ?? "/", target),
      { method: req.method, headers: req.headers, agent },
      (answer) => {
        res.writeHead(answer.statusCode ?? 502, answer.headers);
        answer.pipe(res);
      },
    );
    upstream.on("error", (error) => res.destroy(error));
    req.pipe(upstream);
  });
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  const port = (server.address() as AddressInfo).port;
  return {
    url: `http://127.0.0.1:${port}`,
    seen,
    revoked,
    close: () =>
      new Promise<void>((resolve) => {
        agent.destroy();
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}

function capture(): { logger: Logger; lines: Record<string, unknown>[] } {
  const lines: Record<string, unknown>[] = [];
  const logger = createLogger({
    level: "debug",
    destination: new Writable({
      write(chunk, _enc, done) {
        lines.push(JSON.parse(String(chunk)));
        done();
      },
    }),
  });
  return { logger, lines };
}

const credentialLines = (lines: Record<string, unknown>[]) =>
  lines.filter((l) => l.event === "credentials" || l.event === "credentials-refresh");

describe("RegionClientPool credentials from a shared credentials file, over the wire", () => {
  let files: AwsFiles;
  let server: SimServer;
  let sim: Simulator;
  let gate: KeyGate;
  let pool: RegionClientPool | undefined;
  let log: ReturnType<typeof capture>;

  beforeEach(async () => {
    files = awsFiles(KEY_A);
    sim = new Simulator({
      clock: new ManualClock(T0),
      models: [{ modelArn: ARN, customModelUnits: 4 }],
    });
    server = await sim.listen({ port: 0 });
    gate = await keyGate(server.url);
    log = capture();
  });

  afterEach(async () => {
    pool?.destroy();
    pool = undefined;
    await gate.close();
    await server.close();
    files.restore();
  });

  function poolOf(source?: CredentialSource): RegionClientPool {
    pool = new RegionClientPool({
      endpoint: gate.url,
      logger: log.logger,
      retryBackoffMs: 0,
      ...(source ? { credentialSource: source } : {}),
    });
    return pool;
  }

  const getModel = (p: RegionClientPool) =>
    p.get("us-east-1").bedrock.send(new GetImportedModelCommand({ modelIdentifier: ARN }));
  const readMetrics = (p: RegionClientPool) =>
    p.get("us-west-2").cloudwatch.send(modelCopyQuery(T0 - 600_000, T0, 60, "Maximum"));

  it("keeps the key it read until refreshCredentials(), then signs every client with the rewritten one", async () => {
    const clients = poolOf();
    expect(clients.credentials.describe()).toBe(UNRESOLVED);
    await getModel(clients);
    expect(gate.seen).toEqual([KEY_A]);
    expect(clients.credentials.describe()).toBe(
      `shared credentials file ${files.credentials} profile default`,
    );
    expect(clients.credentials.keyIdSuffix()).toBe("AAAA");

    files.rotate(KEY_B);
    await getModel(clients);
    // Static keys never expire: without a refresh the SDK signs with what it read first.
    expect(gate.seen.at(-1)).toBe(KEY_A);

    clients.refreshCredentials("SIGHUP");
    gate.revoked.add(KEY_A);
    await getModel(clients);
    await readMetrics(clients);
    expect(gate.seen.slice(2)).toEqual([KEY_B, KEY_B]);
    expect(clients.credentials.keyIdSuffix()).toBe("BBBB");

    expect(credentialLines(log.lines)).toMatchObject([
      {
        event: "credentials",
        level: "info",
        reason: "start",
        source: `shared credentials file ${files.credentials} profile default`,
        keyIdSuffix: "AAAA",
        changed: true,
      },
      { event: "credentials-refresh", level: "info", reason: "SIGHUP", keyIdSuffix: "AAAA" },
      { event: "credentials", level: "info", reason: "SIGHUP", keyIdSuffix: "BBBB", changed: true },
    ]);
    const text = JSON.stringify(log.lines);
    for (const secret of [KEY_A, KEY_B, SECRET[KEY_A], SECRET[KEY_B]]) {
      expect(text).not.toContain(secret);
    }
  });

  it("reads the file again after a call refused for its key, so the next call signs with the new key", async () => {
    const clients = poolOf();
    await getModel(clients);
    files.rotate(KEY_B);
    gate.revoked.add(KEY_A);

    await expect(getModel(clients)).rejects.toMatchObject({ name: "UnrecognizedClientException" });
    await getModel(clients);
    expect(gate.seen).toEqual([KEY_A, KEY_A, KEY_B]);
    expect(credentialLines(log.lines)).toMatchObject([
      { event: "credentials", reason: "start", keyIdSuffix: "AAAA" },
      {
        event: "credentials-refresh",
        level: "warn",
        reason: "auth-error",
        errorName: "UnrecognizedClientException",
        keyIdSuffix: "AAAA",
      },
      { event: "credentials", level: "info", reason: "auth-error", keyIdSuffix: "BBBB" },
    ]);
  });

  it("makes the next call re-resolve after an ExpiredToken answer, whichever client got it", async () => {
    const clients = poolOf();
    await getModel(clients);
    files.rotate(KEY_B);
    sim.faults.add({ kind: "expiredToken", operations: ["GetMetricData"], times: 1 });

    await expect(readMetrics(clients)).rejects.toMatchObject({
      name: expect.stringMatching(/^ExpiredToken/),
    });
    await getModel(clients);
    await readMetrics(clients);
    expect(gate.seen).toEqual([KEY_A, KEY_A, KEY_B, KEY_B]);
    expect(credentialLines(log.lines).map((l) => [l.event, l.reason])).toEqual([
      ["credentials", "start"],
      ["credentials-refresh", "auth-error"],
      ["credentials", "auth-error"],
    ]);
  });

  it("reads once for calls refused together, and at most once a minute while the key stays refused", async () => {
    let now = 0;
    const clients = poolOf(CredentialSource.defaultChain({ logger: log.logger, now: () => now }));
    await getModel(clients);
    gate.revoked.add(KEY_A);
    gate.revoked.add(KEY_B);
    files.rotate(KEY_B);

    const together = await Promise.allSettled([getModel(clients), getModel(clients)]);
    expect(together.map((r) => r.status)).toEqual(["rejected", "rejected"]);
    // Read again once: the next call signs with B, which is refused as well.
    await expect(getModel(clients)).rejects.toMatchObject({ name: "UnrecognizedClientException" });
    files.rotate(KEY_C);
    now += AUTH_REFRESH_INTERVAL_MS - 1;
    // Within the minute: no other read, B again.
    await expect(getModel(clients)).rejects.toMatchObject({ name: "UnrecognizedClientException" });
    expect(gate.seen).toEqual([KEY_A, KEY_A, KEY_A, KEY_B, KEY_B]);

    now += 1;
    await expect(getModel(clients)).rejects.toMatchObject({ name: "UnrecognizedClientException" });
    await getModel(clients);
    expect(gate.seen.slice(5)).toEqual([KEY_B, KEY_C]);
    expect(
      credentialLines(log.lines).map((l) => [l.event, l.level, l.keyIdSuffix, l.changed]),
    ).toEqual([
      ["credentials", "info", "AAAA", true],
      ["credentials-refresh", "warn", "AAAA", undefined],
      ["credentials", "info", "BBBB", true],
      ["credentials-refresh", "warn", "BBBB", undefined],
      ["credentials", "info", "CCCC", true],
    ]);
  });

  it("warns when a read after an auth error finds the same key", async () => {
    const clients = poolOf();
    await getModel(clients);
    gate.revoked.add(KEY_A);
    await expect(getModel(clients)).rejects.toMatchObject({ name: "UnrecognizedClientException" });
    await expect(getModel(clients)).rejects.toMatchObject({ name: "UnrecognizedClientException" });
    expect(credentialLines(log.lines).at(-1)).toMatchObject({
      event: "credentials",
      level: "warn",
      reason: "auth-error",
      keyIdSuffix: "AAAA",
      changed: false,
    });
  });

  it("does not read again for an error that is not about the credentials", async () => {
    const clients = poolOf();
    await getModel(clients);
    files.rotate(KEY_B);
    sim.faults.add({ kind: "accessDenied", operations: ["GetImportedModel"], times: 1 });
    await expect(getModel(clients)).rejects.toMatchObject({ name: "AccessDeniedException" });
    await getModel(clients);
    expect(gate.seen).toEqual([KEY_A, KEY_A, KEY_A]);
  });
});

describe("CredentialSource.describe()", () => {
  let files: AwsFiles;
  const servers: http.Server[] = [];

  beforeEach(() => {
    files = awsFiles(KEY_A);
  });

  afterEach(async () => {
    for (const s of servers.splice(0)) {
      s.closeAllConnections();
      await new Promise((resolve) => s.close(resolve));
    }
    files.restore();
  });

  async function serve(handler: http.RequestListener): Promise<string> {
    const server = http.createServer(handler);
    servers.push(server);
    await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
    return `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  }

  const expiration = () => new Date(Date.now() + 3_600_000).toISOString();

  async function resolved(source: CredentialSource): Promise<string> {
    await source.provider({});
    return source.describe();
  }

  it("given credentials: given, before and after a call", async () => {
    const source = CredentialSource.given({ accessKeyId: KEY_B, secretAccessKey: "s" });
    expect(source.describe()).toBe("given");
    expect(await resolved(source)).toBe("given");
  });

  it("the default chain before its first call: not resolved yet", () => {
    expect(CredentialSource.defaultChain().describe()).toBe(UNRESOLVED);
  });

  it("environment", async () => {
    process.env.AWS_ACCESS_KEY_ID = KEY_B;
    process.env.AWS_SECRET_ACCESS_KEY = "s";
    expect(await resolved(CredentialSource.defaultChain())).toBe("environment");
  });

  it("shared credentials file, with its path and profile", async () => {
    writeFileSync(
      files.credentials,
      `[ops]\naws_access_key_id = ${KEY_B}\naws_secret_access_key = s\n`,
    );
    process.env.AWS_PROFILE = "ops";
    expect(await resolved(CredentialSource.defaultChain())).toBe(
      `shared credentials file ${files.credentials} profile ops`,
    );
  });

  it("shared config file, when the profile's keys are there", async () => {
    writeFileSync(files.credentials, "");
    writeFileSync(
      files.config,
      `[profile cfg]\naws_access_key_id = ${KEY_B}\naws_secret_access_key = s\n`,
    );
    process.env.AWS_PROFILE = "cfg";
    expect(await resolved(CredentialSource.defaultChain())).toBe(
      `shared config file ${files.config} profile cfg`,
    );
  });

  it("credential process", async () => {
    writeFileSync(files.credentials, "");
    const out = JSON.stringify({ Version: 1, AccessKeyId: KEY_B, SecretAccessKey: "s" });
    const script = join(files.dir, "creds.cjs");
    writeFileSync(script, `process.stdout.write(${JSON.stringify(out)});\n`);
    writeFileSync(
      files.config,
      `[default]\ncredential_process = "${process.execPath}" "${script}"\n`,
    );
    expect(await resolved(CredentialSource.defaultChain())).toBe(
      "credential process, profile default",
    );
  });

  it("container, from the container credentials endpoint", async () => {
    writeFileSync(files.credentials, "");
    const url = await serve((_req, res) => {
      res.writeHead(200, { "content-type": "application/json" });
      res.end(
        JSON.stringify({
          AccessKeyId: KEY_B,
          SecretAccessKey: "s",
          Token: "t",
          Expiration: expiration(),
        }),
      );
    });
    process.env.AWS_CONTAINER_CREDENTIALS_FULL_URI = `${url}/v2/credentials`;
    expect(await resolved(CredentialSource.defaultChain())).toBe("container");
  });

  it("instance metadata, from IMDSv2", async () => {
    writeFileSync(files.credentials, "");
    const url = await serve((req, res) => {
      const path = req.url ?? "";
      if (req.method === "PUT" && path === "/latest/api/token") return void res.end("imds-token");
      if (req.headers["x-aws-ec2-metadata-token"] !== "imds-token") {
        res.writeHead(401);
        return void res.end();
      }
      if (path === "/latest/meta-data/iam/security-credentials/") return void res.end("keepwarm");
      if (path === "/latest/meta-data/iam/security-credentials/keepwarm") {
        return void res.end(
          JSON.stringify({
            Code: "Success",
            Type: "AWS-HMAC",
            AccessKeyId: KEY_B,
            SecretAccessKey: "s",
            Token: "t",
            Expiration: expiration(),
          }),
        );
      }
      res.writeHead(404);
      res.end();
    });
    delete process.env.AWS_EC2_METADATA_DISABLED;
    process.env.AWS_EC2_METADATA_SERVICE_ENDPOINT = url;
    expect(await resolved(CredentialSource.defaultChain())).toBe("instance metadata");
  });

  it("web identity, SSO, an assumed role: from the features the SDK marks credentials with", async () => {
    const marked = (feature: string) => ({
      accessKeyId: KEY_B,
      secretAccessKey: "s",
      $source: { [feature]: "x" },
    });
    const env = { AWS_PROFILE: "prod" };
    const cases: [string, string][] = [
      ["CREDENTIALS_ENV_VARS_STS_WEB_ID_TOKEN", "web identity"],
      ["CREDENTIALS_PROFILE_STS_WEB_ID_TOKEN", "web identity, profile prod"],
      ["CREDENTIALS_PROFILE_SSO", "SSO, profile prod"],
      ["CREDENTIALS_PROFILE_SOURCE_PROFILE", "assumed role, profile prod"],
      ["CREDENTIALS_PROFILE_PROCESS", "credential process, profile prod"],
      ["CREDENTIALS_ENV_VARS", "environment"],
      ["CREDENTIALS_HTTP", "container"],
    ];
    for (const [feature, description] of cases) {
      expect(await describeCredentials(marked(feature), env)).toBe(description);
    }
    // A role assumed with a web identity token carries both marks: it is web identity.
    const both = {
      ...marked("CREDENTIALS_STS_ASSUME_ROLE_WEB_ID"),
      $source: { CREDENTIALS_STS_ASSUME_ROLE_WEB_ID: "k", CREDENTIALS_STS_ASSUME_ROLE: "i" },
    };
    expect(credentialKindOf(both, env)).toBe("web-identity");
    // Unmarked credentials come from the container endpoint's fallback or instance metadata.
    const plain = { accessKeyId: KEY_B, secretAccessKey: "s" };
    expect(credentialKindOf(plain, {})).toBe("instance-metadata");
    expect(credentialKindOf(plain, { AWS_CONTAINER_CREDENTIALS_RELATIVE_URI: "/v2/c" })).toBe(
      "container",
    );
  });
});

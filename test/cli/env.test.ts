import { describe, expect, it } from "vitest";
import {
  parseInteger,
  parsePort,
  parseSimulateMode,
  readEnv,
  UsageError,
} from "../../src/cli/env.js";

describe("readEnv", () => {
  it("reads keepwarm's variables once into a frozen object", () => {
    const env = readEnv({
      KEEPWARM_CONFIG: "/etc/keepwarm.yaml",
      KEEPWARM_HTTP_HOST: "0.0.0.0",
      KEEPWARM_HTTP_PORT: "9999",
      KEEPWARM_SIMULATE: "auto",
      STATE_DIRECTORY: "/var/lib/keepwarm:/var/lib/other",
      AWS_ENDPOINT_URL: "http://127.0.0.1:4599",
    });
    expect(env).toEqual({
      config: "/etc/keepwarm.yaml",
      stateDir: "/var/lib/keepwarm",
      httpHost: "0.0.0.0",
      httpPort: "9999",
      simulate: "auto",
      logLevel: undefined,
      awsEndpoint: "http://127.0.0.1:4599",
    });
    expect(Object.isFrozen(env)).toBe(true);
  });

  it("prefers KEEPWARM_STATE_DIR to systemd's STATE_DIRECTORY and ignores empty values", () => {
    expect(
      readEnv({ KEEPWARM_STATE_DIR: "/srv/kw", STATE_DIRECTORY: "/var/lib/keepwarm" }).stateDir,
    ).toBe("/srv/kw");
    expect(readEnv({ KEEPWARM_STATE_DIR: " ", KEEPWARM_CONFIG: "" })).toMatchObject({
      stateDir: undefined,
      config: undefined,
    });
  });
});

describe("parseSimulateMode", () => {
  it.each([
    [undefined, "off"],
    [true, "on"],
    ["on", "on"],
    ["OFF", "off"],
    ["auto", "auto"],
    ["1", "on"],
  ] as const)("%s -> %s", (value, mode) => {
    expect(parseSimulateMode(value, "--simulate")).toBe(mode);
  });

  it("names what is allowed", () => {
    expect(() => parseSimulateMode("maybe", "KEEPWARM_SIMULATE")).toThrow(
      new UsageError('KEEPWARM_SIMULATE: "maybe" is not a simulate mode; allowed: on, off, auto'),
    );
  });
});

describe("parsePort", () => {
  it.each([
    ["0", 0],
    ["9464", 9464],
    ["65535", 65535],
  ])("%s -> %i", (v, n) => {
    expect(parsePort(v, "--http-port")).toBe(n);
  });

  it.each(["65536", "-1", "http", "94.64"])("refuses %s", (v) => {
    expect(() => parsePort(v, "--http-port")).toThrow(
      `--http-port: "${v}" is not a port; allowed: an integer 0..65535`,
    );
  });
});

describe("parseInteger", () => {
  it("says 'or more' for an open range", () => {
    expect(() =>
      parseInteger("0", "--days", { min: 1, max: Infinity, what: "a number of days" }),
    ).toThrow('--days: "0" is not a number of days; allowed: an integer 1 or more');
  });
});

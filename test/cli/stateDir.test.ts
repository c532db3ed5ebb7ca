import { describe, expect, it } from "vitest";
import { configuredStateDir, findStateDir } from "../../src/cli/stateDir.js";

describe("findStateDir", () => {
  const config = { file: "/etc/keepwarm/keepwarm.yaml", stateDir: "/srv/kw" };
  const unsetConfig = { file: "/etc/keepwarm/keepwarm.yaml", stateDir: undefined };
  const exists = (present: string[]) => (path: string) => present.includes(path);

  it.each([
    ["--state-dir first", { flag: "/a", env: "/b", config }, [], "/a", "from --state-dir"],
    [
      "then the environment",
      { env: "/b", config },
      [],
      "/b",
      "from KEEPWARM_STATE_DIR or STATE_DIRECTORY",
    ],
    [
      "then the config's daemon.stateDir",
      { config },
      ["/var/lib/keepwarm"],
      "/srv/kw",
      "from daemon.stateDir in /etc/keepwarm/keepwarm.yaml",
    ],
    [
      "then /var/lib/keepwarm when it exists",
      { config: unsetConfig },
      ["/var/lib/keepwarm"],
      "/var/lib/keepwarm",
      "the systemd and container default; no --state-dir, KEEPWARM_STATE_DIR, STATE_DIRECTORY, daemon.stateDir in /etc/keepwarm/keepwarm.yaml",
    ],
    [
      "else ./.state",
      {},
      [],
      "./.state",
      "the default; no --state-dir, KEEPWARM_STATE_DIR, STATE_DIRECTORY, a config (--config), and /var/lib/keepwarm does not exist",
    ],
  ] as const)("%s", (_label, sources, present, dir, note) => {
    expect(findStateDir(sources, exists([...present]))).toEqual({ dir, note });
  });
});

describe("configuredStateDir", () => {
  it("takes the resolved default for a config that sets none", () => {
    expect(configuredStateDir("./.state")).toBeUndefined();
    expect(configuredStateDir("/srv/kw")).toBe("/srv/kw");
  });
});

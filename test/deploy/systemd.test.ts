import { readFileSync } from "node:fs";
import { fileURLToPath } from "node:url";
import { describe, expect, it } from "vitest";

const ROOT = fileURLToPath(new URL("../..", import.meta.url));

/** [section, key] -> values, in order (systemd lets some keys repeat). */
function parseUnit(text: string): Map<string, string[]> {
  const entries = new Map<string, string[]>();
  let section = "";
  for (const raw of text.split("\n")) {
    const line = raw.trim();
    if (line === "" || line.startsWith("#") || line.startsWith(";")) continue;
    const header = /^\[(.+)\]$/.exec(line);
    if (header) {
      section = header[1] as string;
      continue;
    }
    const eq = line.indexOf("=");
    const key = `${section}.${line.slice(0, eq)}`;
    entries.set(key, [...(entries.get(key) ?? []), line.slice(eq + 1)]);
  }
  return entries;
}

const unit = parseUnit(readFileSync(`${ROOT}systemd/keepwarm.service`, "utf8"));

describe("systemd/keepwarm.service", () => {
  describe("[Service]", () => {
    it.each([
      ["Type", "exec"],
      ["ExecReload", "/bin/kill -HUP $MAINPID"],
      ["Restart", "on-failure"],
      ["RestartPreventExitStatus", "2"],
      ["DynamicUser", "yes"],
      ["StateDirectory", "keepwarm"],
      ["ConfigurationDirectory", "keepwarm"],
      ["EnvironmentFile", "-/etc/keepwarm/keepwarm.env"],
      ["NoNewPrivileges", "yes"],
      ["ProtectSystem", "strict"],
      ["CapabilityBoundingSet", ""],
    ])("sets %s=%s", (key, value) => {
      expect(unit.get(`Service.${key}`)).toEqual([value]);
    });

    it("starts the daemon on the config in its ConfigurationDirectory", () => {
      expect(unit.get("Service.ExecStart")).toEqual([
        "/usr/bin/node /opt/keepwarm/dist/cli/main.js run --config /etc/keepwarm/keepwarm.yaml",
      ]);
    });

    it("gives SIGTERM longer than the 10 s an in-flight ping may take", () => {
      const [stop = ""] = unit.get("Service.TimeoutStopSec") ?? [];
      expect(Number.parseInt(stop, 10)).toBeGreaterThan(10);
    });
  });

  describe("systemd/keepwarm.env.example", () => {
    it("holds only comments and KEY=value lines systemd can read", () => {
      const text = readFileSync(`${ROOT}systemd/keepwarm.env.example`, "utf8");
      for (const line of text.split("\n")) {
        if (line === "" || line.startsWith("#")) continue;
        expect(line).toMatch(/^[A-Z_][A-Z0-9_]*=\S*$/);
      }
    });
  });
});

import { existsSync, readFileSync } from "node:fs";
import { fileURLToPath } from "node:url";
import { describe, expect, it } from "vitest";

const ROOT = fileURLToPath(new URL("../..", import.meta.url));

interface Instruction {
  readonly op: string;
  readonly args: string;
}

/** Dockerfile instructions in order, continuation lines joined, comments dropped. */
function parseDockerfile(text: string): Instruction[] {
  const logical: string[] = [];
  let current = "";
  for (const raw of text.split("\n")) {
    const line = raw.trim();
    if (current === "" && (line === "" || line.startsWith("#"))) continue;
    if (line.startsWith("#")) continue;
    current += `${line.replace(/\\$/, "").trimEnd()} `;
    if (!line.endsWith("\\")) {
      logical.push(current.trim());
      current = "";
    }
  }
  return logical.map((l) => {
    const [op = "", ...rest] = l.split(/\s+/);
    return { op: op.toUpperCase(), args: rest.join(" ") };
  });
}

/** The instructions of each stage, by stage name. */
function stages(instructions: readonly Instruction[]): Map<string, Instruction[]> {
  const byName = new Map<string, Instruction[]>();
  let current: Instruction[] | undefined;
  for (const i of instructions) {
    if (i.op === "FROM") {
      current = [];
      byName.set(i.args.split(/\s+AS\s+/i)[1] ?? String(byName.size), current);
    } else current?.push(i);
  }
  return byName;
}

const instructions = parseDockerfile(readFileSync(`${ROOT}Dockerfile`, "utf8"));
const byStage = stages(instructions);
const runtime = byStage.get("runtime") ?? [];
const all = (stage: readonly Instruction[], op: string) => stage.filter((i) => i.op === op);
const only = (stage: readonly Instruction[], op: string) => {
  const found = all(stage, op);
  expect(found, `exactly one ${op}`).toHaveLength(1);
  return (found[0] as Instruction).args;
};

describe("Dockerfile", () => {
  describe("its stages", () => {
    it("builds on node:24-bookworm-slim in a build stage and a runtime stage, runtime last", () => {
      expect(instructions[0]).toEqual({ op: "ARG", args: "NODE_IMAGE=node:24-bookworm-slim" });
      expect(all(instructions, "FROM").map((i) => i.args)).toEqual([
        // biome-ignore lint/suspicious/noTemplateCurlyInString: a Dockerfile ARG reference, not a template
        "${NODE_IMAGE} AS build",
        // biome-ignore lint/suspicious/noTemplateCurlyInString: a Dockerfile ARG reference, not a template
        "${NODE_IMAGE} AS runtime",
      ]);
    });

    it("compiles with dev dependencies in the build stage", () => {
      const runs = all(byStage.get("build") ?? [], "RUN").map((i) => i.args);
      expect(runs.some((r) => /\bnpm ci\b/.test(r) && !r.includes("--omit=dev"))).toBe(true);
      expect(runs.at(-1)).toBe("npm run build");
    });

    it("ships production dependencies without install scripts and only compiled JS", () => {
      const runs = all(runtime, "RUN").map((i) => i.args);
      expect(runs.filter((r) => /\bnpm ci\b/.test(r))).toEqual([
        expect.stringMatching(/npm ci --omit=dev --ignore-scripts/),
      ]);
      const copies = all(runtime, "COPY").map((i) => i.args);
      expect(copies).toContain("--from=build /src/dist ./dist");
      expect(copies.some((c) => /\bsrc\b/.test(c.split(" ")[0] ?? ""))).toBe(false);
      expect(runs.join(" ")).not.toMatch(/\b(curl|wget)\b/);
    });
  });

  describe("the runtime image", () => {
    it("runs as a fixed non-root uid", () => {
      expect(only(runtime, "USER")).toMatch(/^[1-9]\d*:[1-9]\d*$/);
    });

    it("starts node with an exec-form ENTRYPOINT and the config at /etc/keepwarm", () => {
      expect(JSON.parse(only(runtime, "ENTRYPOINT"))).toEqual(["node", "/app/dist/cli/main.js"]);
      expect(JSON.parse(only(runtime, "CMD"))).toEqual([
        "run",
        "--config",
        "/etc/keepwarm/keepwarm.yaml",
      ]);
    });

    it("keeps its state in a volume named by KEEPWARM_STATE_DIR and binds the metrics port on all addresses", () => {
      expect(JSON.parse(only(runtime, "VOLUME"))).toEqual(["/var/lib/keepwarm"]);
      const env = all(runtime, "ENV")
        .map((i) => i.args)
        .join(" ");
      expect(env).toContain("KEEPWARM_STATE_DIR=/var/lib/keepwarm");
      expect(env).toContain("KEEPWARM_HTTP_HOST=0.0.0.0");
      expect(env).toContain("KEEPWARM_HTTP_PORT=9464");
      expect(only(runtime, "EXPOSE")).toBe("9464");
    });

    it("checks health with node and the shipped script, not curl", () => {
      const health = only(runtime, "HEALTHCHECK");
      expect(JSON.parse(health.slice(health.indexOf("CMD ") + 4))).toEqual([
        "node",
        "/app/healthcheck.mjs",
      ]);
      expect(all(runtime, "COPY").map((i) => i.args)).toContain(
        "deploy/healthcheck.mjs ./healthcheck.mjs",
      );
    });
  });

  describe("its build context", () => {
    it("lets in every path the Dockerfile copies, and they exist", () => {
      const allowed = readFileSync(`${ROOT}.dockerignore`, "utf8")
        .split("\n")
        .filter((l) => l.startsWith("!"))
        .map((l) => l.slice(1).replace(/\/$/, ""));
      const sources = all(instructions, "COPY")
        .filter((i) => !i.args.startsWith("--from="))
        .flatMap((i) => i.args.split(/\s+/).slice(0, -1));
      for (const source of sources) {
        expect(allowed, `.dockerignore lets ${source} in`).toContain(source);
        expect(existsSync(`${ROOT}${source}`), `${source} exists`).toBe(true);
      }
    });
  });
});

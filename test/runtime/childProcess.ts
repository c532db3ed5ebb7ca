import { type ChildProcess, spawn } from "node:child_process";
import { readFileSync } from "node:fs";
import { fileURLToPath } from "node:url";

/** src/cli/main.ts, run through tsx as `keepwarm`. */
export const MAIN = fileURLToPath(new URL("../../src/cli/main.ts", import.meta.url));
/** The sample config: two models, budgets for the fleet and for mimo-vl. */
export const SAMPLE = fileURLToPath(new URL("../../config/keepwarm.yaml", import.meta.url));

export type Line = Record<string, unknown>;

export interface Exit {
  readonly code: number | null;
  readonly signal: NodeJS.Signals | null;
  /** performance.now() when it ended. */
  readonly at: number;
}

export interface Child {
  readonly proc: ChildProcess;
  /** Its stdout's JSON lines, parsed as they come; other lines are left out. */
  readonly lines: Line[];
  readonly stderr: string[];
  readonly exited: Promise<Exit>;
  /** The first line `match` accepts, waiting up to `ms`; throws naming `what` after that. */
  until(what: string, match: (line: Line) => boolean, ms?: number): Promise<Line>;
  /** Peak resident memory so far in kB (VmHWM of /proc/PID/status); undefined off Linux. */
  peakRssKb(): number | undefined;
}

/** node with `args`, its JSON lines collected. */
export function startNode(args: readonly string[], env: Record<string, string> = {}): Child {
  const proc = spawn(process.execPath, [...args], {
    stdio: ["ignore", "pipe", "pipe"],
    env: { ...process.env, ...env },
  });
  const lines: Line[] = [];
  const stderr: string[] = [];
  let buffered = "";
  proc.stdout?.on("data", (chunk: Buffer) => {
    buffered += chunk.toString("utf8");
    const parts = buffered.split("\n");
    buffered = parts.pop() ?? "";
    for (const part of parts) {
      if (!part.startsWith("{")) continue;
      try {
        lines.push(JSON.parse(part) as Line);
      } catch {
        // Not a log line.
      }
    }
  });
  proc.stderr?.on("data", (chunk: Buffer) => stderr.push(chunk.toString("utf8")));
  const exited = new Promise<Exit>((resolve) => {
    proc.on("close", (code, signal) => resolve({ code, signal, at: performance.now() }));
  });
  let ended = false;
  void exited.then(() => {
    ended = true;
  });
  return {
    proc,
    lines,
    stderr,
    exited,
    async until(what, match, ms = 30_000) {
      const deadline = performance.now() + ms;
      for (;;) {
        const found = lines.find(match);
        if (found) return found;
        if (ended) {
          throw new Error(`exited before ${what}; stderr: ${stderr.join("").slice(-2000)}`);
        }
        if (performance.now() > deadline) throw new Error(`no ${what} within ${ms} ms`);
        await new Promise((r) => setTimeout(r, 25));
      }
    },
    peakRssKb() {
      if (process.platform !== "linux" || proc.pid === undefined) return undefined;
      try {
        const status = readFileSync(`/proc/${proc.pid}/status`, "utf8");
        const kb = /^VmHWM:\s+(\d+) kB/m.exec(status)?.[1];
        return kb === undefined ? undefined : Number(kb);
      } catch {
        return undefined;
      }
    },
  };
}

/** `keepwarm ARGS` through tsx, as the tests of a real process run it. */
export function startKeepwarm(args: readonly string[], env: Record<string, string> = {}): Child {
  return startNode(["--import", "tsx", MAIN, ...args], env);
}

/** `keepwarm run` of the sample config against the built-in simulator, on any free port. */
export function runSample(stateDir: string, env: Record<string, string> = {}): Child {
  return startKeepwarm(
    [
      "run",
      "--config",
      SAMPLE,
      "--simulate",
      "on",
      "--http-host",
      "127.0.0.1",
      "--http-port",
      "0",
      "--state-dir",
      stateDir,
    ],
    { KEEPWARM_LOG_LEVEL: "debug", ...env },
  );
}

/** Ends a child still running at the end of a test. */
export async function stop(child: Child): Promise<void> {
  if (child.proc.exitCode !== null || child.proc.signalCode !== null) return;
  child.proc.kill("SIGKILL");
  await child.exited;
}

import { Writable } from "node:stream";
import { describe, expect, it } from "vitest";
import { createLogger } from "../../../src/runtime/infra/logger.js";
import { ProblemLog } from "../../../src/runtime/infra/problemLog.js";

const HOUR = 3_600_000;

function setup() {
  let now = 0;
  const lines: Record<string, unknown>[] = [];
  const log = createLogger({
    destination: new Writable({
      write(chunk, _enc, done) {
        lines.push(JSON.parse(String(chunk)));
        done();
      },
    }),
  });
  const problems = new ProblemLog(() => now, HOUR);
  return { problems, log, lines, at: (t: number) => (now = t) };
}

describe("ProblemLog", () => {
  describe("report", () => {
    it("logs a problem at once and then at most once per repeat period", () => {
      const { problems, log, lines, at } = setup();
      expect(problems.report(log, "k", { event: "metrics-failed" }, "first")).toBe(true);
      at(HOUR - 1);
      expect(problems.report(log, "k", { event: "metrics-failed" }, "again")).toBe(false);
      at(HOUR);
      expect(problems.report(log, "k", { event: "metrics-failed" }, "an hour on")).toBe(true);
      expect(lines.map((l) => l.msg)).toEqual(["first", "an hour on"]);
      expect(lines.map((l) => l.level)).toEqual(["error", "error"]);
    });

    it("keeps each problem's period apart, logs `always` ones every time, at the level asked", () => {
      const { problems, log, lines } = setup();
      problems.report(log, "a", { event: "metrics-failed" }, "a");
      problems.report(log, "b", { event: "metrics-failed" }, "b", { level: "warn" });
      problems.report(log, "a", { event: "metrics-failed" }, "a again", { always: true });
      expect(lines.map((l) => [l.msg, l.level])).toEqual([
        ["a", "error"],
        ["b", "warn"],
        ["a again", "error"],
      ]);
    });
  });

  describe("clear", () => {
    it("makes the next occurrence news again", () => {
      const { problems, log, lines, at } = setup();
      problems.report(log, "k", { event: "metrics-failed" }, "first");
      at(60_000);
      problems.clear("k");
      expect(problems.report(log, "k", { event: "metrics-failed" }, "back")).toBe(true);
      expect(lines).toHaveLength(2);
    });
  });
});

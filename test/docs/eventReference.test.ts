import { execFileSync } from "node:child_process";
import { readdirSync, readFileSync } from "node:fs";
import { join, relative } from "node:path";
import { fileURLToPath } from "node:url";
import { describe, expect, it } from "vitest";
import { LOG_EVENTS } from "../../src/runtime/infra/events.js";
import {
  businessHoursYaml,
  configOf,
  eventsOf,
  harnessPerTest,
  local,
  MIMO_VL,
} from "../e2e/daemonHarness.js";
import { skipWithout } from "../requiredTools.js";

const root = fileURLToPath(new URL("../..", import.meta.url));

/** Fields every line has, documented once under "Fields on every line". */
const COMMON = new Set(["event", "level", "time", "msg", "simulated", "model", "policy"]);

interface Emitted {
  readonly event: string;
  readonly where: string;
  /** The literal's own keys; undefined when the event is not set in an object literal. */
  readonly keys: Set<string> | undefined;
  /** The literal spreads another object in, so it may carry more than `keys`. */
  readonly open: boolean;
}

function sourceFiles(dir: string): string[] {
  return readdirSync(dir, { withFileTypes: true }).flatMap((e) =>
    e.isDirectory()
      ? sourceFiles(join(dir, e.name))
      : e.name.endsWith(".ts")
        ? [join(dir, e.name)]
        : [],
  );
}

const OPEN = "({[";
const CLOSE = ")}]";

/** Skips a string or template literal starting at `i`; returns the index after it. */
function skipString(text: string, i: number): number {
  const quote = text[i];
  for (let j = i + 1; j < text.length; j++) {
    if (text[j] === "\\") j++;
    else if (quote === "`" && text[j] === "$" && text[j + 1] === "{") {
      j = matching(text, j + 1);
    } else if (text[j] === quote) return j + 1;
  }
  return text.length;
}

/** The index of the bracket closing the one at `i`. */
function matching(text: string, i: number): number {
  let depth = 0;
  for (let j = i; j < text.length; j++) {
    const ch = text[j] as string;
    if (ch === '"' || ch === "'" || ch === "`") {
      j = skipString(text, j) - 1;
    } else if (OPEN.includes(ch)) depth++;
    else if (CLOSE.includes(ch)) {
      depth--;
      if (depth === 0) return j;
    }
  }
  return text.length;
}

/** The innermost bracket open at `at`, found by scanning from the start of the file. */
function enclosing(text: string, at: number): number | undefined {
  const stack: number[] = [];
  for (let j = 0; j < at; j++) {
    const ch = text[j] as string;
    if (ch === "/" && text[j + 1] === "/") j = text.indexOf("\n", j);
    else if (ch === "/" && text[j + 1] === "*") j = text.indexOf("*/", j) + 1;
    else if (ch === '"' || ch === "'" || ch === "`") j = skipString(text, j) - 1;
    else if (OPEN.includes(ch)) stack.push(j);
    else if (CLOSE.includes(ch)) stack.pop();
    if (j < 0) break;
  }
  return stack.at(-1);
}

/** Keys of the object literal whose braces are `body` (without them), at its own level. */
function keysOf(body: string): { keys: Set<string>; open: boolean } {
  const keys = new Set<string>();
  let open = false;
  const entries: string[] = [];
  let start = 0;
  for (let j = 0; j < body.length; j++) {
    const ch = body[j] as string;
    if (ch === '"' || ch === "'" || ch === "`") j = skipString(body, j) - 1;
    else if (OPEN.includes(ch)) j = matching(body, j);
    else if (ch === ",") {
      entries.push(body.slice(start, j));
      start = j + 1;
    }
  }
  entries.push(body.slice(start));
  for (const raw of entries) {
    const entry = raw.trim();
    if (entry === "") continue;
    if (entry.startsWith("...")) {
      // A conditional spread of literals adds their keys; anything else is open-ended.
      const inner = [...entry.matchAll(/\{([^{}]*)\}/g)].flatMap((m) =>
        [...(m[1] as string).matchAll(/(?:^|,)\s*([A-Za-z_$][\w$]*)\s*(?::|,|$)/g)].map(
          (k) => k[1] as string,
        ),
      );
      for (const k of inner) keys.add(k);
      if (inner.length === 0) open = true;
      continue;
    }
    const key = /^([A-Za-z_$][\w$]*)\s*(?::|$)/.exec(entry)?.[1];
    if (key) keys.add(key);
  }
  return { keys, open };
}

/** Every event the source can log: `event: "name"` literals and `event: "a" | "b"` types. */
function emittedEvents(): Emitted[] {
  const found: Emitted[] = [];
  for (const file of sourceFiles(join(root, "src"))) {
    const text = readFileSync(file, "utf8");
    for (const m of text.matchAll(/\bevent\??:\s*("[a-z0-9-]+"(?:\s*\|\s*"[a-z0-9-]+")*)/g)) {
      const names = [...(m[1] as string).matchAll(/"([a-z0-9-]+)"/g)].map((n) => n[1] as string);
      const opener = enclosing(text, m.index ?? 0);
      const where = `${relative(root, file)}:${text.slice(0, m.index).split("\n").length}`;
      const literal = opener !== undefined && text[opener] === "{" && names.length === 1;
      const parsed = literal
        ? keysOf(text.slice(opener + 1, matching(text, opener)))
        : { keys: undefined, open: true };
      for (const event of names) found.push({ event, where, ...parsed });
    }
  }
  return found;
}

interface Documented {
  readonly event: string;
  readonly fields: Set<string>;
}

/** docs/events.md: the log event reference. */
const EVENTS_DOC = join(root, "docs", "events.md");
const eventsDoc = readFileSync(EVENTS_DOC, "utf8");

/** The rows of the tables of docs/events.md whose first column is `event`, by the table's columns. */
function eventTables(): { header: string[]; events: string[]; cells: string[] }[] {
  const rows: { header: string[]; events: string[]; cells: string[] }[] = [];
  let header: string[] | undefined;
  for (const line of eventsDoc.split("\n")) {
    if (!line.startsWith("|")) {
      header = undefined;
      continue;
    }
    const cells = line
      .slice(1, -1)
      .split(/(?<!\\)\|/)
      .map((c) => c.trim());
    if (!header) {
      header = cells;
      continue;
    }
    if (header[0] !== "event" || cells[0]?.startsWith("---")) continue;
    const events = [...(cells[0] as string).matchAll(/`([a-z0-9-]+)`/g)].map((e) => e[1] as string);
    rows.push({ header, events, cells });
  }
  return rows;
}

/** The reference rows of docs/events.md (tables with a `fields` column): events (first cell) and fields. */
function documentedEvents(): Documented[] {
  const rows: Documented[] = [];
  for (const { header, events, cells } of eventTables()) {
    const at = header.indexOf("fields");
    if (at === -1) continue;
    const fields = new Set(
      [...withoutParentheses(cells[at] ?? "").matchAll(/`([A-Za-z_$][\w$]*)(?:\[\])?`/g)].map(
        (f) => f[1] as string,
      ),
    );
    for (const event of events) rows.push({ event, fields });
  }
  return rows;
}

/** "`a` (`x`, `y`), `b`" -> "`a` , `b`": values and examples in parentheses are not fields. */
function withoutParentheses(text: string): string {
  let out = "";
  let depth = 0;
  for (const ch of text) {
    if (ch === "(") depth++;
    else if (ch === ")") depth = Math.max(0, depth - 1);
    else if (depth === 0) out += ch;
  }
  return out;
}

describe("docs/events.md event reference", () => {
  const emitted = emittedEvents();
  const documented = documentedEvents();
  const docByEvent = new Map(documented.map((d) => [d.event, d]));

  it("finds events on both sides", () => {
    expect(emitted.length).toBeGreaterThan(20);
    expect(documented.length).toBeGreaterThan(20);
  });

  it("has only reference tables (with fields) and one-liner tables", () => {
    const other = eventTables().filter(
      (r) => !r.header.includes("fields") && !r.header.includes("one-liner"),
    );
    expect(other.map((r) => r.header.join(" | "))).toEqual([]);
  });

  it("documents each event in exactly one reference row", () => {
    const count = new Map<string, number>();
    for (const d of documented) count.set(d.event, (count.get(d.event) ?? 0) + 1);
    expect([...count].filter(([, n]) => n > 1).map(([event]) => event)).toEqual([]);
  });

  it("gives one-liners only for events the source logs", () => {
    const logged = new Set(emitted.map((e) => e.event));
    const oneLiners = eventTables()
      .filter((r) => r.header.includes("one-liner"))
      .flatMap((r) => r.events);
    expect(oneLiners.length).toBeGreaterThan(10);
    expect(oneLiners.filter((e) => !logged.has(e))).toEqual([]);
  });

  it("documents exactly the events of LOG_EVENTS, the list log lines are typed against", () => {
    expect([...new Set(documented.map((d) => d.event))].sort()).toEqual([...LOG_EVENTS].sort());
  });

  it("logs only events of LOG_EVENTS, and each of them somewhere", () => {
    const logged = new Set(emitted.map((e) => e.event));
    const known = new Set<string>(LOG_EVENTS);
    expect([...logged].filter((e) => !known.has(e))).toEqual([]);
    expect(LOG_EVENTS.filter((e) => !logged.has(e))).toEqual([]);
  });

  it("documents every event the source can log", () => {
    const missing = [...new Set(emitted.map((e) => e.event))].filter((e) => !docByEvent.has(e));
    expect(missing).toEqual([]);
  });

  it("documents no event the source never logs", () => {
    const logged = new Set(emitted.map((e) => e.event));
    expect(documented.map((d) => d.event).filter((e) => !logged.has(e))).toEqual([]);
  });

  it("documents every field an event is logged with", () => {
    const undocumented = emitted.flatMap((e) => {
      const doc = docByEvent.get(e.event);
      if (!doc || !e.keys) return [];
      return [...e.keys]
        .filter((k) => !COMMON.has(k) && !doc.fields.has(k))
        .map((k) => `${e.event}.${k} (${e.where})`);
    });
    expect(undocumented).toEqual([]);
  });

  it("documents no field that an event is never logged with", () => {
    const byEvent = new Map<string, Emitted[]>();
    for (const e of emitted) byEvent.set(e.event, [...(byEvent.get(e.event) ?? []), e]);
    const phantom = documented.flatMap((d) => {
      const sites = byEvent.get(d.event) ?? [];
      if (sites.length === 0 || sites.some((s) => s.open || !s.keys)) return [];
      const logged = new Set(sites.flatMap((s) => [...(s.keys ?? [])]));
      return [...d.fields].filter((f) => !logged.has(f)).map((f) => `${d.event}.${f}`);
    });
    expect(phantom).toEqual([]);
  });
});

/** The jq filter of the "Every permission problem at once" one-liner of docs/events.md. */
function permissionOneLiner(): string {
  const at = eventsDoc.indexOf("Every permission problem at once");
  if (at === -1) throw new Error(`the permission one-liner is not in ${EVENTS_DOC}`);
  const block = /```sh\nkwlog '([^\n]*)'\n```/.exec(eventsDoc.slice(at));
  if (!block) throw new Error(`the permission one-liner is not in ${EVENTS_DOC}`);
  return block[1] as string;
}

function hasJq(): boolean {
  try {
    execFileSync("jq", ["--version"], { stdio: "ignore" });
    return true;
  } catch {
    return false;
  }
}

describe("docs/events.md permission one-liner", () => {
  const start = harnessPerTest();

  it.skipIf(skipWithout(hasJq(), "jq"))(
    "finds an AccessDenied on InvokeModel and on GetImportedModel",
    async () => {
      const config = configOf(businessHoursYaml({ models: [{ ...MIMO_VL, lines: [] }] }));
      const h = await start({ config, start: local("10:00") });
      h.sim.faults.add({ kind: "accessDenied" });
      await h.daemon.start();
      await h.clock.runUntil(local("10:02"));
      expect(eventsOf(h.lines, "cmu-unknown")).toHaveLength(1);
      expect(eventsOf(h.lines, "ping-rejected")).toHaveLength(1);
      // kwlog() is `jq -rR "fromjson? | $1"` over the journal: here over the same lines.
      const out = execFileSync("jq", ["-rR", `fromjson? | ${permissionOneLiner()}`], {
        input: h.lines.map((l) => JSON.stringify(l)).join("\n"),
        encoding: "utf8",
      });
      const rows = out
        .trim()
        .split("\n")
        .map((r) => r.split("\t"));
      expect(rows.map((r) => [r[1], r[3]])).toEqual(
        expect.arrayContaining([
          ["cmu-unknown", "bedrock:GetImportedModel"],
          ["ping-rejected", "bedrock:InvokeModel"],
        ]),
      );
    },
  );
});

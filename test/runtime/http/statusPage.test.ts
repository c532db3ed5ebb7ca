import { DateTime } from "luxon";
import { describe, expect, it } from "vitest";
import { describeDuration } from "../../../src/domain/format.js";
import {
  escapeHtml,
  REFRESH_SECONDS,
  renderStatusPage,
  STATUS_PAGE_CSP,
} from "../../../src/runtime/http/statusPage.js";
import type { ModelStatus } from "../../../src/runtime/keep/status.js";
import { at, daemonStatus, modelStatus } from "./statusPageFixture.js";

/** The tag names a document uses, opening and closing. */
function tagsOf(html: string): Set<string> {
  return new Set([...html.matchAll(/<\/?([a-zA-Z][a-zA-Z0-9-]*)/g)].map((m) => m[1] as string));
}

/** Where every `<rect class="…">` of one class lies, in percent of the chart's width. */
function rectsOf(html: string, cls: string): { x: number; width: number }[] {
  return [
    ...html.matchAll(
      new RegExp(`<rect class="${cls}" x="([\\d.]+)%" y="[\\d.]+" width="([\\d.]+)%"`, "g"),
    ),
  ].map((m) => ({ x: Number(m[1]), width: Number(m[2]) }));
}

const PAGE_TAGS = [
  "html",
  "head",
  "meta",
  "title",
  "link",
  "style",
  "body",
  "header",
  "h1",
  "h2",
  "p",
  "section",
  "dl",
  "div",
  "dt",
  "dd",
  "span",
  "ul",
  "li",
  "figure",
  "figcaption",
  "svg",
  "rect",
  "line",
  "text",
  "g",
  "path",
  "footer",
  "a",
];

describe("escapeHtml", () => {
  it.each([
    ["<script>", "&lt;script&gt;"],
    ['a"b', "a&quot;b"],
    ["it's", "it&#39;s"],
    ["R&D", "R&amp;D"],
    ["&amp;", "&amp;amp;"],
    ["plain-name.1_x", "plain-name.1_x"],
  ])("%s -> %s", (input, escaped) => {
    expect(escapeHtml(input)).toBe(escaped);
  });
});

describe("describeDuration", () => {
  it.each([
    [0, "0 s"],
    [45_000, "45 s"],
    [90_000, "1 min 30 s"],
    [14 * 60_000, "14 min"],
    [14.5 * 60_000, "15 min"],
    [60 * 60_000, "1 h"],
    [125 * 60_000, "2 h 5 min"],
    [27 * 3_600_000, "1 d 3 h"],
    [48 * 3_600_000, "2 d"],
  ])("%i ms is %s", (ms, text) => {
    expect(describeDuration(ms)).toBe(text);
  });
});

describe("renderStatusPage", () => {
  describe("the document", () => {
    it("is self-contained: no script, no external URL, one inline style under the CSP's hash", async () => {
      const html = renderStatusPage(daemonStatus());
      expect(tagsOf(html).has("script")).toBe(false);
      expect(html).not.toMatch(/(?:src|href)="(?:https?:)?\/\//);
      expect(html.match(/<style>/g)).toHaveLength(1);
      const style = /<style>([\s\S]*?)<\/style>/.exec(html)?.[1] ?? "";
      const { createHash } = await import("node:crypto");
      const hash = createHash("sha256").update(style).digest("base64");
      expect(STATUS_PAGE_CSP).toContain(`style-src 'sha256-${hash}'`);
      expect(html).toContain(`<meta http-equiv="refresh" content="${REFRESH_SECONDS}">`);
      expect(html).toContain(
        '<meta name="viewport" content="width=device-width, initial-scale=1">',
      );
      expect(html).not.toMatch(/ style="/);
    });

    it("shows the moment in the config's zone and says when it is simulated or not ready", () => {
      const html = renderStatusPage(
        daemonStatus({ simulated: true, ready: false, firstReconcileDone: false }),
      );
      expect(html).toContain("Mon 7 Dec 2026 13:30:00 Asia/Shanghai");
      expect(html).toContain("SIMULATED: no AWS is called");
      expect(html).toContain("starting: first reconcile not done");
    });
  });

  describe("escaping", () => {
    // The schema keeps names to [A-Za-z0-9._-]; the page must not rely on it.
    const hostile = "<script>alert(1)</script>\"'&";
    const html = renderStatusPage(
      daemonStatus({
        timezone: "Asia/Shanghai",
        models: [
          modelStatus({
            name: `m${hostile}`,
            policy: `p${hostile}`,
            activePolicy: `o${hostile}`,
            lastPing: { at: at("13:22"), result: "rejected", reason: `r${hostile}` },
          }),
        ],
      }),
    );

    it("escapes model names, policy names and ping reasons wherever they appear", () => {
      expect(tagsOf(html)).toEqual(new Set(PAGE_TAGS));
      expect(html).not.toContain(hostile);
      const escaped = "&lt;script&gt;alert(1)&lt;/script&gt;&quot;&#39;&amp;";
      expect(html).toContain(`data-model="m${escaped}"`);
      expect(html).toContain(`>m${escaped} <span class="state`);
      expect(html).toContain(`o${escaped} <span class="src">(override; own policy p${escaped})`);
      expect(html).toContain(`(r${escaped})`);
    });

    it("leaves no attribute open: every quote in the page is the markup's own", () => {
      const withoutStyle = html.replace(/<style>[\s\S]*?<\/style>/, "");
      const attributes = withoutStyle.match(/="[^"]*"/g) ?? [];
      for (const a of attributes) expect(a).not.toMatch(/[<>]/);
    });
  });

  describe("per model", () => {
    const html = renderStatusPage(daemonStatus());

    it("shows state and since when, copies, policy and the window now and next", () => {
      expect(html).toContain('data-state="warm"');
      expect(html).toContain('<span class="state warm">warm</span>');
      expect(html).toContain("since 08:57 (4 h 33 min); 1 copy");
      expect(html).toContain("<dd>business-hours</dd>");
      expect(html).toContain(
        "open 09:00\u201318:00, closes in 4 h 30 min; next Tue 09:00\u201318:00",
      );
    });

    it("shows the last ping with its result and reason, and the next planned one", () => {
      expect(html).toContain('13:22 ok <span class="src">(cadence)</span>');
      expect(html).toContain("<dt>Next ping</dt><dd>13:36</dd>");
    });

    it("marks a failed last ping and says when the last good one was", () => {
      const failed = renderStatusPage(
        daemonStatus({
          models: [
            modelStatus({ lastPing: { at: at("13:29"), result: "not-ready", reason: "cadence" } }),
          ],
        }),
      );
      expect(failed).toContain('13:29 <span class="bad">not-ready</span>');
      expect(failed).toContain("; last ok 13:22");
    });

    it("shows each timing with its source", () => {
      expect(html).toContain('14 min <span class="src">(configured)</span>');
      expect(html).toContain('5 min <span class="src">(assumed)</span>');
      expect(html).toContain('15 min <span class="src">(learned)</span>');
      expect(html).toContain('1 min 30 s <span class="src">(assumed)</span>');
    });

    it("shows month to date, projection, always-on and saving in USD with cents", () => {
      expect(html).toContain("<dt>Month to date</dt><dd>$228.72</dd>");
      expect(html).toContain("<dt>Projection</dt><dd>$2,900.50</dd>");
      expect(html).toContain("<dt>Always-on</dt><dd>$10,210.06</dd>");
      expect(html).toContain("<dt>Saving</dt><dd>$7,309.56</dd>");
      expect(html).toContain("<dt>Budget</dt><dd>none set</dd>");
    });

    it("gives the projection's share of the budget, flagged above it", () => {
      const over = renderStatusPage(daemonStatus({ models: [modelStatus({ budgetUsd: 2_000 })] }));
      expect(over).toContain('<span class="bad">$2,000.00; projection 145% OVER</span>');
      const under = renderStatusPage(daemonStatus({ models: [modelStatus({ budgetUsd: 3_000 })] }));
      expect(under).toContain("<dt>Budget</dt><dd>$3,000.00; projection 96% near</dd>");
    });

    it("says unknown, not $0.00, while the CMU is unknown, and leaves the model out of the fleet sums", () => {
      const unpriced = modelStatus({
        name: "no-cmu",
        cmu: undefined,
        monthToDateUsd: undefined,
        projectedMonthUsd: undefined,
        alwaysOnMonthUsd: undefined,
        savingUsd: undefined,
        state: "unknown",
        stateSince: undefined,
        copies: undefined,
      });
      const page = renderStatusPage(daemonStatus({ models: [modelStatus(), unpriced] }));
      const section = page.slice(page.indexOf('data-model="no-cmu"'));
      expect(section).toContain(
        '<dt>Month to date</dt><dd>unknown <span class="src">(CMU unknown)</span></dd>',
      );
      expect(section).toContain("no ModelCopy datapoint yet; copies unknown");
      const fleet = page.slice(page.indexOf('class="fleet"'), page.indexOf("</section>"));
      expect(fleet).toContain("2: 1 warm, 1 unknown");
      expect(fleet).toContain("$228.72 (1 without CMU or price left out)");
    });

    it("says unknown, not $0.00, until the month has been read from CloudWatch", () => {
      const unread = modelStatus({
        name: "unread",
        monthToDateUsd: undefined,
        projectedMonthUsd: undefined,
        savingUsd: undefined,
      });
      const page = renderStatusPage(daemonStatus({ fleetBudgetUsd: 5_000, models: [unread] }));
      const section = page.slice(page.indexOf('data-model="unread"'));
      expect(section).toContain(
        '<dt>Month to date</dt><dd>unknown <span class="src">(CloudWatch not read yet)</span></dd>',
      );
      expect(section).toContain("<dt>Always-on</dt><dd>$10,210.06</dd>");
      const fleet = page.slice(page.indexOf('class="fleet"'), page.indexOf("</section>"));
      expect(fleet).toContain("<dt>Month to date</dt><dd>unknown</dd>");
      expect(fleet).toContain("<dt>Budget</dt><dd>$5,000.00; projection unknown</dd>");
      expect(fleet).not.toContain("$0.00");
      const mixed = renderStatusPage(daemonStatus({ models: [modelStatus(), unread] }));
      expect(mixed).toContain("$228.72 (1 not read from CloudWatch yet left out)");
    });

    it("shows the fleet budget with the projection's share of it", () => {
      const page = renderStatusPage(daemonStatus({ fleetBudgetUsd: 5_000 }));
      const fleet = page.slice(page.indexOf('class="fleet"'), page.indexOf("</section>"));
      expect(fleet).toContain("<dt>Budget</dt><dd>$5,000.00; projection 58%</dd>");
      const over = renderStatusPage(daemonStatus({ fleetBudgetUsd: 2_500 }));
      expect(over).toContain('<span class="bad">$2,500.00; projection 116% OVER</span>');
    });

    describe("a model idle outside its windows", () => {
      // 20:00: the window closed at 18:00 and the planned tail at 18:14.
      const idle = (overrides: Partial<ModelStatus>) =>
        modelStatus({
          currentWindow: undefined,
          stateSince: undefined,
          copies: undefined,
          ...overrides,
        });
      const pageAt = (...models: ModelStatus[]) =>
        renderStatusPage(daemonStatus({ now: at("20:00"), models }));

      it("is cold, as planned, in a calm colour, whether ModelCopy says cold or nothing", () => {
        for (const state of ["cold", "unknown"] as const) {
          const page = pageAt(idle({ state }));
          expect(page).toContain('<span class="state idle">cold, as planned</span>');
          expect(page).toContain(`data-state="${state}"`);
          expect(page).toContain("<dt>Models</dt><dd>1: 0 warm, 1 cold as planned</dd>");
        }
        expect(renderStatusPage(daemonStatus({ models: [] }))).toContain("<dd>0: 0 warm</dd>");
      });

      it("is not idle inside a window or a planned warm span, nor when ModelCopy reads are stale", () => {
        const inWindow = renderStatusPage(
          daemonStatus({ models: [modelStatus({ state: "unknown" })] }),
        );
        expect(inWindow).toContain('<span class="state unknown">unknown</span>');
        const inTail = renderStatusPage(
          daemonStatus({ now: at("18:10"), models: [idle({ state: "cold" })] }),
        );
        expect(inTail).toContain('<span class="state cold">cold</span>');
        const stale = pageAt(
          idle({ state: "unknown", stale: { asOf: at("19:30"), reason: "ThrottlingException" } }),
        );
        expect(stale).toContain('<span class="state unknown">unknown</span>');
        expect(stale).toContain("ModelCopy not read since 19:30 (30 min): ThrottlingException");
      });
    });

    it("labels a policy's own zone where it is not the page's, and gives its windows there too", () => {
      const la = "America/Los_Angeles";
      const page = renderStatusPage(
        daemonStatus({
          models: [
            modelStatus({
              policy: "night-batch",
              activePolicy: "night-batch",
              policyTimezone: la,
              activePolicyTimezone: la,
              // 22:00-02:00 in Los Angeles is 14:00-18:00 in Shanghai in December.
              currentWindow: undefined,
              nextWindow: { start: at("14:00"), end: at("18:00") },
            }),
          ],
        }),
      );
      expect(page).toContain(
        '<dt>Policy</dt><dd>night-batch <span class="src">(America/Los_Angeles time)</span></dd>',
      );
      expect(page).toContain(
        "none open; next 14:00\u201318:00 (22:00\u2013Mon 02:00 America/Los_Angeles)",
      );
      expect(html).toContain("<dt>Policy</dt><dd>business-hours</dd>");
      expect(page).toContain("Times in Asia/Shanghai unless marked.");
    });

    it("shows an always-on window as always on, not cut at the days looked ahead", () => {
      const now = at("11:56");
      const page = renderStatusPage(
        daemonStatus({
          now,
          models: [
            modelStatus({
              policy: "always-on",
              activePolicy: "always-on",
              currentWindow: { start: now, end: now + 8 * 86_400_000 },
              nextWindow: undefined,
              lookAheadEnd: now + 8 * 86_400_000,
            }),
          ],
        }),
      );
      expect(page).toContain("<dd>always on: no close in the next 8 days</dd>");
      expect(page).not.toContain("15 Dec");
    });

    it("tells how many window minutes so far were warm, cold or without data", () => {
      // 09:00-13:30 is 270 window minutes; 11:00-11:10 and 13:28-13:30 have no datapoint.
      expect(html).toContain("258 of 270 window minutes so far warm, 12 without ModelCopy data.");
    });

    it("counts whole minutes when now falls inside one", () => {
      const page = renderStatusPage(daemonStatus({ now: at("13:30") + 12_219 }));
      expect(page).toContain("258 of 270 window minutes so far warm, 12 without ModelCopy data.");
    });
  });

  describe("today's timeline", () => {
    const html = renderStatusPage(daemonStatus());
    const [track] = rectsOf(html, "track");
    const x0 = track?.x as number;
    const w = track?.width as number;

    it("spans the chart's whole width, whatever width the card gives it", () => {
      expect([x0, w]).toEqual([0, 100]);
      expect(html).toMatch(/<svg class="chart" height="\d+" role="img"/);
      expect(html).not.toMatch(/<svg class="chart"[^>]* (?:viewBox|width)=/);
    });
    const dayMs = 24 * 3_600_000;
    /** Where an instant of 7 December lands, as a share of the chart's width. */
    const share = (r: { x: number; width: number }) => ({
      start: (r.x - x0) / w,
      end: (r.x + r.width - x0) / w,
    });
    const expectShare = (r: { x: number; width: number } | undefined, from: string, to: string) => {
      const s = share(r as { x: number; width: number });
      expect(s.start).toBeCloseTo((at(from) - at("00:00")) / dayMs, 2);
      expect(s.end).toBeCloseTo((at(to) - at("00:00")) / dayMs, 2);
    };

    it("draws the windows and the planned warm span where their local times fall", () => {
      expectShare(rectsOf(html, "window")[0], "09:00", "18:00");
      expectShare(rectsOf(html, "planned")[0], "08:55", "18:14");
    });

    it("draws observed warm minutes over cold ones, over an unknown past up to now", () => {
      const warm = rectsOf(html, "warm");
      expect(warm).toHaveLength(2);
      expectShare(warm[0], "08:57", "11:00");
      expectShare(warm[1], "11:10", "13:28");
      expectShare(rectsOf(html, "cold")[0], "00:00", "11:00");
      expectShare(rectsOf(html, "unknown")[0], "00:00", "13:30");
    });

    it("marks each cold start and now", () => {
      expect(html.match(/<g class="cold-start"/g)).toHaveLength(1);
      expect(html).toContain("<title>cold start 08:55</title>");
      const now = /<line class="now" x1="([\d.]+)%"/.exec(html);
      expect((Number(now?.[1]) - x0) / w).toBeCloseTo((at("13:30") - at("00:00")) / dayMs, 2);
    });

    it("has no now line on a day that is not today", () => {
      const later = renderStatusPage(daemonStatus({ now: at("09:00", 8) }));
      expect(later).not.toContain('class="now"');
    });

    it("ticks each local hour, 23 of them on a spring-forward day", () => {
      const zone = "America/New_York";
      const start = DateTime.fromISO("2026-03-08T00:00", { zone });
      const range = { start: start.toMillis(), end: start.plus({ days: 1 }).toMillis() };
      const dst = renderStatusPage(
        daemonStatus({
          now: start.plus({ hours: 12 }).toMillis(),
          timezone: zone,
          models: [
            modelStatus({
              today: {
                range,
                windows: [],
                plannedWarm: [],
                observedWarm: [],
                observed: [],
                coldStarts: [],
              },
            }),
          ],
        }),
      );
      // One tick per hour start and one at the day's end.
      expect(dst.match(/class="tick"/g)).toHaveLength(24);
      expect(html.match(/class="tick"/g)).toHaveLength(25);
      expect(dst).toContain(">03</text>");
      expect(dst).not.toContain(">02</text>");
    });

    it("describes the day in words for screen readers", () => {
      expect(html).toContain(
        'aria-label="Today: windows 09:00\u201318:00; ModelCopy warm 08:57\u201311:00, 11:10\u201313:28; cold starts 08:55"',
      );
    });
  });
});

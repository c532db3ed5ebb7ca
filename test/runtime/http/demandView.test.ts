import { describe, expect, it } from "vitest";
import type { Policy } from "../../../src/domain/types.js";
import { MAX_HEATMAPS, renderDemand } from "../../../src/runtime/http/demandView.js";
import type { DemandView } from "../../../src/runtime/observe/demandWatch.js";
import { hourGrid, renderHeatmap } from "../../../src/suggest/heatmap.js";
import { heatmapSvg } from "../../../src/suggest/heatmapSvg.js";
import { SLOTS_PER_DAY } from "../../../src/suggest/types.js";

const BUSINESS: Policy = {
  name: "business-hours",
  kind: "windows",
  timezone: "Asia/Shanghai",
  windows: [{ days: new Set([1, 2, 3, 4, 5]), fromMinute: 9 * 60, toMinute: 18 * 60 + 30 }],
  holidays: [],
};

/** Evenings Monday to Thursday (20 calls an hour a week), one Saturday call at 10:00. */
function profile(): Float64Array {
  const p = new Float64Array(7 * SLOTS_PER_DAY);
  for (let d = 0; d < 4; d++) {
    for (let s = 19 * 12; s < 22 * 12; s++) p[d * SLOTS_PER_DAY + s] = 20 / 12;
  }
  p[5 * SLOTS_PER_DAY + 10 * 12] = 1;
  return p;
}

describe("heatmapSvg", () => {
  const svg = heatmapSvg(hourGrid(profile()), BUSINESS, {
    zone: "Asia/Shanghai",
    title: "mimo-vl <demand>",
  });

  it("draws a cell per hour of the week, shaded by its calls, with a tooltip", () => {
    expect(svg.match(/<rect [^>]*height="14"[^>]*><title>/g)).toHaveLength(7 * 24);
    expect(svg).toContain("<title>Mon 19:00: 20.0 calls a week</title>");
    expect(svg).toContain("<title>Sat 10:00: 1.0 calls a week</title>");
    // The busiest hours take the darkest fill; an hour without calls the lightest.
    expect(svg).toMatch(/fill="#b8321c"><title>Thu 21:00/);
    expect(svg).toMatch(/fill="#f1f3f5"><title>Sun 03:00/);
  });

  it("draws the windows under their hours, a half hour as half a bar", () => {
    const bars = svg.match(/<rect [^>]*height="3" fill="#1f4e99"\/>/g) ?? [];
    expect(bars).toHaveLength(5 * 10);
    expect(bars.filter((b) => b.includes('width="10"'))).toHaveLength(5);
  });

  it("escapes text and needs no script or style attribute (the status page's CSP)", () => {
    expect(svg).toContain("mimo-vl &lt;demand&gt;");
    expect(svg).not.toMatch(/<script|style=|href=/);
  });
});

describe("renderHeatmap", () => {
  it("shades the terminal's hours alike and marks the windows under them", () => {
    const lines = renderHeatmap(profile(), BUSINESS, { colour: false, zone: "Asia/Shanghai" });
    expect(lines[1]).toBe(`Mon  ${"  ".repeat(19)}██████`);
    expect(lines[2]).toBe(`     ${"  ".repeat(9)}${"━━".repeat(9)}━╸`);
    expect(lines[11]).toBe(`Sat  ${"  ".repeat(10)}..`);
    expect(lines.at(-1)).toBe("     ━━ the windows of business-hours (Asia/Shanghai)");
    const coloured = renderHeatmap(profile(), BUSINESS, { colour: true, zone: "Asia/Shanghai" });
    expect(coloured[1]).toContain("\x1b[38;5;196m██\x1b[0m");
  });
});

describe("renderDemand", () => {
  const view: DemandView = {
    model: "mimo-vl",
    zone: "Asia/Shanghai",
    weeks: 4,
    calls: 1_234,
    until: Date.parse("2026-12-07T00:00:00Z"),
    hours: hourGrid(profile()),
    policy: BUSINESS,
  };

  it("adds a heatmap per model read, and nothing before any is", () => {
    expect(renderDemand([], () => "")).toBe("");
    const html = renderDemand([view, { ...view, model: "llama-8b" }], () => "Mon 08:00");
    expect(html.match(/<svg /g)).toHaveLength(2);
    expect(html).toContain(
      "mimo-vl: 1234 users&#39; calls in 4 weeks (Asia/Shanghai); bars: the windows of business-hours.",
    );
  });

  it("draws at most MAX_HEATMAPS, of models with users' calls, and counts the rest", () => {
    const views = Array.from({ length: 10_000 }, (_, i) => ({
      ...view,
      model: `model-${i}`,
      calls: i % 3 === 0 ? 0 : 100,
    }));
    const html = renderDemand(views, () => "Mon 08:00");
    expect(html.match(/<svg /g)).toHaveLength(MAX_HEATMAPS);
    expect(html).not.toContain("model-0:");
    expect(html).toContain("model-1: 100 users");
    expect(html).toContain(
      `${6_666 - MAX_HEATMAPS} more models with users&#39; calls, not drawn here: keepwarm suggest --model NAME draws any of them.`,
    );
    expect(html).toContain("3334 models without users&#39; calls in the weeks read");
    expect(html.length).toBeLessThan(1_000_000);
  });
});

import { escapeXml, heatmapSvg } from "../../suggest/heatmapSvg.js";
import type { DemandView } from "../observe/demandWatch.js";

/**
 * Heatmaps drawn at most: one is ~25 KB of SVG, and a page for a fleet of thousands must
 * stay a page. The rest are counted, `keepwarm suggest --model` draws any of them.
 */
export const MAX_HEATMAPS = 24;

/**
 * The demand section: the heatmap (suggest/heatmapSvg.ts) of each model whose users called
 * it in the weeks read, with its windows under it, the first `MAX_HEATMAPS` in the order
 * given; the models without users' calls are counted. Nothing until the daemon has read
 * its users' calls.
 */
export function renderDemand(views: readonly DemandView[], time: (t: number) => string): string {
  if (views.length === 0) return "";
  const called = views.filter((v) => v.calls > 0);
  const figures = called.slice(0, MAX_HEATMAPS).map((v) => {
    const title = `${v.model}: users' calls an hour in an average week of the ${v.weeks} weeks to ${time(v.until)}, ${v.zone}`;
    return `<figure>${heatmapSvg(v.hours, v.policy, { zone: v.zone, title })}<figcaption>${escapeXml(
      `${v.model}: ${Math.round(v.calls)} users' calls in ${v.weeks} weeks (${v.zone}); bars: the windows of ${v.policy.name}. keepwarm suggest shows the windows they need.`,
    )}</figcaption></figure>`;
  });
  const notes: string[] = [];
  const more = called.length - figures.length;
  if (more > 0) {
    notes.push(
      `${more} more model${more === 1 ? "" : "s"} with users' calls, not drawn here: keepwarm suggest --model NAME draws any of them.`,
    );
  }
  const quiet = views.length - called.length;
  if (quiet > 0) {
    notes.push(
      `${quiet} model${quiet === 1 ? "" : "s"} without users' calls in the weeks read (keepwarm's own pings taken out).`,
    );
  }
  return `<section class="demand" aria-label="Users' demand">
<h2>Users' demand</h2>
${[...figures, ...notes.map((n) => `<p>${escapeXml(n)}</p>`)].join("\n")}
</section>`;
}

import { escapeXml, heatmapSvg } from "../../suggest/heatmapSvg.js";
import type { DemandView } from "../observe/demandWatch.js";

/**
 * The demand section: each model's week as a heatmap (suggest/heatmapSvg.ts) with its
 * windows under it; nothing until the daemon has read its users' calls.
 */
export function renderDemand(views: readonly DemandView[], time: (t: number) => string): string {
  if (views.length === 0) return "";
  const figures = views.map((v) => {
    const title = `${v.model}: users' calls an hour in an average week of the ${v.weeks} weeks to ${time(v.until)}, ${v.zone}`;
    return `<figure>${heatmapSvg(v.profile, v.policy, { zone: v.zone, title })}<figcaption>${escapeXml(
      `${v.model}: ${Math.round(v.calls)} users' calls in ${v.weeks} weeks (${v.zone}); bars: the windows of ${v.policy.name}. keepwarm suggest shows the windows they need.`,
    )}</figcaption></figure>`;
  });
  return `<section class="demand" aria-label="Users' demand">
<h2>Users' demand</h2>
${figures.join("\n")}
</section>`;
}

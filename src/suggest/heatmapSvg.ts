import type { Policy } from "../domain/types.js";
import { type HourGrid, shadeOf, WEEKDAY_NAMES, windowHours } from "./heatmap.js";

/** From no calls to the busiest hour: the terminal heatmap's shades, as fills. */
const FILLS = ["#f1f3f5", "#fde9a9", "#fbc46b", "#f39a3c", "#e0622a", "#b8321c"] as const;
const WINDOW_FILL = "#1f4e99";

// The grid in viewBox units: a label column, 24 hour cells a row, a window bar under each.
const LABEL_W = 34;
const CELL_W = 20;
const CELL_H = 14;
const BAR_H = 3;
const ROW_H = CELL_H + BAR_H + 3;
const TOP = 14;

const ESCAPES: Record<string, string> = {
  "&": "&amp;",
  "<": "&lt;",
  ">": "&gt;",
  '"': "&quot;",
  "'": "&#39;",
};

/** Text and attribute values for SVG (and HTML). */
export const escapeXml = (text: string) => text.replace(/[&<>"']/g, (c) => ESCAPES[c] as string);

/**
 * The week's demand (`hourGrid`) as an SVG heatmap, the terminal's in colour: a row per weekday, a cell
 * per hour shaded by its calls in an average week (its count in a tooltip), and under each
 * row a bar where the policy's windows are, and a legend. Self-contained: no script, no
 * style sheet, colours as presentation attributes (the status page's CSP allows no other).
 */
export function heatmapSvg(
  grid: HourGrid,
  policy: Policy,
  options: { readonly zone: string; readonly title: string },
): string {
  const windows = windowHours(policy);
  const busiest = Math.max(0, ...grid.flat());
  const width = LABEL_W + 24 * CELL_W;
  const height = TOP + 7 * ROW_H + 18;
  const parts: string[] = [
    `<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 ${width} ${height}" role="img" aria-label="${escapeXml(options.title)}" font-size="9" font-family="system-ui,sans-serif">`,
    `<title>${escapeXml(options.title)}</title>`,
  ];
  for (let h = 0; h < 24; h += 3) {
    parts.push(
      `<text x="${LABEL_W + h * CELL_W + 1}" y="9" fill="#555">${String(h).padStart(2, "0")}</text>`,
    );
  }
  grid.forEach((hours, d) => {
    const y = TOP + d * ROW_H;
    parts.push(`<text x="0" y="${y + 10}" fill="#333">${WEEKDAY_NAMES[d]}</text>`);
    hours.forEach((calls, h) => {
      const x = LABEL_W + h * CELL_W;
      const fill = FILLS[shadeOf(calls, busiest)];
      const tip = `${WEEKDAY_NAMES[d]} ${String(h).padStart(2, "0")}:00: ${calls.toFixed(1)} calls a week`;
      parts.push(
        `<rect x="${x}" y="${y}" width="${CELL_W - 1}" height="${CELL_H}" fill="${fill}"><title>${tip}</title></rect>`,
      );
      const quarters = windows[d]?.[h] ?? 0;
      if (quarters > 0) {
        parts.push(
          `<rect x="${x}" y="${y + CELL_H + 1}" width="${(CELL_W * quarters) / 4}" height="${BAR_H}" fill="${WINDOW_FILL}"/>`,
        );
      }
    });
  });
  // The legend: what each shade stands for, and the window bar.
  const legendY = TOP + 7 * ROW_H + 4;
  const keys = [
    ...FILLS.slice(1).map((fill, i) => ({
      fill,
      label: `\u2264 ${Math.round(((i + 1) / 5) * busiest)}`,
    })),
    { fill: WINDOW_FILL, label: `windows of ${policy.name}` },
  ];
  let x = LABEL_W;
  parts.push(`<text x="0" y="${legendY + 8}" fill="#555">calls/h</text>`);
  for (const key of keys) {
    parts.push(
      `<rect x="${x}" y="${legendY}" width="9" height="9" fill="${key.fill}"/>`,
      `<text x="${x + 12}" y="${legendY + 8}" fill="#555">${escapeXml(key.label)}</text>`,
    );
    x += 12 + key.label.length * 5 + 8;
  }
  parts.push("</svg>");
  return parts.join("");
}

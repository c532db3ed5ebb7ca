import { formatUsd } from "../../domain/format.js";
import { groupFigures, type ReconcileGroup } from "../../reconcile/types.js";
import type { Logger } from "../infra/logger.js";

/** A model's price as keepwarm applies it, to name in a mismatch's likely causes. */
export interface PriceNote {
  readonly usdPerCmuMinute: number;
  readonly storageUsdPerCmuMonth: number;
  /** Where the price comes from: the built-in table and its date, or a config field. */
  readonly source?: string | undefined;
}

/** Ratios of CMU counts a wrong count would produce: AWS's count over keepwarm's, up to 8 each. */
const CMU_RATIOS: readonly { aws: number; keepwarm: number }[] = (() => {
  const out: { aws: number; keepwarm: number }[] = [];
  for (let aws = 1; aws <= 8; aws++) {
    for (let keepwarm = 1; keepwarm <= 8; keepwarm++) {
      if (aws !== keepwarm && gcd(aws, keepwarm) === 1) out.push({ aws, keepwarm });
    }
  }
  return out;
})();

function gcd(a: number, b: number): number {
  return b === 0 ? a : gcd(b, a % b);
}

/**
 * What most likely makes AWS's figure differ from keepwarm's, most likely first. A ratio of
 * two small whole numbers points at a CMU count (AWS bills per CMU, counts are whole); any
 * other steady ratio at a price; a difference that follows the day's warm-ups and cool-downs
 * at AWS billing by another rule than 5-minute windows from the first call.
 */
export function likelyCauses(
  group: Pick<ReconcileGroup, "kind" | "models" | "keepwarmUsd" | "awsUsd">,
  prices: ReadonlyMap<string, PriceNote>,
): string[] {
  const { keepwarmUsd: ours, awsUsd: theirs } = group;
  if (ours === null || theirs === null || ours <= 0) return [];
  const ratio = theirs / ours;
  const models = group.models.join(", ") || "the models of this usage type";
  const causes: string[] = [];
  // A wrong count gives the ratio exactly, but for cents: 0.2% keeps other causes out.
  const cmu = CMU_RATIOS.find((r) => Math.abs(ratio - r.aws / r.keepwarm) <= 0.002 * ratio);
  if (cmu) {
    causes.push(
      `a wrong CMU count: AWS billed ${cmu.aws}/${cmu.keepwarm} of keepwarm's figure, as if each copy held ${cmu.aws} CMUs for every ${cmu.keepwarm} keepwarm counts; compare customModelUnits of ${models} with GetImportedModel`,
    );
  }
  const priced = group.models.flatMap((m) => {
    const p = prices.get(m);
    return p ? [`${m} at ${priceText(group.kind, p)}${p.source ? ` (${p.source})` : ""}`] : [];
  });
  causes.push(
    `a price change: keepwarm priced ${priced.join("; ") || models}; a new price shows as the same ratio (here ${ratio.toFixed(3)}) day after day: set pricing in the config`,
  );
  causes.push(
    group.kind === "storage"
      ? "AWS billing storage by another rule: by the hour or by the day a model is imported, not a month's price spread over the days"
      : ratio > 1
        ? "AWS billing by another rule than 5-minute windows from the first call (longer windows, or counted from another instant): the difference then grows with the day's warm-ups and cool-downs"
        : "AWS billing fewer minutes than ModelCopy shows: shorter windows, or copies ModelCopy counts that AWS does not bill",
  );
  return causes;
}

function priceText(kind: ReconcileGroup["kind"], p: PriceNote): string {
  return kind === "storage"
    ? `$${p.storageUsdPerCmuMonth} per CMU-month`
    : `$${p.usdPerCmuMinute} per CMU-minute`;
}

const usdText = (x: number | null) => (x === null ? "unknown" : formatUsd(x));
const pctText = (x: number | null) => (x === null ? "" : ` (${x >= 0 ? "+" : ""}${x.toFixed(1)}%)`);

/**
 * One `reconcile` line per usage type of a final day: info on a match (debug when neither
 * side billed anything), warn on a mismatch (with both figures and the likely causes) and on
 * imports AWS bills that the config does not name or whose keepwarm figure is unknown.
 */
export function logReconciledGroup(
  log: Logger,
  date: string,
  g: ReconcileGroup,
  prices: ReadonlyMap<string, PriceNote>,
): void {
  const figures = `keepwarm ${usdText(g.keepwarmUsd)}, AWS ${usdText(g.awsUsd)}${pctText(g.diffPct)}`;
  const causes = g.status === "mismatch" ? likelyCauses(g, prices) : [];
  const fields = {
    event: "reconcile" as const,
    date,
    ...groupFigures(g),
    likelyCauses: causes,
  };
  if (g.status === "match") {
    // Nothing billed on either side (a day before the import, an idle usage type): no news.
    const nothing = g.keepwarmUsd === 0 && g.awsUsd === 0;
    log[nothing ? "debug" : "info"](fields, `${date} ${g.usageType}: ${figures}: match`);
  } else if (g.status === "mismatch") {
    log.warn(
      fields,
      `${date} ${g.usageType}: ${figures}: mismatch; most likely ${causes[0] ?? "unknown"}`,
    );
  } else if (g.status === "unmanaged") {
    log.warn(
      fields,
      `${date} ${g.usageType}: AWS billed ${usdText(g.awsUsd)} for imports the config does not name (${g.unmanaged.join(", ") || "unknown"}): delete them or add them to the config`,
    );
  } else {
    log.warn(
      fields,
      `${date} ${g.usageType}: AWS billed ${usdText(g.awsUsd)}; keepwarm's figure is unknown (a CMU count or price unknown, or ModelCopy older than CloudWatch keeps)`,
    );
  }
}

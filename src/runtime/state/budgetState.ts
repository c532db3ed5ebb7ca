import { join } from "node:path";
import { BUDGET_THRESHOLDS, type BudgetCrossing } from "../../domain/budget.js";
import { KeepwarmError } from "../../domain/errors.js";
import { readStateFile, StateFileRefusedError, writeFileAtomic } from "./stateFiles.js";

/** The budget crossings announced so far, so that a restart does not announce them again. */
export const BUDGETS_FILE = "budgets.json";
/**
 * The largest budgets.json read. 20,000 models that each crossed 80% and 100% of their
 * budget this month and last, and the fleet too, make a file of 20.5 MB: the most keepwarm
 * can write for that fleet.
 */
export const BUDGETS_MAX_BYTES = 32 * 1024 * 1024;

/** budgets.json cannot be read or is not what keepwarm writes. */
export class BudgetStateError extends KeepwarmError {
  override readonly name = "BudgetStateError";
}

/**
 * The crossings in `stateDir`; none when the file does not exist yet. A file that is not a
 * regular one, or is larger than BUDGETS_MAX_BYTES, is refused before it is read.
 */
export async function readBudgetCrossings(stateDir: string): Promise<BudgetCrossing[]> {
  const path = join(stateDir, BUDGETS_FILE);
  let text: string;
  try {
    text = await readStateFile(path, { maxBytes: BUDGETS_MAX_BYTES });
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === "ENOENT") return [];
    const message =
      error instanceof StateFileRefusedError
        ? error.message
        : `cannot read ${path}: ${(error as Error).message}`;
    throw new BudgetStateError(message, { cause: error });
  }
  let parsed: unknown;
  try {
    parsed = JSON.parse(text);
  } catch (error) {
    throw new BudgetStateError(`${path}: not JSON: ${(error as Error).message}`, { cause: error });
  }
  const list = (parsed as { crossings?: unknown } | null)?.crossings;
  if (!Array.isArray(list)) throw new BudgetStateError(`${path}: no crossings list`);
  list.forEach((c, i) => {
    if (!isCrossing(c)) {
      throw new BudgetStateError(`${path}: crossings[${i}] is not a budget crossing`);
    }
  });
  return list as BudgetCrossing[];
}

/**
 * Replaces the file whole (stateFiles.writeFileAtomic): a crash or a full disk leaves either
 * the old list or the new one, never half of one.
 */
export async function writeBudgetCrossings(
  stateDir: string,
  crossings: readonly BudgetCrossing[],
): Promise<string> {
  const path = join(stateDir, BUDGETS_FILE);
  await writeFileAtomic(path, `${JSON.stringify({ crossings }, null, 1)}\n`);
  return path;
}

function isCrossing(value: unknown): boolean {
  const c = value as Partial<Record<keyof BudgetCrossing, unknown>> | null;
  return (
    typeof c === "object" &&
    c !== null &&
    (c.model === null || typeof c.model === "string") &&
    typeof c.month === "string" &&
    BUDGET_THRESHOLDS.some((t) => t === c.threshold) &&
    typeof c.at === "number" &&
    typeof c.budgetUsd === "number" &&
    typeof c.projectedMonthUsd === "number" &&
    typeof c.monthToDateUsd === "number" &&
    (c.reachedOn === null || typeof c.reachedOn === "string") &&
    Array.isArray(c.modelsWithUnknownCmu)
  );
}

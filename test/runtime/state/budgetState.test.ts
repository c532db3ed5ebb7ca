import { mkdtempSync, readdirSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import type { BudgetCrossing } from "../../../src/domain/budget.js";
import {
  BUDGETS_FILE,
  BudgetStateError,
  readBudgetCrossings,
  writeBudgetCrossings,
} from "../../../src/runtime/state/budgetState.js";

const crossing: BudgetCrossing = {
  model: null,
  month: "2026-12",
  threshold: 100,
  at: Date.UTC(2026, 11, 7, 1),
  budgetUsd: 5_000,
  projectedMonthUsd: 7_193.76,
  monthToDateUsd: 3_703.5,
  reachedOn: "2026-12-11",
  modelsWithUnknownCmu: ["gone"],
};

const dir = () => mkdtempSync(join(tmpdir(), "kw-budgets-"));

describe("readBudgetCrossings", () => {
  it("reads none before the first write", async () => {
    expect(await readBudgetCrossings(dir())).toEqual([]);
  });

  it("reads back what was written, leaving no temporary file", async () => {
    const d = join(dir(), "state");
    await writeBudgetCrossings(d, [crossing]);
    await writeBudgetCrossings(d, [crossing, { ...crossing, threshold: 80 }]);
    expect(await readBudgetCrossings(d)).toEqual([crossing, { ...crossing, threshold: 80 }]);
    expect(readdirSync(d)).toEqual([BUDGETS_FILE]);
  });

  it.each([
    ["{", /not JSON/],
    ['{"announced": []}', /no crossings list/],
    ['{"crossings": [{"model": "a", "threshold": 50}]}', /crossings\[0\] is not a budget crossing/],
  ])("refuses %s with a BudgetStateError naming the file", async (text, message) => {
    const d = dir();
    writeFileSync(join(d, BUDGETS_FILE), text);
    const read = readBudgetCrossings(d);
    await expect(read).rejects.toBeInstanceOf(BudgetStateError);
    await expect(read).rejects.toThrow(message);
    await expect(read).rejects.toThrow(join(d, BUDGETS_FILE));
  });
});

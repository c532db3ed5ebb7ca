import { tmpdir } from "node:os";
import { describe, expect, it } from "vitest";
import { parseConfigText } from "../../../src/config/load.js";
import type { ModelConfig, ResolvedConfig } from "../../../src/domain/types.js";
import { diffFleet } from "../../../src/runtime/keep/configDiff.js";

const ARN_A = "arn:aws:bedrock:us-west-2:123456789012:imported-model/aaaaaaaaaaaa";
const ARN_B = "arn:aws:bedrock:us-west-2:123456789012:imported-model/bbbbbbbbbbbb";
const ARN_C = "arn:aws:bedrock:us-west-2:123456789012:imported-model/cccccccccccc";
const ARN_D = "arn:aws:bedrock:us-west-2:123456789012:imported-model/dddddddddddd";

function config(models: string, extra = ""): ResolvedConfig {
  const loaded = parseConfigText(`timezone: Asia/Shanghai\n${extra}models:\n${models}`, "k.yaml", {
    stateDir: tmpdir(),
  });
  if (!loaded.ok) throw new Error(JSON.stringify(loaded.problems));
  return loaded.config;
}

const model = (name: string, arn: string, policy = "business-hours") =>
  `  - name: ${name}\n    modelArn: ${arn}\n    policy: ${policy}\n    customModelUnits: 4\n`;

function running(c: ResolvedConfig): Map<string, ModelConfig> {
  return new Map(c.models.map((m) => [m.name, m]));
}

describe("diffFleet", () => {
  it("sorts a reload's models into added, replaced (new ARN), kept and removed", () => {
    const before = config(model("a", ARN_A) + model("b", ARN_B) + model("c", ARN_C));
    const after = config(model("a", ARN_A) + model("b", ARN_C) + model("d", ARN_D));
    const diff = diffFleet(before, running(before), after);
    expect(diff.added.map((m) => m.name)).toEqual(["d"]);
    expect(diff.replaced.map((m) => m.name)).toEqual(["b"]);
    expect(diff.kept.map((k) => [k.model.name, k.planChanged])).toEqual([["a", false]]);
    expect(diff.removed).toEqual(["c"]);
  });

  it("says a kept model's plan changed when its policy, its override or its own settings do", () => {
    const before = config(model("a", ARN_A));
    const policy = config(model("a", ARN_A, "always-on"));
    const override = config(
      model("a", ARN_A),
      "overrides:\n  - models: [a]\n    policy: off\n    from: 2026-12-24T00:00:00+08:00\n    until: 2026-12-26T00:00:00+08:00\n",
    );
    for (const after of [policy, override]) {
      expect(diffFleet(before, running(before), after).kept[0]?.planChanged).toBe(true);
    }
  });

  it("diffs against the models running, not the previous config's list", () => {
    const before = config(model("a", ARN_A) + model("b", ARN_B));
    const onlyA = new Map([["a", before.models[0] as ModelConfig]]);
    const diff = diffFleet(before, onlyA, before);
    expect(diff.added.map((m) => m.name)).toEqual(["b"]);
    expect(diff.removed).toEqual([]);
  });
});

import { type FaultSpec, FaultSpecError } from "./faults.js";
import type { SimService } from "./service.js";

/**
 * The simulator's own endpoints under /_sim/: its ledger and model states, and the faults
 * scripted on it. Undefined for a path that is not one of them.
 */
export function controlAnswer(
  sim: SimService,
  method: string | undefined,
  path: string,
  query: URLSearchParams,
  body: Buffer,
): [number, unknown] | undefined {
  if (method === "GET" && path === "/_sim/ledger") {
    const start = query.get("start");
    const end = query.get("end");
    const range =
      start !== null && end !== null
        ? { start: parseInstant(start), end: parseInstant(end) }
        : undefined;
    return [200, sim.ledger(range)];
  }
  if (path === "/_sim/faults" || path.startsWith("/_sim/faults/")) {
    return scriptFaults(sim, method ?? "GET", path, body);
  }
  if (method === "GET" && path === "/_sim/state") {
    const models = sim
      .models()
      .map((m) => ({ modelArn: m.modelArn, ...sim.modelState(m.modelArn) }));
    return [200, { now: sim.clock.now(), models }];
  }
  return undefined;
}

/** Scripts faults of a running simulator: the in-process `FaultSpec` as JSON, instants in epoch ms. */
function scriptFaults(
  sim: SimService,
  method: string,
  path: string,
  body: Buffer,
): [number, unknown] {
  const id = path.slice("/_sim/faults/".length);
  if (method === "GET" && path === "/_sim/faults") return [200, sim.faults.list()];
  if (method === "POST" && path === "/_sim/faults") {
    try {
      return [201, { id: sim.faults.add(JSON.parse(body.toString("utf8")) as FaultSpec) }];
    } catch (err) {
      if (!(err instanceof FaultSpecError || err instanceof SyntaxError)) throw err;
      return [400, { message: err.message }];
    }
  }
  if (method === "DELETE" && path === "/_sim/faults") {
    sim.faults.clear();
    return [200, {}];
  }
  if (method === "DELETE" && /^\d+$/.test(id)) {
    return sim.faults.remove(Number(id)) ? [200, {}] : [404, { message: `no fault ${id}` }];
  }
  return [405, { message: `${method} ${path} is not supported` }];
}

function parseInstant(v: string): number {
  const n = Number(v);
  return Number.isFinite(n) ? n : Date.parse(v);
}

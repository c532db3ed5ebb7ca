// A daemon on the simulator with its HTTP port, in a process whose file descriptors the
// flood test limits: prints the port's URL, waits for a line on stdin (the flood is open),
// then runs virtual time through the first window's warm-up and prints what the pings met.
import { once } from "node:events";
import { PromMetrics } from "../../../src/runtime/http/promMetrics.js";
import { startHttpServer } from "../../../src/runtime/http/server.js";
import {
  businessHoursYaml,
  configOf,
  eventsOf,
  local,
  MIMO_VL,
  startHarness,
} from "../../e2e/daemonHarness.js";

const h = await startHarness({
  config: configOf(businessHoursYaml({ models: [MIMO_VL] })),
  start: local("08:50"),
});
const http = await startHttpServer({
  host: "127.0.0.1",
  port: 0,
  registry: new PromMetrics({ processMetrics: false }).registry,
  status: () => h.daemon.status(),
  logger: h.logger,
});
process.stdout.write(`${JSON.stringify({ url: http.url })}\n`);
await once(process.stdin, "data");

await h.daemon.start();
await h.clock.runUntil(local("09:05"));
const report = {
  pings: eventsOf(h.lines, "ping", "mimo-vl").map((l) => l.result),
  warm: eventsOf(h.lines, "warm", "mimo-vl").length,
  emfile: h.lines.filter((l) => JSON.stringify(l).includes("EMFILE")).length,
};
process.stdout.write(`${JSON.stringify(report)}\n`);
await http.close();
await h.close();
process.exit(0);

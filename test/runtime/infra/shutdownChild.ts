import type { Logger as PinoLogger } from "pino";
// A keepwarm-shaped process for the shutdown test: a real HTTP server, a stand-in daemon
// whose one in-flight ping takes PING_MS (never ends if negative), and installShutdown.

import { PromMetrics } from "../../../src/runtime/http/promMetrics.js";
import { startHttpServer } from "../../../src/runtime/http/server.js";
import { createLogger } from "../../../src/runtime/infra/logger.js";
import { installShutdown } from "../../../src/runtime/infra/shutdown.js";

const pingMs = Number(process.argv[2]);
const graceMs = Number(process.argv[3]);
const logger = createLogger();
const http = await startHttpServer({
  port: 0,
  registry: new PromMetrics().registry,
  status: () => ({
    now: Date.now(),
    timezone: "UTC",
    simulated: false,
    ready: true,
    configLoaded: true,
    firstReconcileDone: true,
    fleetBudgetUsd: undefined,
    models: [],
  }),
  logger,
});
/** The test's own marker lines, outside keepwarm's events. */
const markers = logger as unknown as PinoLogger;
const inFlight = new Promise<void>((resolve) => {
  if (pingMs < 0) return;
  setTimeout(() => {
    markers.info({ event: "ping-finished" });
    resolve();
  }, pingMs);
});
const daemon = {
  async stop() {
    markers.info({ event: "scheduling-stopped" });
    await inFlight;
  },
};
installShutdown({ daemon, http, logger, graceMs });
markers.info({ event: "ready", url: http.url });

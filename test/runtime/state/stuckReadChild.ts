import { open } from "node:fs/promises";
import type { Logger as PinoLogger } from "pino";
// A keepwarm-shaped process whose timings.json never answers, as on a stale NFS mount: the
// state directory's file system opens it blocking, so on the FIFO the test puts there the
// open waits in the kernel for a writer that never comes. Loads the timings, installs
// the shutdown handlers and says "ready".

import { createLogger } from "../../../src/runtime/infra/logger.js";
import { installShutdown } from "../../../src/runtime/infra/shutdown.js";
import { LearnedTimings } from "../../../src/runtime/state/learnedTimings.js";
import {
  nodeStateFileSystem,
  type StateFileSystem,
} from "../../../src/runtime/state/stateFiles.js";

const stateDir = process.argv[2] as string;
const graceMs = Number(process.argv[3]);
const logger = createLogger();
const stuck: StateFileSystem = { ...nodeStateFileSystem, open: (path) => open(path, "r") };
const learned = new LearnedTimings(stateDir, logger, { fs: stuck, readTimeoutMs: 300 });
await learned.load();
installShutdown({ daemon: { stop: () => learned.flush() }, logger, graceMs });
/** The test's own marker line, outside keepwarm's events. */
(logger as unknown as PinoLogger).info({ event: "ready" });

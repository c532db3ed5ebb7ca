#!/usr/bin/env node
import { nodeVersionProblem } from "./nodeCheck.js";

// Checked before the rest is loaded: an older Node would fail in a dependency instead.
const problem = nodeVersionProblem(process.versions.node, process.execPath);
if (problem !== undefined) {
  process.stderr.write(`${problem}\n`);
  process.exit(1);
}
await import("./program.js");

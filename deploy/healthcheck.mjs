// The container HEALTHCHECK: GET /healthz on keepwarm's own HTTP port, exit 0 when it answers
// 200 within the timeout, 1 otherwise. Plain node, because the image ships no curl.
import { request } from "node:http";

// Below the HEALTHCHECK --timeout (5 s), so a hung daemon is reported by this script itself.
const TIMEOUT_MS = Number(process.env.KEEPWARM_HEALTHCHECK_TIMEOUT_MS || 3000);

/** A wildcard bind address is reachable on loopback; a specific one only on itself. */
function probeHost(bindHost) {
  if (!bindHost || bindHost === "0.0.0.0") return "127.0.0.1";
  if (bindHost === "::" || bindHost === "[::]") return "::1";
  return bindHost.replace(/^\[(.*)\]$/, "$1");
}

const host = probeHost(process.env.KEEPWARM_HTTP_HOST);
const port = Number(process.env.KEEPWARM_HTTP_PORT || 9464);

const req = request({ host, port, path: "/healthz", method: "GET", timeout: TIMEOUT_MS }, (res) => {
  res.resume();
  if (res.statusCode === 200) process.exit(0);
  console.error(`healthcheck: http://${host}:${port}/healthz answered ${res.statusCode}`);
  process.exit(1);
});
req.on("timeout", () => {
  console.error(`healthcheck: http://${host}:${port}/healthz gave no answer in ${TIMEOUT_MS} ms`);
  req.destroy();
  process.exit(1);
});
req.on("error", (error) => {
  console.error(`healthcheck: http://${host}:${port}/healthz: ${error.message}`);
  process.exit(1);
});
req.end();

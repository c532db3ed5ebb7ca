import { type ChildProcess, spawn, spawnSync } from "node:child_process";
import net from "node:net";
import {
  CloudWatchClient,
  GetMetricDataCommand,
  ListMetricsCommand,
  type MetricDatum,
  PutMetricDataCommand,
} from "@aws-sdk/client-cloudwatch";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { ManualClock } from "../../src/sim/clock.js";
import { STATISTICS } from "../../src/sim/metrics.js";
import type { SimServer } from "../../src/sim/server.js";
import { Simulator } from "../../src/sim/simulator.js";
import { skipWithout } from "../requiredTools.js";
import { CREDENTIALS, MIN } from "./harness.js";

const HOUR = 60 * MIN;
/** Where .ci/install-test-tools.sh puts moto: Debian 12 refuses `pip install` outside a venv. */
const MOTO_VENV_PYTHON = "/opt/keepwarm-moto/bin/python";
const INSTALL_HINT =
  "python3 with moto 5 is missing: python3 -m venv /opt/keepwarm-moto && /opt/keepwarm-moto/bin/pip install 'moto[server]>=5,<6' (or set KEEPWARM_MOTO_PYTHON to a python that has it)";

/**
 * The first python that imports moto.server: $KEEPWARM_MOTO_PYTHON, the CI venv, then python3
 * on PATH; undefined when none does.
 */
function findMotoPython(): { python: string; version: string } | undefined {
  const candidates = [process.env.KEEPWARM_MOTO_PYTHON, MOTO_VENV_PYTHON, "python3"].filter(
    (p): p is string => p !== undefined && p !== "",
  );
  for (const python of candidates) {
    const probe = spawnSync(python, ["-c", "import moto.server, moto; print(moto.__version__)"], {
      encoding: "utf8",
    });
    if (!probe.error && probe.status === 0) return { python, version: probe.stdout.trim() };
  }
  return undefined;
}

const moto = findMotoPython();

function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const probe = net.createServer();
    probe.once("error", reject);
    probe.listen(0, "127.0.0.1", () => {
      const { port } = probe.address() as net.AddressInfo;
      probe.close(() => resolve(port));
    });
  });
}

function canConnect(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const s = net.connect(port, "127.0.0.1");
    s.once("connect", () => {
      s.destroy();
      resolve(true);
    });
    s.once("error", () => resolve(false));
  });
}

/** Starts moto with `python` on a free port; another process may take the port first, so it retries. */
async function startMoto(python: string): Promise<{ child: ChildProcess; port: number }> {
  let lastFailure = "";
  for (let attempt = 0; attempt < 3; attempt++) {
    const port = await freePort();
    const child = spawn(python, ["-m", "moto.server", "-H", "127.0.0.1", "-p", String(port)], {
      stdio: ["ignore", "ignore", "pipe"],
    });
    let stderr = "";
    child.stderr?.on("data", (d) => {
      stderr += String(d);
    });
    // Should this process die without running afterAll, moto must not outlive it.
    process.once("exit", () => child.kill("SIGKILL"));
    const deadline = Date.now() + 15_000;
    while (Date.now() < deadline && child.exitCode === null) {
      if (await canConnect(port)) return { child, port };
      await new Promise((r) => setTimeout(r, 100));
    }
    child.kill("SIGKILL");
    lastFailure = stderr.trim().split("\n").slice(-3).join(" | ");
  }
  throw new Error(`moto.server did not start: ${lastFailure}`);
}

/** A deterministic history: four series, several samples in some minutes, gaps in others. */
function history(base: number): { Namespace: string; MetricData: MetricDatum[] }[] {
  let seed = 7;
  const rand = () => {
    seed = (seed * 1103515245 + 12345) % 2 ** 31;
    return seed / 2 ** 31;
  };
  const series = [
    { MetricName: "Latency", Dimensions: [{ Name: "Host", Value: "a" }] },
    { MetricName: "Latency", Dimensions: [{ Name: "Host", Value: "b" }] },
    {
      MetricName: "Requests",
      Dimensions: [
        { Name: "Host", Value: "a" },
        { Name: "Stage", Value: "prod" },
      ],
    },
    { MetricName: "Copies", Dimensions: [{ Name: "ModelId", Value: "m1" }] },
  ];
  const puts: { Namespace: string; MetricData: MetricDatum[] }[] = [];
  for (let k = 0; k < 40; k++) {
    const MetricData: MetricDatum[] = [];
    for (const [i, s] of series.entries()) {
      if (rand() < 0.3) continue; // a missing minute
      const Timestamp = new Date(base + Math.floor(rand() * 170 * MIN));
      const kind = (k + i) % 3;
      if (kind === 0) MetricData.push({ ...s, Timestamp, Value: Math.round(rand() * 1000) / 10 });
      else if (kind === 1) {
        MetricData.push({
          ...s,
          Timestamp,
          Values: [1, 2.5, Math.round(rand() * 100)],
          Counts: [1, 3, 2],
        });
      } else {
        const min = Math.round(rand() * 10);
        MetricData.push({
          ...s,
          Timestamp,
          StatisticValues: { SampleCount: 4, Sum: min * 4 + 6, Minimum: min, Maximum: min + 3 },
        });
      }
    }
    if (MetricData.length > 0) puts.push({ Namespace: "Conformance", MetricData });
  }
  return puts;
}

describe.skipIf(skipWithout(moto !== undefined, "python3 with moto (moto.server)"))(
  moto ? "Simulator CloudWatch" : `Simulator CloudWatch (SKIPPED: ${INSTALL_HINT})`,
  () => {
    let motoServer: { child: ChildProcess; port: number } | undefined;
    let server: SimServer | undefined;
    let simClient: CloudWatchClient;
    let motoClient: CloudWatchClient;
    let base: number;
    let end: number;

    beforeAll(async () => {
      motoServer = await startMoto(moto?.python as string);
      const now = Date.now();
      base = Math.floor(now / HOUR) * HOUR - 3 * HOUR;
      end = base + 3 * HOUR;
      const sim = new Simulator({ clock: new ManualClock(now), settings: { publishDelayMs: 0 } });
      server = await sim.listen();
      const common = { region: "us-east-1", credentials: CREDENTIALS };
      simClient = new CloudWatchClient({ ...common, endpoint: server.url });
      motoClient = new CloudWatchClient({
        ...common,
        endpoint: `http://127.0.0.1:${motoServer.port}`,
      });
      for (const put of history(base)) {
        await simClient.send(new PutMetricDataCommand(put));
        await motoClient.send(new PutMetricDataCommand(put));
      }
    }, 60_000);

    afterAll(async () => {
      simClient?.destroy();
      motoClient?.destroy();
      await server?.close();
      if (motoServer && motoServer.child.exitCode === null) {
        const exited = new Promise((r) => motoServer?.child.once("exit", r));
        motoServer.child.kill("SIGTERM");
        await exited;
      }
    });

    describe("conformance with moto", () => {
      const dims: [string, { Name: string; Value: string }[]][] = [
        ["Latency", [{ Name: "Host", Value: "a" }]],
        ["Latency", [{ Name: "Host", Value: "b" }]],
        // In the order they were put: moto 5.2 misses a dimension set asked in another order.
        [
          "Requests",
          [
            { Name: "Host", Value: "a" },
            { Name: "Stage", Value: "prod" },
          ],
        ],
        ["Copies", [{ Name: "ModelId", Value: "m1" }]],
      ];
      const cases = [60, 300, 3600].flatMap((period) =>
        STATISTICS.map((stat) => [period, stat] as const),
      );

      it.each(cases)(
        "gives moto's GetMetricData results for period %i %s",
        async (period, stat) => {
          const input = {
            StartTime: new Date(base),
            EndTime: new Date(end),
            MetricDataQueries: dims.map(([MetricName, Dimensions], i) => ({
              Id: `q${i}`,
              MetricStat: {
                Metric: { Namespace: "Conformance", MetricName, Dimensions },
                Period: period,
                Stat: stat,
              },
            })),
          };
          const [ours, theirs] = await Promise.all([
            simClient.send(new GetMetricDataCommand(input)),
            motoClient.send(new GetMetricDataCommand(input)),
          ]);
          const shape = (out: typeof ours) =>
            (out.MetricDataResults ?? []).map((r) => ({
              id: r.Id,
              status: r.StatusCode,
              timestamps: r.Timestamps?.map((t) => t.getTime()),
              values: r.Values,
            }));
          const a = shape(ours);
          const b = shape(theirs);
          expect(a.map((r) => r.timestamps?.length ?? 0).reduce((x, y) => x + y)).toBeGreaterThan(
            0,
          );
          expect(a.map(({ values: _, ...r }) => r)).toEqual(b.map(({ values: _, ...r }) => r));
          for (const [i, r] of a.entries()) {
            for (const [j, v] of (r.values ?? []).entries()) {
              expect(v).toBeCloseTo(b[i]?.values?.[j] as number, 9);
            }
          }
        },
      );

      it("lists the same metrics as moto", async () => {
        const list = async (client: CloudWatchClient) =>
          ((await client.send(new ListMetricsCommand({ Namespace: "Conformance" }))).Metrics ?? [])
            .map(
              (m) =>
                `${m.MetricName} ${(m.Dimensions ?? [])
                  .map((d) => `${d.Name}=${d.Value}`)
                  .sort()
                  .join(",")}`,
            )
            .sort();
        // moto lists a metric once per stored datapoint; CloudWatch lists it once.
        expect(await list(simClient)).toEqual([...new Set(await list(motoClient))]);
      });
    });
  },
);

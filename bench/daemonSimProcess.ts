import { ManualClock, type SimModelSpec, Simulator } from "../src/sim/index.js";

// The simulator for bench/daemon.bench.ts, in a process of its own so that the daemon's
// CPU time and peak RSS are the daemon's. The parent drives its clock over IPC: each
// message is an instant, acknowledged once the clock reads it.
interface Start {
  readonly start: number;
  readonly models: readonly SimModelSpec[];
}

const send = (message: unknown) =>
  new Promise<void>((resolve, reject) =>
    process.send?.(message, undefined, {}, (err) => (err ? reject(err) : resolve())),
  );

process.once("message", async (init: Start) => {
  const clock = new ManualClock(init.start);
  const sim = new Simulator({ clock, models: init.models });
  const server = await sim.listen();
  process.on("message", (t: number | "stop") => {
    if (t === "stop") {
      const usage = process.cpuUsage();
      void send({
        cpuMs: (usage.user + usage.system) / 1000,
        maxRssKb: process.resourceUsage().maxRSS,
        ...sim.getMetricDataUsage(),
      })
        .then(() => server.close())
        .then(() => process.exit(0));
      return;
    }
    clock.set(t);
    void send(t);
  });
  await send({ url: server.url });
});

/// <reference lib="dom" />
import { existsSync, mkdirSync, mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import puppeteer, { type Browser, type Page } from "puppeteer-core";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { formatUsd } from "../../src/domain/format.js";
import { PromMetrics } from "../../src/runtime/http/promMetrics.js";
import { type HttpServer, startHttpServer } from "../../src/runtime/http/server.js";
import type { StatusJson } from "../../src/runtime/http/statusJson.js";
import { skipWithout } from "../requiredTools.js";
import { ARN, configOf, type Harness, local, startHarness, ZONE } from "./daemonHarness.js";

const CHROMIUM = "/usr/bin/chromium";
const hasChromium = existsSync(CHROMIUM);
/** Where the screenshots go; CI keeps this directory as an artifact. */
const SHOT_DIR = process.env.KEEPWARM_SCREENSHOT_DIR ?? join(tmpdir(), "keepwarm-screenshots");

const ARN_B = "arn:aws:bedrock:us-west-2:123456789012:imported-model/llama8b00001";
const ARN_C = "arn:aws:bedrock:us-east-1:123456789012:imported-model/batch0000001";
/** The schema allows letters, digits, ".", "_" and "-" in names: no HTML metacharacter. */
const MODEL_A = "mimo-vl.7b_q4";
const MODEL_B = "llama-8b";
const POLICY_B = "lunch.rush_cn";
/** A night batch in Los Angeles: 22:00-02:00 there is 14:00-18:00 on the page, not open at 13:30. */
const MODEL_C = "batch-llama";
const POLICY_C = "night-batch";
const ZONE_C = "America/Los_Angeles";

const YAML = `
timezone: ${ZONE}
policies:
  business-hours:
    windows:
      - days: mon-fri
        from: "09:00"
        to: "18:00"
  ${POLICY_B}:
    windows:
      - days: daily
        from: "11:30"
        to: "14:00"
  ${POLICY_C}:
    timezone: ${ZONE_C}
    windows:
      - days: daily
        from: "22:00"
        to: "02:00"
models:
  - name: ${MODEL_A}
    modelArn: ${ARN}
    policy: business-hours
    customModelUnits: 4
  - name: ${MODEL_B}
    modelArn: ${ARN_B}
    policy: ${POLICY_B}
  - name: ${MODEL_C}
    modelArn: ${ARN_C}
    policy: ${POLICY_C}
    customModelUnits: 2
budgets:
  fleet: 5000
`;

/** Monday 7 December 2026, 13:30 in Asia/Shanghai: half a working day behind the page. */
const NOW = local("13:30");

describe.skipIf(skipWithout(hasChromium, "/usr/bin/chromium"))(
  hasChromium
    ? "the status page in headless Chromium"
    : `the status page in headless Chromium (SKIPPED: ${CHROMIUM} is missing; apt-get install chromium)`,
  () => {
    let h: Harness;
    let http: HttpServer;
    let browser: Browser;
    let userDataDir: string;

    beforeAll(async () => {
      h = await startHarness({
        config: configOf(YAML),
        start: local("00:00"),
        sim: { restoreMs: 90_000 },
      });
      // An eviction at 11:20 makes a second cold start; a CloudWatch gap leaves minutes unknown.
      h.sim.faults.add({ kind: "evict", modelArn: ARN, at: local("11:20") });
      h.sim.faults.add({
        kind: "metricsMissing",
        modelArn: ARN,
        from: local("12:00"),
        until: local("12:15"),
      });
      await h.daemon.start();
      await h.clock.runUntil(NOW);
      http = await startHttpServer({
        host: "127.0.0.1",
        port: 0,
        registry: new PromMetrics({ processMetrics: false }).registry,
        status: () => h.daemon.status(),
        logger: h.logger,
      });
      userDataDir = mkdtempSync(join(tmpdir(), "kw-chromium-"));
      browser = await puppeteer.launch({
        executablePath: CHROMIUM,
        headless: true,
        userDataDir,
        args: [
          "--headless",
          "--no-sandbox",
          "--disable-gpu",
          "--disable-quic",
          "--no-first-run",
          "--disable-background-networking",
          "--disable-component-update",
          "--disable-sync",
          "--disable-dev-shm-usage",
        ],
      });
    }, 60_000);

    afterAll(async () => {
      await browser?.close();
      await http?.close();
      await h?.close();
      if (userDataDir) rmSync(userDataDir, { recursive: true, force: true });
    });

    /** A page that records every request, console message and page error it meets. */
    async function open(options: { width: number; javascript: boolean }) {
      const page = await browser.newPage();
      const requests: string[] = [];
      const problems: string[] = [];
      page.on("request", (r) => requests.push(r.url()));
      page.on("console", (m) => {
        if (m.type() === "error" || m.type() === "warn") problems.push(`${m.type()}: ${m.text()}`);
      });
      page.on("pageerror", (e) => problems.push(`pageerror: ${String(e)}`));
      page.on("requestfailed", (r) =>
        problems.push(`failed: ${r.url()} ${r.failure()?.errorText}`),
      );
      await page.setJavaScriptEnabled(options.javascript);
      await page.setViewport({ width: options.width, height: 800 });
      const res = await page.goto(`${http.url}/`, { waitUntil: "load" });
      expect(res?.status()).toBe(200);
      return { page, requests, problems };
    }

    const textOf = (page: Page, selector: string) =>
      // biome-ignore lint/performance/useDomNodeTextContent: the rendered text is what a reader sees
      page.$eval(selector, (el) => (el as HTMLElement).innerText);

    it("shows every model's state, policy, pings, timings and money as /api/status has them", async () => {
      const json = (await (await fetch(`${http.url}/api/status`)).json()) as StatusJson;
      expect(json.models.map((m) => m.name)).toEqual([MODEL_A, MODEL_B, MODEL_C]);
      const { page, requests, problems } = await open({ width: 1280, javascript: false });

      for (const m of json.models) {
        const section = `section[data-model="${m.name}"]`;
        const text = await textOf(page, section);
        expect(text).toContain(m.name);
        expect(await page.$eval(section, (el) => el.getAttribute("data-state"))).toBe(m.state);
        expect(await page.$eval(`${section} .state`, (el) => el.textContent)).toBe(
          m.name === MODEL_C ? "cold, as planned" : m.state,
        );
        expect(text).toContain(m.activePolicy);
        expect(text).toContain(
          `Cadence\n${m.timings.cadence.seconds / 60} min (${m.timings.cadence.source})`,
        );
        expect(text).toContain(`(${m.timings.restore.source})`);
        expect(text).toContain(`Month to date\n${formatUsd(m.spend.monthToDateUsd as number)}`);
        expect(text).toContain(`Projection\n${formatUsd(m.spend.projectedMonthUsd as number)}`);
        expect(text).toContain(`Always-on\n${formatUsd(m.spend.alwaysOnMonthUsd as number)}`);
        expect(text).toContain("Budget\nnone set");
        expect(m.nextPingAt).not.toBeNull();
        // One marker per cold start, one warm span per ModelCopy run, a now line.
        const titles = await page.$$eval(`${section} svg title`, (ts) =>
          ts.map((t) => t.textContent),
        );
        expect(titles.filter((t) => t?.startsWith("cold start"))).toHaveLength(
          m.today.coldStarts.length,
        );
        expect(titles.filter((t) => t?.startsWith("warm "))).toHaveLength(
          m.today.observedWarm.length,
        );
        expect(titles).toContain("now 13:30");
        // The chart takes the card's width beside its labels: no half-blank card at 1280 px.
        const fill = await page.$eval(section, (card) => {
          const chart = card.querySelector("svg.chart")?.getBoundingClientRect();
          const box = card.getBoundingClientRect();
          const pad = Number.parseFloat(getComputedStyle(card).paddingRight);
          return chart
            ? { right: box.right - pad - chart.right, width: chart.width / box.width }
            : undefined;
        });
        expect(fill?.right).toBeLessThan(2);
        expect(fill?.width).toBeGreaterThan(0.85);
      }

      const a = json.models[0];
      expect(a?.state).toBe("warm");
      expect(a?.today.coldStarts).toHaveLength(2);
      expect(a?.today.coverage.windowMinutes).toBe(270);
      expect(await textOf(page, `section[data-model="${MODEL_A}"]`)).toContain(
        "Window\nopen 09:00\u201318:00",
      );
      expect(await textOf(page, `section[data-model="${MODEL_B}"] h2`)).toContain(MODEL_B);
      expect(await textOf(page, ".fleet")).toContain(
        `Month to date\n${formatUsd(json.fleet.monthToDateUsd as number)}`,
      );
      expect(await textOf(page, ".fleet")).toContain("3: 2 warm, 1 cold as planned");
      const share = Math.floor(((json.fleet.projectedMonthUsd as number) / 5000) * 100);
      expect(await textOf(page, ".fleet")).toContain(`Budget\n$5,000.00; projection ${share}%`);
      const c = json.models[2];
      expect(c).toMatchObject({ policyTimezone: ZONE_C, currentWindow: null });
      const cText = await textOf(page, `section[data-model="${MODEL_C}"]`);
      expect(cText).toContain(`Policy\n${POLICY_C} (${ZONE_C} time)`);
      expect(cText).toContain(`next 14:00\u201318:00 (22:00\u2013Mon 02:00 ${ZONE_C})`);
      expect(await textOf(page, "footer")).toContain(`Times in ${ZONE} unless marked.`);

      // The one inline style applies: its hash matches the Content-Security-Policy.
      const radius = await page.$eval("section", (el) => getComputedStyle(el).borderTopLeftRadius);
      expect(radius).toBe("8px");
      expect(
        await page.$eval('meta[http-equiv="refresh"]', (el) => el.getAttribute("content")),
      ).toBe("30");

      const origin = new URL(http.url).origin;
      expect(requests.length).toBeGreaterThan(0);
      expect(
        requests.filter((u) => new URL(u).origin !== origin && !u.startsWith("data:")),
      ).toEqual([]);
      expect(problems).toEqual([]);

      mkdirSync(SHOT_DIR, { recursive: true });
      await page.screenshot({ path: join(SHOT_DIR, "status-page.png"), fullPage: true });
    });

    it("fits a 360 px phone without sideways scrolling, with JavaScript on and no errors", async () => {
      const { page, problems } = await open({ width: 360, javascript: true });
      const width = await page.evaluate(() => document.documentElement.scrollWidth);
      expect(width).toBeLessThanOrEqual(360);
      const widthOf = (selector: string) =>
        page.$eval(selector, (el) => el.getBoundingClientRect().width);
      expect(await widthOf("section.model .timeline")).toBeGreaterThan(280);
      expect(await widthOf("section.model svg.chart")).toBeGreaterThan(200);
      expect(problems).toEqual([]);
      mkdirSync(SHOT_DIR, { recursive: true });
      await page.screenshot({ path: join(SHOT_DIR, "status-page-phone.png"), fullPage: true });
    });
  },
);

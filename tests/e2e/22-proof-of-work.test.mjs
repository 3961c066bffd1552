// Scenario 22 — proof of work: a gate flooded by newcomers from many addresses asks each new
// one to solve a challenge before it gives a place. The pupil's widget, in Chromium, says so
// (in French and in English, in its live region too), solves with the browser's own SHA-256
// without blocking the page, and is queued. On a page without crypto.subtle (plain HTTP on a
// real host name), the widget does not solve: it waits with backoff and never hammers.
import assert from "node:assert/strict";
import { mkdirSync } from "node:fs";
import { join } from "node:path";
import { after, test } from "node:test";

import { chromium } from "playwright-core";

import { CHROMIUM_ARGS, events, launch, newContext, newPage, overlay, until, waitForPhase } from "./lib/browser.mjs";
import { cleanup, onCleanup } from "./lib/cleanup.mjs";
import { startGate, status } from "./lib/gate.mjs";
import { ARTIFACTS } from "./lib/paths.mjs";
import { proxyTo, startServer } from "./lib/server.mjs";

after(cleanup);

// Admitting 2 a minute with a floor of 20 join attempts a minute (the default floor is 3 000):
// 100 fresh visitors are a flood five times the threshold, so the challenge is four times the
// easiest (720 000 numbers at most: seconds in Chromium here, time to look at the overlay),
// and the flood stays in the gate's one-minute window for the whole test.
const FLOOR = 20;

async function floodedGate() {
  const gate = await startGate({ admitPerMinute: 2, burst: 1, args: ["--proof-of-work-floor", String(FLOOR)] });
  for (let i = 0; i < 100; i++) await status(gate.url);
  const asked = (await status(gate.url)).body;
  assert.equal(asked.state, "challenge", "the gate is in challenge mode before the pupil arrives");
  return gate;
}

async function metric(gate, name) {
  const text = await (await fetch(new URL("/metrics", gate.url))).text();
  const line = text.split("\n").find((l) => l.startsWith(`${name} `));
  return line ? Number(line.split(" ")[1]) : null;
}

test("Proof of work: the widget says it checks the browser, solves in Chromium and is queued (fr and en)", { timeout: 120_000 }, async (t) => {
  const gate = await floodedGate();
  const server = await startServer();
  // The solution is held at the proxy until the overlay has been looked at (a slow network):
  // the widget says it is verifying until the gate answers, however quickly it solved.
  let release;
  const proxy = proxyTo(gate.url);
  server.route("/waitroom/status", async (req, res, url, hit) => {
    if (url.search.includes("solution=")) await new Promise((ok) => { release = ok; });
    return proxy(req, res, url, hit);
  });
  for (const lang of ["fr", "en"]) server.page(`/login-${lang}`, { gate: "/waitroom/status", lang });
  const dir = join(ARTIFACTS, "proof-of-work");
  mkdirSync(dir, { recursive: true });
  const browser = await launch();
  const solvedBefore = await metric(gate, "waitroom_pow_challenges_solved_total");

  for (const [lang, words] of [["fr", /robots/], ["en", /robots/]]) {
    const context = await newContext(browser, lang === "en" ? { locale: "en-GB" } : {});
    const page = await newPage(context);
    await page.goto(`${server.url}/login-${lang}`);
    await until(async () => (await events(page)).states.some((s) => s.phase === "verifying"), { what: "the verifying state" });
    const shown = await until(async () => {
      const o = await overlay(page);
      return o?.phase && o.live ? o : null;
    }, { what: "the overlay while verifying" });
    await page.screenshot({ path: join(dir, `${lang}-verifying.png`) });
    t.diagnostic(`${lang}: «${shown.phase}», live region «${shown.live}»`);
    assert.match(shown.phase, words, "the overlay says what is happening");
    assert.equal(shown.live, shown.phase, "and the live region says it to screen readers");
    assert.equal(shown.retry, null, "no retry button to press while solving");
    // The page keeps running while the widget solves: a timer set now fires on time.
    const lag = await page.evaluate(() => new Promise((ok) => {
      const t0 = performance.now();
      setTimeout(() => ok(performance.now() - t0 - 50), 50);
    }));
    t.diagnostic(`${lang}: a 50 ms timer fired ${Math.round(lag)} ms late while solving`);
    assert.ok(lag < 500, `the page is not blocked (${Math.round(lag)} ms late)`);
    await until(() => release, { timeout: 60_000, what: "the solution" });
    assert.equal((await events(page)).states.at(-1).phase, "verifying", "verifying until the gate answers");
    release();
    release = null;

    const queued = await until(async () => (await events(page)).states.find((s) => s.phase === "queued"), { timeout: 60_000, what: "the queued state" });
    const wr = await events(page);
    const verifying = wr.states.find((s) => s.phase === "verifying");
    t.diagnostic(`${lang}: queued at place ${queued.position}, ${queued.t - verifying.t} ms after the challenge`);
    assert.ok(queued.position >= 1, "a place in the queue");
    await until(async () => (await overlay(page))?.position, { what: "the place on screen" });
    await page.screenshot({ path: join(dir, `${lang}-queued.png`) });
    const statusHits = server.hits("/waitroom/status");
    const solved = statusHits.filter((h) => h.search.includes("solution=") && h.t >= verifying.t);
    assert.equal(solved.length, 1, "the solution went to the gate, once");
    const n = Number(new URLSearchParams(solved[0].search).get("solution"));
    const seconds = (solved[0].t - verifying.t) / 1000;
    t.diagnostic(`${lang}: ${n + 1} SHA-256 in ${seconds.toFixed(1)} s: ${Math.round((n + 1) / seconds)} a second (the challenge's second of waiting included)`);
    assert.deepEqual(page.logs.filter((m) => m.type === "pageerror"), [], "no page error");
    await context.close();
  }
  assert.equal(await metric(gate, "waitroom_pow_challenges_solved_total"), solvedBefore + 2, "the gate accepted one solution per browser");
  assert.ok((await metric(gate, "waitroom_pow_difficulty")) > 0, "the difficulty metric shows the flood");
});

test("Proof of work without crypto.subtle (plain HTTP on a host name): the widget waits with backoff and sends no solution", { timeout: 90_000 }, async (t) => {
  const gate = await floodedGate();
  const server = await startServer();
  server.route("/waitroom/status", proxyTo(gate.url)).page("/login", { gate: "/waitroom/status" });
  // Not localhost: Chromium gives a plain-HTTP page on a real name no crypto.subtle.
  const browser = await chromium.launch({
    executablePath: process.env.CHROMIUM ?? "/usr/bin/chromium",
    args: [...CHROMIUM_ARGS, "--host-resolver-rules=MAP portail.ent.test 127.0.0.1"],
    timeout: 30_000,
  });
  onCleanup(() => browser.close());
  const context = await newContext(browser);
  const page = await newPage(context);
  const port = new URL(server.url).port;
  await page.goto(`http://portail.ent.test:${port}/login`);
  assert.equal(await page.evaluate(() => Boolean(window.crypto && crypto.subtle)), false, "no crypto.subtle here");
  await waitForPhase(page, "throttled", 10_000);
  // Three requests, each after a longer wait (the backoff), none with a solution.
  const hits = await until(() => {
    const h = server.hits("/waitroom/status");
    return h.length >= 3 ? h : null;
  }, { timeout: 30_000, what: "three requests" });
  const gaps = hits.slice(1).map((h, i) => h.t - hits[i].t);
  t.diagnostic(`requests ${gaps.map((g) => `${g} ms`).join(", ")} apart`);
  assert.ok(gaps.every((g) => g >= 1000), "never sooner than the gate's second");
  assert.equal(hits.filter((h) => h.search.includes("solution=")).length, 0, "no solution sent");
  assert.ok(!(await events(page)).states.some((s) => s.phase === "verifying"), "never claims to verify");
});

// Scenario 5 — plain HTTP mode: no waitroom gate, only a portal (or nginx limit_req) that says
// 503 / 429. The widget honours Retry-After (delay-seconds and HTTP-date) plus jitter, never
// before; without Retry-After it backs off within data-base-delay / data-max-delay; a 200 lets
// the pupil in.
import assert from "node:assert/strict";
import { after, test } from "node:test";

import { events, launch, newContext, openPage, dialog, overlay, until, waitForPhase } from "./lib/browser.mjs";
import { cleanup } from "./lib/cleanup.mjs";
import { startServer, text } from "./lib/server.mjs";

after(cleanup);

const BASE_MS = 500;
const MAX_MS = 2000;
/** The jitter window of src/machine.rs `schedule`: a fifth of the delay, 0.5 s to 30 s. */
const jitter = (ms) => Math.min(30_000, Math.max(500, ms / 5));
const SLACK_MS = 300; // the request's own way through the loopback and the event loops

test("Plain HTTP mode: 503 + Retry-After (seconds, HTTP-date) honoured plus jitter, 429 backoff within bounds, then 200 admitted", { timeout: 60_000 }, async (t) => {
  const server = await startServer();
  let dateMs = null;
  server.page("/login", { gate: "/busy", attrs: { "data-protocol": "http", "data-base-delay": String(BASE_MS), "data-max-delay": String(MAX_MS) } });
  server.route("/busy", (req, res, url, hit) => {
    const page = "<!doctype html><title>Service indisponible</title><h1>Trop de connexions</h1>";
    if (hit.n === 0) return text(res, 503, page, { "retry-after": "3" });
    if (hit.n === 1) {
      // An HTTP-date about 5 s ahead (whole seconds, as the format has).
      const date = new Date(Math.ceil((Date.now() + 5000) / 1000) * 1000);
      dateMs = date.getTime();
      return text(res, 503, page, { "retry-after": date.toUTCString() });
    }
    if (hit.n <= 4) return text(res, 429, "Too Many Requests", { "content-type": "text/plain" });
    return text(res, 200, "OK", { "content-type": "text/plain" });
  });

  const browser = await launch();
  const context = await newContext(browser);
  const page = await openPage(context, `${server.url}/login`);
  await waitForPhase(page, "throttled", 5000);
  assert.match((await overlay(page)).phase, /Le portail est plein/);

  await until(() => server.hits("/busy").length >= 6, { timeout: 40_000, every: 100, what: "six requests" });
  const hits = server.hits("/busy").map((h) => h.t);
  const gaps = hits.slice(1).map((h, i) => h - hits[i]);
  t.diagnostic(`gaps between requests: ${gaps.join(", ")} ms`);

  // Retry-After: 3 → at least 3 s, at most 3 s plus its jitter.
  assert.ok(gaps[0] >= 3000, `Retry-After: 3 honoured (${gaps[0]} ms)`);
  assert.ok(gaps[0] <= 3000 + jitter(3000) + SLACK_MS, `then jitter only (${gaps[0]} ms)`);
  // Retry-After: <HTTP-date> → not before that instant, then at most its jitter.
  assert.ok(hits[2] >= dateMs, `HTTP-date honoured (${hits[2] - dateMs} ms after it)`);
  assert.ok(hits[2] <= dateMs + jitter(5000) + SLACK_MS, `then jitter only (${hits[2] - dateMs} ms after it)`);
  // 429 without Retry-After → own backoff: at least the base delay, at most the cap plus jitter.
  for (const gap of gaps.slice(2)) {
    assert.ok(gap >= BASE_MS, `429 backoff ${gap} ms is below data-base-delay`);
    assert.ok(gap <= MAX_MS + jitter(MAX_MS) + SLACK_MS, `429 backoff ${gap} ms is beyond data-max-delay plus jitter`);
  }
  assert.equal(hits.length, 6, "nothing more than needed");

  // 200 → admitted: no overlay, the event, and the form submits.
  await until(async () => (await events(page)).admitted.length > 0, { timeout: 5000, what: "admission" });
  assert.equal((await events(page)).admitted[0].pass, null, "plain HTTP admits without a pass");
  assert.equal(await dialog(page), null);
  await page.fill("#user", "eleve");
  await Promise.all([page.waitForURL(/\/done\?user=eleve/, { timeout: 5000 }), page.click("button")]);
});

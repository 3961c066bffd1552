// Scenario 4 — gate down mid-wait: the gate (here also the page's server) dies while two
// pupils wait. With the default fail-open policy the first one may log in once the policy's
// delay has passed; the second page is fail-closed: it says the portal does not answer and
// keeps retrying with backoff. The gate comes back (same secret, same port): the fail-closed
// pupil keeps the place, ahead of the newcomers of the new instance.
import assert from "node:assert/strict";
import { after, test } from "node:test";

import { events, launch, newContext, openPage, dialog, overlay, sleep, trackRequests, until, waitForPhase } from "./lib/browser.mjs";
import { cleanup } from "./lib/cleanup.mjs";
import { fillQueue, makeSecretFile, startGate } from "./lib/gate.mjs";

after(cleanup);

const FAIL_OPEN_AFTER_MS = 3000; // data-fail-open-after of pages/fail-open.html
const BASE_MS = 1000; // default data-base-delay
const MAX_MS = 4000; // data-max-delay of pages/fail-closed.html

/** Every JSON status reply `page` receives, with its time. */
function replies(page) {
  const list = [];
  page.on("response", async (response) => {
    if (!response.url().includes("/waitroom/status")) return;
    try {
      list.push({ t: Date.now(), status: response.status(), body: await response.json() });
    } catch {
      // The body is gone when the page navigated at once (an admission replays the held submit).
      list.push({ t: Date.now(), status: response.status(), body: { state: response.status() === 200 ? "admitted" : "unreadable" } });
    }
  });
  return list;
}

test("Gate down mid-wait: fail-open lets the user in after the delay, fail-closed retries with backoff, a restarted gate keeps the place", { timeout: 90_000 }, async (t) => {
  const secretFile = makeSecretFile();
  // 30 admissions a minute: one place every 2 s, so both pupils are due back within seconds.
  const gate = await startGate({ admitPerMinute: 30, burst: 1, grace: 120, secretFile });
  await fillQueue(gate.url, 2);
  const browser = await launch();
  const open = await newContext(browser);
  const closed = await newContext(browser);
  const openRequests = trackRequests(open, "/waitroom/status");
  const closedRequests = trackRequests(closed, "/waitroom/status");
  const pageOpen = await openPage(open, `${gate.url}/fail-open.html`);
  const pageClosed = await openPage(closed, `${gate.url}/fail-closed.html`);
  const closedReplies = replies(pageClosed);
  await until(async () => (await overlay(pageOpen))?.position && (await overlay(pageClosed))?.position, { what: "both queued" });
  const placeBefore = (await overlay(pageClosed)).position;

  await gate.stop();
  const downAt = Date.now();
  t.diagnostic(`gate stopped; fail-closed page was at place ${placeBefore}`);

  // Fail-open: the first failed return starts the clock; the guard lifts FAIL_OPEN_AFTER later.
  await until(async () => (await events(pageOpen)).errors.length > 0, { timeout: 20_000, what: "fail-open" });
  const firstFailure = openRequests.find((r) => r.t > downAt);
  const openedAt = (await events(pageOpen)).errors[0].t;
  const waited = openedAt - firstFailure.t;
  t.diagnostic(`fail-open ${waited} ms after the first failed request (policy: ${FAIL_OPEN_AFTER_MS} ms)`);
  assert.equal((await events(pageOpen)).errors[0].reason, "unavailable");
  assert.ok(waited >= FAIL_OPEN_AFTER_MS - 50, `fail-open came early: ${waited} ms`);
  assert.ok(waited <= FAIL_OPEN_AFTER_MS + 2000, `fail-open came late: ${waited} ms`);
  assert.equal(await dialog(pageOpen), null, "the overlay is gone");
  assert.ok(pageOpen.logs.some((m) => m.type === "warning" && /unreachable; letting the user through/.test(m.text)), "the console says why");
  await pageOpen.fill("#user", "eleve.dupont");
  await pageOpen.fill("#password", "secret");
  const [login] = await Promise.all([
    pageOpen.waitForRequest((r) => r.url().includes("/done.html"), { timeout: 5000 }),
    pageOpen.click("button"),
  ]);
  assert.match(login.url(), /user=eleve\.dupont/, "the login form submits");

  // Fail-closed: a clear message, the form stays guarded, retries with backoff.
  await waitForPhase(pageClosed, "unavailable", 15_000);
  const shown = await overlay(pageClosed);
  assert.match(shown.phase, /Le portail ne répond pas/);
  assert.ok(shown.countdown, "the next attempt is announced");
  await sleep(9000);
  const failures = closedRequests.filter((r) => r.t > downAt);
  const gaps = failures.slice(1).map((r, i) => r.t - failures[i].t);
  t.diagnostic(`fail-closed retries while down: ${failures.length}, gaps ${gaps.join(", ")} ms`);
  assert.ok(failures.length >= 3, "keeps retrying");
  for (const gap of gaps) {
    assert.ok(gap >= BASE_MS - 100, `a retry after ${gap} ms, below the base delay`);
    assert.ok(gap <= MAX_MS + Math.max(500, MAX_MS / 5) + 300, `a retry after ${gap} ms, beyond the cap plus jitter`);
  }
  assert.equal((await events(pageClosed)).errors.length, 0, "fail-closed never fails open");
  await pageClosed.evaluate(() => document.querySelector("#login").requestSubmit());
  await sleep(300);
  assert.ok(!pageClosed.url().includes("done"), "the form stays guarded");

  // The gate comes back with the same secret; newcomers of the new instance arrive at once.
  const before = closedReplies.length;
  await gate.restart();
  const newcomers = await fillQueue(gate.url, 3);
  t.diagnostic(`gate restarted; newcomers got: ${newcomers.map((r) => r.state === "queued" ? `place ${r.position}` : r.state).join(", ")}`);
  await until(() => closedReplies.length > before, { timeout: 10_000, what: "a reply from the restarted gate" });
  const reply = closedReplies[before];
  t.diagnostic(`first reply after the restart: ${reply.body.state}${reply.body.position ? ` at place ${reply.body.position}` : ""}`);
  assert.ok(reply.body.state === "admitted" || (reply.body.state === "queued" && reply.body.position <= placeBefore),
    `place kept across the restart: got ${JSON.stringify(reply.body)}`);
  const behind = newcomers.filter((r) => r.state === "queued").map((r) => r.position);
  if (reply.body.state === "queued" && behind.length) {
    assert.ok(reply.body.position <= Math.min(...behind), "ahead of the new instance's newcomers");
  }
  // Admitted: the submit the guard held back earlier goes through by itself.
  await pageClosed.waitForURL(/\/done\.html\?/, { timeout: 20_000 });
  t.diagnostic(`admitted after the restart; the held submit went through to ${new URL(pageClosed.url()).pathname}`);
});

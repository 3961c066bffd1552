// Scenario 6 — hostile and malformed replies: a proxy's HTML error page, broken JSON, absurd
// numbers, absurd Retry-After values, redirects to another origin, HTML in the operator's
// message. Each one must end in a clear state, keep the pupil on the page, show server text as
// text only, and keep retrying on schedule.
import assert from "node:assert/strict";
import { after, test } from "node:test";

import { events, launch, newContext, openPage, dialog, overlay, sleep, snapshot, until } from "./lib/browser.mjs";
import { cleanup } from "./lib/cleanup.mjs";
import { admitted, json, queued, startServer, text } from "./lib/server.mjs";

after(cleanup);

const WATCH_MS = 6000;
const XSS = `<img src=x onerror="window.__pwned=1"><script>window.__pwned=2</script>Maintenance <b>ce soir</b> de 20 h à 22 h.`;

test("Hostile and malformed replies: clear state, text only, no navigation, retries continue", { timeout: 60_000 }, async (t) => {
  const server = await startServer();
  const evil = await startServer(); // another origin (another port)
  evil.route("/take", (req, res) => json(res, 200, { state: "admitted", pass: "p1.evil", pass_expires_in: 300 }));

  const bigHtml = `<!doctype html><html><head><title>503</title><script>window.__pwned=3</script></head><body>${"<p>Service Unavailable</p>".repeat(8000)}<img src=x onerror="window.__pwned=4"></body></html>`;
  const queuedWith = (fields) => (req, res) => json(res, 503, { state: "queued", ticket: "t1.x", position: 12, eta_seconds: 60, retry_after_ms: 2000, advance_per_minute: 10, ...fields }, { "retry-after": "2" });
  const cases = [
    { name: "an HTML 503 page (200 KB)", gate: (req, res) => text(res, 503, bigHtml), phase: "throttled", minHits: 2 },
    { name: "invalid JSON", gate: (req, res) => json(res, 503, `{"state":"queued","ticket":"t1.x","position":`), phase: "throttled", minHits: 2 },
    { name: "a negative position", gate: queuedWith({ position: -5 }), phase: "throttled", minHits: 2, noText: /-5/ },
    { name: "a huge position", gate: queuedWith({ position: 1e15, eta_seconds: 1e300 }), phase: "throttled", minHits: 2, noText: /1000000000000000|1e\+?15/ },
    { name: "a NaN position", gate: (req, res) => json(res, 503, `{"state":"queued","ticket":"t1.x","position":NaN,"eta_seconds":NaN,"retry_after_ms":0,"advance_per_minute":NaN}`), phase: "throttled", minHits: 2, noText: /NaN/ },
    { name: "a position as a string", gate: queuedWith({ position: "NaN" }), phase: "throttled", minHits: 2, noText: /NaN/ },
    // Clamped to one hour (MAX_RETRY_AFTER), plus at most 30 s of jitter.
    { name: "a Retry-After of ten years", gate: (req, res) => text(res, 503, "busy", { "retry-after": "315360000" }), phase: "throttled", minHits: 1, nextIn: [3600_000 - 5000, 3630_000 + 2000] },
    // A date in the past means "now, plus jitter": the first return within the base delay plus
    // jitter (later ones follow the growing backoff).
    { name: "a Retry-After in the past", gate: (req, res) => text(res, 503, "busy", { "retry-after": "Sun, 06 Nov 1994 08:49:37 GMT" }), phase: "throttled", minHits: 3, firstGap: [1000, 1000 + 500 + 500] },
    { name: "a 302 to another origin", gate: (req, res) => text(res, 302, "", { location: `${evil.url}/take` }), phase: "unavailable", minHits: 2 },
    { name: "an admission that redirects to another origin", gate: (req, res) => admitted(res, { redirect: `${evil.url}/phish` }), phase: "admitted", minHits: 1, warns: /not redirecting/ },
    { name: "a closed message with HTML in it", gate: (req, res) => json(res, 503, { state: "closed", message: XSS, retry_after_ms: 60_000 }, { "retry-after": "60" }), phase: "closed", minHits: 1, nextIn: [60_000 - 1000, 72_000 + 2000], closedText: XSS },
  ];

  const browser = await launch();
  const results = await Promise.all(cases.map(async (c, i) => {
    server.page(`/p${i}`, { gate: `/g${i}` }).route(`/g${i}`, c.gate);
    const context = await newContext(browser);
    const page = await openPage(context, `${server.url}/p${i}`);
    let navigations = 0;
    page.on("framenavigated", (frame) => { if (frame === page.mainFrame()) navigations++; });
    await sleep(WATCH_MS);
    // While a request is in flight (the 200 KB page takes a moment under load) there is no
    // countdown: read the overlay between two attempts, as a pupil would see it most of the time.
    let shown = await overlay(page);
    for (let k = 0; k < 30 && c.phase !== "admitted" && shown && !shown.countdown; k++) {
      await sleep(100);
      shown = await overlay(page);
    }
    return { c, i, page, navigations, shown, wr: await events(page), stored: await snapshot(page, `${server.url}/g${i}`) };
  }));

  const failures = [];
  for (const { c, i, page, navigations, shown, wr, stored } of results) {
    const hits = server.hits(`/g${i}`).map((h) => h.t);
    const gaps = hits.slice(1).map((h, k) => h - hits[k]);
    const lastPhase = wr.states.at(-1)?.phase;
    t.diagnostic(`${c.name}: ${lastPhase}, "${shown?.phase ?? "no overlay"}", ${hits.length} requests (gaps ${gaps.join(", ") || "-"} ms)${stored?.next_at ? `, next in ${Math.round((stored.next_at - Date.now()) / 1000)} s` : ""}`);
    try {
      assert.equal(page.url(), `${server.url}/p${i}`, "no navigation away");
      assert.equal(navigations, 0, "no navigation at all");
      assert.ok([c.phase].flat().includes(lastPhase), `a clear state: expected ${c.phase}, got ${lastPhase}`);
      assert.equal(await page.evaluate(() => window.__pwned), undefined, "no server markup ran");
      assert.deepEqual(page.logs.filter((m) => m.type === "pageerror"), [], "no page error");
      assert.ok(hits.length >= c.minHits, `retries continue: ${hits.length} requests in ${WATCH_MS} ms`);
      if (c.phase === "admitted") {
        assert.equal(shown, null, "admitted: no overlay");
      } else {
        assert.ok(shown?.phase, "the overlay says what is happening");
        assert.ok(shown.countdown, "and when the next attempt is");
        assert.equal(await page.evaluate(() => document.querySelector("waitroom-overlay").shadowRoot.querySelectorAll("img, script, b").length), 0, "no element from the server in the overlay");
      }
      if (c.noText) assert.doesNotMatch(shown.text, c.noText, "the absurd number is not shown");
      if (c.firstGap) assert.ok(gaps[0] >= c.firstGap[0] - 50 && gaps[0] <= c.firstGap[1], `first return after ${gaps[0]} ms, expected ${c.firstGap.join("–")}`);
      if (c.nextIn) {
        const inMs = stored.next_at - hits[0];
        assert.ok(inMs >= c.nextIn[0] && inMs <= c.nextIn[1], `next attempt scheduled in ${inMs} ms, expected ${c.nextIn.join("–")}`);
      }
      if (c.closedText) {
        assert.equal(shown.closed, c.closedText, "the operator's message is shown as text, verbatim");
        assert.match(shown.phase, /fermé/);
      }
      if (c.warns) assert.ok(page.logs.some((m) => m.type === "warning" && c.warns.test(m.text)), "the console says why");
    } catch (e) {
      failures.push(`${c.name}: ${e.message}`);
    }
  }
  t.diagnostic(`the other origin received ${evil.log.length} requests: ${evil.log.map((h) => h.path).join(", ")}`);
  assert.deepEqual(failures, [], failures.join("\n"));
  assert.deepEqual(evil.log.map((h) => h.path), [], "the widget never follows a redirect to another origin");
});

// The status request does not follow redirects (`redirect: "manual"`). A gate URL that
// redirects to another origin which allows CORS and says "admitted" must neither let the pupil
// in on that origin's word nor even reach it: outside plain-HTTP mode a redirect is a broken
// gate (unavailable, backoff, the fail policy).
test("Hostile and malformed replies: a 302 to another origin that allows CORS and says admitted does not let the user in", { timeout: 30_000 }, async (t) => {
  const server = await startServer();
  const evil = await startServer();
  evil.route("/take", (req, res) => json(res, 200, { state: "admitted", pass: "p1.evil", pass_expires_in: 300 }, { "access-control-allow-origin": "*" }));
  server.page("/login", { gate: "/gate" }).route("/gate", (req, res) => text(res, 302, "", { location: `${evil.url}/take` }));
  const browser = await launch();
  const page = await openPage(await newContext(browser), `${server.url}/login`);
  await until(async () => (await events(page)).states.some((s) => s.phase !== "checking"), { timeout: 5000, what: "a reply" });
  await sleep(2500);
  const wr = await events(page);
  t.diagnostic(`phases: ${[...new Set(wr.states.map((s) => s.phase))].join(", ")}; admitted events: ${wr.admitted.length}; requests to the gate: ${server.hits("/gate").length}, to the other origin: ${evil.hits("/take").length}`);
  assert.equal(wr.admitted.length, 0, "another origin's 200 must not admit");
  assert.ok(["unavailable", "throttled"].includes(wr.states.at(-1)?.phase), `a clear state (got ${wr.states.at(-1)?.phase})`);
  assert.ok(server.hits("/gate").length >= 2, "retries continue");
  assert.equal(evil.log.length, 0, "the other origin heard nothing");
});

// A host page whose banners sit at the highest z-index, with !important, added after the
// overlay: the overlay lives in the browser's top layer (a manual popover), so nothing the page
// paints can cover the dialog.
test("Hostile and malformed replies: a banner at z-index 2147483647 !important cannot cover the overlay", { timeout: 30_000 }, async (t) => {
  const server = await startServer();
  server.page("/login", { gate: "/gate" }).route("/gate", (req, res) => queued(res));
  const browser = await launch();
  const page = await openPage(await newContext(browser), `${server.url}/login`);
  await until(async () => (await overlay(page))?.position, { what: "queued" });
  const covered = await page.evaluate(() => {
    const banner = document.createElement("div");
    banner.setAttribute("style", "position: fixed !important; inset: 0 !important; z-index: 2147483647 !important; background: red !important");
    banner.textContent = "Bandeau";
    document.body.append(banner);
    const points = [[0.5, 0.5], [0.1, 0.1], [0.5, 0.2], [0.9, 0.9]];
    return points.map(([x, y]) => document.elementFromPoint(innerWidth * x, innerHeight * y)?.localName);
  });
  t.diagnostic(`what is on top: ${covered.join(", ")}`);
  assert.deepEqual(covered, covered.map(() => "waitroom-overlay"), "the overlay, everywhere on screen");
});

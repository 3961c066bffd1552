// Scenario 3 — offline 30 s: the school Wi-Fi drops while a pupil waits. The overlay says so
// and keeps the place, nothing is sent while offline, and when the network comes back the
// first request waits for the reconnect jitter (1–6 s), so a whole class does not come back
// in the same second.
import assert from "node:assert/strict";
import { after, test } from "node:test";

import { events, launch, newContext, openPage, overlay, sleep, trackRequests, until, waitForPhase } from "./lib/browser.mjs";
import { cleanup } from "./lib/cleanup.mjs";
import { fillQueue, startGate } from "./lib/gate.mjs";

after(cleanup);

/** RECONNECT_JITTER in src/machine.rs. */
const RECONNECT_MS = [1000, 6000];

test("Offline 30 s: an offline state, no requests while offline, back within the reconnect jitter, place kept", { timeout: 90_000 }, async (t) => {
  // Told to come back in about 20 s: that time passes while offline, so the return after the
  // network comes back is due at once and only the reconnect jitter holds it.
  const gate = await startGate({ admitPerMinute: 6, burst: 1, grace: 90 });
  await fillQueue(gate.url, 2);
  const browser = await launch();
  const context = await newContext(browser);
  const requests = trackRequests(context, "/waitroom/status");
  const page = await openPage(context, `${gate.url}/`);
  const place = await until(async () => (await overlay(page))?.position, { what: "a place" });

  await context.setOffline(true);
  const offAt = Date.now();
  await waitForPhase(page, "offline", 3000);
  const shown = await overlay(page);
  t.diagnostic(`offline: "${shown.phase}", place ${shown.position}`);
  assert.match(shown.phase, /Vous n’avez plus internet/);
  assert.equal(shown.position, place, "the place stays on screen while offline");
  assert.equal(shown.countdown, null, "no countdown to a check that cannot happen");

  await sleep(30_000 - (Date.now() - offAt));
  assert.equal(requests.length, 1, `nothing sent while offline (saw ${requests.length - 1})`);
  // Still shown, counted down locally at the queue's advance rate (never lost, never worse).
  const later = (await overlay(page)).position;
  assert.ok(later >= 1 && later <= place, `the place is still shown after 30 s offline (${later})`);

  const onAt = Date.now();
  await context.setOffline(false);
  const onDone = Date.now();
  await until(() => requests.length >= 2, { timeout: 10_000, what: "the first request after reconnecting" });
  const delay = requests[1].t - onAt;
  t.diagnostic(`first request ${delay} ms after the network came back`);
  assert.ok(requests[1].t - onAt >= RECONNECT_MS[0], `not at once: ${delay} ms`);
  assert.ok(requests[1].t - onDone <= RECONNECT_MS[1] + 500, `within the jitter window: ${delay} ms`);
  assert.ok(new URL(requests[1].url).searchParams.get("ticket"), "the same ticket is sent back");

  // Place kept: let in (the turn came while offline) or still at most at the same place.
  const result = await until(async () => {
    const wr = await events(page);
    if (wr.admitted.length) return "admitted";
    const o = await overlay(page);
    return o?.position && o.position <= place && requests[1].status ? `queued at ${o.position}` : null;
  }, { timeout: 5000, what: "the reply" });
  t.diagnostic(`after reconnecting: ${result}`);
});

// Scenario 1 — F5 storm: a pupil in the queue presses F5 twenty times in ten seconds. The gate
// must see nothing before the time it gave, and every reload shows the same place.
import assert from "node:assert/strict";
import { after, test } from "node:test";

import { launch, newContext, openPage, overlay, snapshot, trackRequests, until, sleep } from "./lib/browser.mjs";
import { cleanup } from "./lib/cleanup.mjs";
import { fillQueue, startGate } from "./lib/gate.mjs";

after(cleanup);

test("F5 storm: 20 reloads within 10 s send nothing before the scheduled time and keep the place", { timeout: 90_000 }, async (t) => {
  // 4 admissions a minute: one place every 15 s, so the local countdown does not move the
  // place during the storm; a filler takes the bucket's token, a second one the place ahead.
  const gate = await startGate({ admitPerMinute: 4, burst: 1, grace: 30 });
  await fillQueue(gate.url, 2);
  const browser = await launch();
  const context = await newContext(browser);
  const requests = trackRequests(context, "/waitroom/status");
  const gateUrl = `${gate.url}/waitroom/status`;

  const page = await openPage(context, `${gate.url}/`);
  const first = await until(async () => (await overlay(page))?.position, { what: "the queue position" });
  const before = await snapshot(page, gateUrl);
  assert.equal(requests.length, 1, "the first visit asks the gate once");
  assert.equal(before.status.kind, "queued");
  assert.ok(before.next_at - Date.now() > 15_000, `the gate gave a return time well after the storm (${before.next_at - Date.now()} ms)`);
  t.diagnostic(`queued at place ${first}, told to come back in ${Math.round((before.next_at - Date.now()) / 1000)} s`);

  const stormStart = Date.now();
  const shown = [];
  for (let i = 0; i < 20; i++) {
    await page.reload();
    const seen = await until(async () => (await overlay(page))?.position, { timeout: 5000, what: `the place after reload ${i + 1}` });
    shown.push(seen);
    await sleep(Math.max(0, stormStart + (i + 1) * 480 - Date.now()));
  }
  const stormEnd = Date.now();
  t.diagnostic(`20 reloads in ${stormEnd - stormStart} ms; places shown: ${shown.join(" ")}`);
  assert.ok(stormEnd - stormStart <= 10_500, `the storm took ${stormEnd - stormStart} ms`);
  assert.equal(requests.length, 1, `no request during the storm (saw ${requests.length - 1} more)`);
  assert.deepEqual(shown, Array(20).fill(first), "the same place after every reload");

  const afterStorm = await snapshot(page, gateUrl);
  assert.equal(afterStorm.ticket, before.ticket, "the ticket survives the reloads");
  assert.ok(afterStorm.next_at >= before.next_at, "the schedule never moves earlier");

  // The next request waits for the told time (plus its jitter), not a millisecond less.
  await until(() => requests.length >= 2, { timeout: 45_000, every: 200, what: "the scheduled return" });
  const back = requests[1];
  t.diagnostic(`came back ${back.t - before.next_at} ms after the stored time (${Math.round((back.t - stormStart) / 1000)} s after the storm began)`);
  assert.ok(back.t >= afterStorm.next_at - 20, `returned ${afterStorm.next_at - back.t} ms early`);
  assert.equal(requests.length, 2, "exactly one request at the scheduled time");
  assert.ok(new URL(back.url).searchParams.get("ticket"), "the return carries the ticket");

  // Place kept: the gate admits it (the dialog gone, or turned into the admitted notice), or
  // still has it at most where it was.
  await until(async () => {
    const o = await overlay(page);
    return o === null || o.modal === false || (o.position !== null && o.position <= first);
  }, { timeout: 5000, what: "admission or the same place" });
});

// Scenario 2 — five tabs: a parent opens the portal in five tabs. One tab polls for the whole
// browser, all show the same place and are let in together; closing the polling tab hands the
// loop to another one.
import assert from "node:assert/strict";
import { after, test } from "node:test";

import { events, launch, newContext, newPage, dialog, overlay, snapshot, trackRequests, until } from "./lib/browser.mjs";
import { cleanup } from "./lib/cleanup.mjs";
import { fillQueue, startGate } from "./lib/gate.mjs";

after(cleanup);

test("Five tabs: one poller, the same place everywhere, admitted together, hand-over when the poller closes", { timeout: 90_000 }, async (t) => {
  // 6 admissions a minute (one place every 10 s): the tabs queue at place 2, told ~20 s.
  const gate = await startGate({ admitPerMinute: 6, burst: 1, grace: 60 });
  await fillQueue(gate.url, 2);
  const browser = await launch();
  const context = await newContext(browser);
  const requests = trackRequests(context, "/waitroom/status");
  const gateUrl = `${gate.url}/waitroom/status`;

  const tabs = await Promise.all(Array.from({ length: 5 }, () => newPage(context)));
  await Promise.all(tabs.map((tab) => tab.goto(`${gate.url}/`)));
  const places = await until(async () => {
    const all = await Promise.all(tabs.map(async (tab) => (await overlay(tab))?.position ?? null));
    return all.every((p) => p !== null) && all;
  }, { timeout: 10_000, what: "a place in every tab" });
  t.diagnostic(`places shown: ${places.join(" ")}; requests so far: ${requests.length}`);
  assert.equal(requests.length, 1, "five tabs opened together ask the gate once");
  assert.equal(new Set(places).size, 1, "every tab shows the same place");

  const poller = requests[0].page;
  const stored = await snapshot(tabs[0], gateUrl);
  assert.ok(stored.next_at - Date.now() > 3000, "the return time is still ahead");
  await poller.close();
  const left = tabs.filter((tab) => tab !== poller);
  t.diagnostic(`closed the polling tab (tab ${tabs.indexOf(poller) + 1}) ${Math.round((stored.next_at - Date.now()) / 1000)} s before the return time`);

  // Another tab takes over the loop, at the scheduled time and not before.
  await until(() => requests.length >= 2, { timeout: 40_000, every: 200, what: "the hand-over's request" });
  const second = requests[1];
  assert.notEqual(second.page, poller, "the request comes from another tab");
  assert.ok(left.includes(second.page));
  assert.ok(second.t >= stored.next_at - 20, `the new poller kept the schedule (${stored.next_at - second.t} ms early)`);

  // Admitted together: every remaining tab drops its overlay and says so within a second or two.
  const admittedAt = await until(async () => {
    const all = await Promise.all(left.map(async (tab) => (await events(tab)).admitted[0]?.t ?? null));
    return all.every((x) => x !== null) && all;
  }, { timeout: 40_000, every: 200, what: "admission in every tab" });
  const spread = Math.max(...admittedAt) - Math.min(...admittedAt);
  t.diagnostic(`admitted in all 4 tabs within ${spread} ms, after ${requests.length} gate requests in all`);
  assert.ok(spread < 2000, `tabs admitted ${spread} ms apart`);
  for (const tab of left) assert.equal(await dialog(tab), null, "no overlay left once admitted");
  assert.ok(requests.length <= 3, `about one tab's worth of requests (${requests.length})`);
  assert.equal(new Set(requests.slice(1).map((r) => r.page)).size, 1, "after the hand-over, one tab polls");
});

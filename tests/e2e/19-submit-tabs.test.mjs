// Scenario 19 — tabs that do not all take part. With data-check="submit" a tab that is only
// open (never submitted) must not hold the poller role; a tab whose poller went quiet (hung,
// frozen in the background) or gave up must not wait forever; "try again" works in any tab.
import assert from "node:assert/strict";
import { after, test } from "node:test";

import { events, launch, newContext, newPage, overlay, sleep, trackRequests, until } from "./lib/browser.mjs";
import { cleanup } from "./lib/cleanup.mjs";
import { admitted, queued, startServer, text } from "./lib/server.mjs";

after(cleanup);

test("Submit-mode tabs: a tab that never submits holds no role; the tab that submits polls and gets in", { timeout: 60_000 }, async (t) => {
  const server = await startServer();
  server.page("/login", { gate: "/gate", attrs: { "data-check": "submit" } })
    .route("/gate", (req, res, url, hit) => (hit.n < 1 ? queued(res, { retry_after_ms: 1000 }) : admitted(res)));
  const browser = await launch();
  const context = await newContext(browser);
  const idle = await newPage(context);
  await idle.goto(`${server.url}/login`);
  await sleep(1000); // long enough for it to have joined an election on load, as it used to
  const active = await newPage(context);
  await active.goto(`${server.url}/login`);
  await active.fill("#user", "eleve");
  await active.fill("#password", "secret");
  await Promise.all([active.waitForURL(/\/done\?user=eleve/, { timeout: 15_000 }), active.press("#password", "Enter")]);
  const hits = server.hits("/gate");
  t.diagnostic(`the submitting tab got in after ${hits.length} requests`);
  assert.equal(hits.length, 2, "queued, then admitted");
  assert.equal(await idle.locator("waitroom-overlay").count(), 0, "the idle tab shows nothing");
});

test("Quiet poller: a follower takes over from a hung poller, and try again works from any tab", { timeout: 90_000 }, async (t) => {
  const server = await startServer();
  let mode = "queued";
  server.page("/login", { gate: "/gate", attrs: { "data-max-attempts": "2", "data-base-delay": "500", "data-max-delay": "1000" } })
    .route("/gate", (req, res) => {
      if (mode === "queued") return queued(res, { retry_after_ms: 2000 });
      if (mode === "full") return text(res, 503, "full");
      return admitted(res);
    });
  const browser = await launch();
  const context = await newContext(browser);
  const requests = trackRequests(context, "/gate");
  const a = await newPage(context);
  await a.goto(`${server.url}/login`);
  await until(async () => (await overlay(a))?.position, { what: "the first tab queued" });
  const b = await newPage(context);
  await b.goto(`${server.url}/login`);
  await until(async () => (await overlay(b))?.position, { what: "the second tab mirrors the place" });
  const poller = requests.at(-1).page;
  const follower = poller === a ? b : a;

  // The poller's tab hangs (its JavaScript paused in the debugger): it keeps the lock and
  // sends nothing.
  const cdp = await context.newCDPSession(poller);
  await cdp.send("Debugger.enable");
  await cdp.send("Debugger.pause");
  const frozenAt = Date.now();
  await until(() => requests.some((r) => r.page === follower && r.t > frozenAt), { timeout: 20_000, what: "the follower taking over" });
  const took = requests.find((r) => r.page === follower && r.t > frozenAt).t - frozenAt;
  t.diagnostic(`the follower took over ${took} ms after the poller hung`);
  assert.ok(took >= 5000, "not before the grace after the poller's deadline");

  // Now the portal is full until the attempts run out: every open tab says it gave up.
  mode = "full";
  await until(async () => (await events(follower)).states.at(-1)?.phase === "gave_up", { timeout: 20_000, what: "gave up" });
  await cdp.send("Debugger.resume");
  mode = "admitted";
  const retry = follower.locator("waitroom-overlay").getByRole("button", { name: "Réessayer maintenant" });
  await until(async () => (await retry.getAttribute("aria-disabled")) === "false", { timeout: 20_000, what: "try again enabled" });
  await retry.click();
  await until(async () => (await events(follower)).admitted.length > 0, { timeout: 10_000, what: "admitted after try again" });
  await until(async () => (await events(poller)).admitted.length > 0, { timeout: 10_000, what: "the other tab admitted too" });
});

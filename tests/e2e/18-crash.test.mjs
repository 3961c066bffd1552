// Scenario 18 — the widget crashes mid-wait. With panic = "abort" a trap (or an exception
// thrown through the wasm) leaves the widget's state half-updated: overlay up, page inert,
// submit guard active. The loader must notice and step aside as if the wasm had never loaded:
// the overlay and the guard go, one console error says so, nothing more is sent, and the
// login form works.
//
// The crash is forced from outside, with no hook in the shipped widget: a DOM setter the overlay
// calls while rendering starts throwing, so the exception unwinds through the wasm mid-callback
// and leaves its borrows held, as a trap does.
import assert from "node:assert/strict";
import { after, test } from "node:test";

import { events, launch, newContext, newPage, overlay, sleep, until } from "./lib/browser.mjs";
import { cleanup } from "./lib/cleanup.mjs";
import { queued, startServer } from "./lib/server.mjs";

after(cleanup);

const BREAK_THE_OVERLAY = () => {
  const text = Object.getOwnPropertyDescriptor(Node.prototype, "textContent");
  Object.defineProperty(Node.prototype, "textContent", {
    ...text,
    set(value) {
      if (window.__breakWidget && this.getRootNode() instanceof ShadowRoot) throw new Error("forced crash");
      text.set.call(this, value);
    },
  });
};

test("Crash mid-wait: the loader lifts the overlay and the guard, one console error, the form works", { timeout: 60_000 }, async (t) => {
  const server = await startServer();
  server.page("/login", { gate: "/gate" }).route("/gate", (req, res) => queued(res, { retry_after_ms: 1500 }));
  const browser = await launch();
  const context = await newContext(browser);
  await context.addInitScript(BREAK_THE_OVERLAY);
  const page = await newPage(context);
  await page.goto(`${server.url}/login`);
  await until(async () => (await overlay(page))?.position, { what: "queued" });
  assert.ok(await page.locator("[inert]").count() > 0, "the page behind the dialog is inert while queued");

  await page.evaluate(() => { window.__breakWidget = true; });
  await until(async () => (await events(page)).errors.some((e) => e.reason === "crash"), { what: "waitroom:error crash" });
  const crashedAt = Date.now();
  const hitsAtCrash = server.hits("/gate").length;
  await sleep(4000); // the countdown ticks every second and the gate said 1.5 s: both would show by now

  // Chrome logs each 503 reply as "Failed to load resource": those are the gate's, not errors.
  const errors = page.logs.filter((m) => m.type === "error" && !/^Failed to load resource/.test(m.text));
  t.diagnostic(`console errors: ${errors.map((m) => m.text).join(" | ")}`);
  assert.equal(errors.length, 1, "one console error, not one per tick");
  assert.match(errors[0].text, /^waitroom: stopped on an internal error .*the login form stays usable$/);
  assert.equal(await page.locator("waitroom-overlay").count(), 0, "no overlay");
  assert.equal(await page.locator("[inert], [aria-disabled], [data-waitroom-inert], [data-waitroom-disabled]").count(), 0, "nothing left inert or disabled");
  assert.equal(server.hits("/gate").filter((h) => h.t > crashedAt).length, 0, `nothing sent after the crash (${hitsAtCrash} before)`);
  assert.deepEqual(page.logs.filter((m) => m.type === "pageerror"), [], "no uncaught error reaches the page");

  await page.evaluate(() => { window.__breakWidget = false; });
  await page.fill("#user", "eleve");
  await page.fill("#password", "secret");
  await Promise.all([page.waitForURL(/\/done\?user=eleve/, { timeout: 5000 }), page.press("#password", "Enter")]);
});

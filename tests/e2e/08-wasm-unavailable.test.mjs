// Scenario 8 — wasm unavailable: pkg/ was not deployed (the .wasm 404s), or the ENT's CSP
// lacks 'wasm-unsafe-eval'. The widget must step aside: the login form keeps working
// (fail-open) and the console says why.
import assert from "node:assert/strict";
import { after, test } from "node:test";

import { events, launch, newContext, openPage, sleep, until } from "./lib/browser.mjs";
import { cleanup } from "./lib/cleanup.mjs";
import { queued, startServer, text } from "./lib/server.mjs";

after(cleanup);

async function assertSteppedAside(t, page, server, why) {
  await until(async () => (await events(page)).errors.length > 0, { timeout: 10_000, what: "waitroom:error" });
  await sleep(500); // anything else it might wrongly do would show by now
  const errors = page.logs.filter((m) => m.type === "error" && /^waitroom:/.test(m.text));
  t.diagnostic(`console: ${errors.map((m) => m.text).join(" | ")}`);
  assert.equal(errors.length, 1, "one console error from the widget");
  assert.match(errors[0].text, /could not start/);
  assert.match(errors[0].text, why, "it says why");
  assert.match(errors[0].text, /the login form stays usable/);
  assert.equal((await events(page)).errors[0]?.reason, "load", "waitroom:error tells the page");
  assert.equal(await page.locator("waitroom-overlay").count(), 0, "no overlay");
  assert.equal(await page.locator("[inert], [aria-disabled]").count(), 0, "nothing disabled");
  assert.equal(server.hits("/gate").length, 0, "the gate is never asked");
  await page.fill("#user", "eleve");
  await page.fill("#password", "secret");
  await Promise.all([page.waitForURL(/\/done\?user=eleve/, { timeout: 5000 }), page.press("#password", "Enter")]);
}

test("wasm unavailable: a .wasm that 404s leaves the login form usable and the console says why", { timeout: 30_000 }, async (t) => {
  const server = await startServer();
  server.page("/login", { gate: "/gate" }).route("/gate", (req, res) => queued(res));
  server.route("/pkg/waitroom_bg.wasm", (req, res) => text(res, 404, "not found"));
  const browser = await launch();
  const page = await openPage(await newContext(browser), `${server.url}/login`);
  await assertSteppedAside(t, page, server, /WebAssembly|wasm|Response|MIME|404/i);
});

test("wasm unavailable: a CSP without 'wasm-unsafe-eval' leaves the login form usable and the console says why", { timeout: 30_000 }, async (t) => {
  const server = await startServer();
  server.page("/login", { gate: "/gate", csp: "default-src 'self'; script-src 'self'; style-src 'self'" }).route("/gate", (req, res) => queued(res));
  const browser = await launch();
  const page = await openPage(await newContext(browser), `${server.url}/login`);
  await assertSteppedAside(t, page, server, /WebAssembly|wasm|unsafe-eval|Content Security Policy/i);
});

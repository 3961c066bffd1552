// Scenario 7 — strict CSP: an ENT that sends `default-src 'self'; script-src 'self'
// 'wasm-unsafe-eval'; style-src 'self'` (no inline script or style, no eval) still gets a
// working waiting room, in front of the real gate, and the browser reports no violation.
import assert from "node:assert/strict";
import { after, test } from "node:test";

import { events, launch, newContext, dialog, overlay, newPage, until } from "./lib/browser.mjs";
import { cleanup } from "./lib/cleanup.mjs";
import { fillQueue, startGate } from "./lib/gate.mjs";
import { proxyTo, startServer, STRICT_CSP } from "./lib/server.mjs";

after(cleanup);

test("Strict CSP: the widget queues then admits under script-src 'self' 'wasm-unsafe-eval', with no violation", { timeout: 60_000 }, async (t) => {
  // The real gate, same-origin behind the page's server (as an ENT's reverse proxy would put it).
  const gate = await startGate({ admitPerMinute: 30, burst: 1, grace: 30 });
  const server = await startServer();
  server.page("/login", { gate: "/waitroom/status", csp: STRICT_CSP }).route("/waitroom/status", proxyTo(gate.url));

  const browser = await launch();
  const context = await newContext(browser);
  const page = await newPage(context);
  // Just before the visit (a browser start on a loaded machine can outlast the 2 s token):
  // takes the bucket's token, so the page waits about 2 s in the queue.
  await fillQueue(gate.url, 1);
  const response = await page.goto(`${server.url}/login`);
  assert.equal(response.headers()["content-security-policy"], STRICT_CSP, "the page is served under the strict CSP");

  // From the widget's events, not by catching the overlay: on a loaded machine the 2 s in the
  // queue can pass between two looks at the page.
  const queued = await until(async () => (await events(page)).states.find((s) => s.phase === "queued")?.position, { timeout: 10_000, what: "the queued state" });
  t.diagnostic(`queued at place ${queued} behind the real gate`);
  await until(async () => (await events(page)).admitted.length > 0, { timeout: 20_000, what: "admission" });
  const wr = await events(page);
  t.diagnostic(`phases: ${[...new Set(wr.states.map((s) => s.phase))].join(" → ")}; pass ${wr.admitted[0].pass ? "received" : "missing"}`);
  assert.ok(wr.states.some((s) => s.phase === "queued"), "queued first");
  assert.ok(wr.admitted[0].pass?.startsWith("p2."), "then admitted with the gate's pass");
  assert.equal(await dialog(page), null, "the overlay is gone");

  assert.deepEqual(wr.csp, [], "no securitypolicyviolation event");
  const cspConsole = page.logs.filter((m) => /content.security.policy|refused to/i.test(m.text));
  assert.deepEqual(cspConsole, [], "no CSP complaint in the console");
  assert.deepEqual(page.logs.filter((m) => m.type === "pageerror" || (m.type === "error" && !/status of 503/.test(m.text))), [], "no other error");
});

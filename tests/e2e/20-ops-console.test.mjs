// Scenario 20 — the operator's console at /waitroom/ops: at 320 px and with the keyboard, the
// token typed once (kept in sessionStorage, never in the URL), the live chart moving while users
// queue, a closure whose message a pupil's widget shows in French, a reopening after which the
// pupil is admitted, a lower rate making the last in line's wait grow; axe-core finds nothing
// and the strict CSP blocks nothing. Screenshots in fr and en.
import assert from "node:assert/strict";
import { mkdirSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, test } from "node:test";

import { describe, runAxe } from "./lib/axe.mjs";
import { events, launch, newContext, newPage, openPage, overlay, until } from "./lib/browser.mjs";
import { cleanup } from "./lib/cleanup.mjs";
import { fillQueue, startGate } from "./lib/gate.mjs";
import { ARTIFACTS } from "./lib/paths.mjs";

after(cleanup);

const TOKEN = "e2e-ops-token-0123456789abcdef";
const MESSAGE = "Maintenance du portail : revenez dans quelques minutes.";

test("Ops console: live chart, rate, close and open, at 320 px with the keyboard", { timeout: 180_000 }, async (t) => {
  const tokenFile = join(tmpdir(), `waitroom-ops-token-${process.pid}`);
  writeFileSync(tokenFile, `${TOKEN}\n`);
  const gate = await startGate({ admitPerMinute: 30, burst: 1, args: ["--admin-token-file", tokenFile] });
  await fillQueue(gate.url, 8);
  const browser = await launch();
  const state = async () => (await fetch(`${gate.url}/waitroom/admin/state`, { headers: { authorization: `Bearer ${TOKEN}` } })).json();

  // A pupil queued behind them.
  const pupil = await openPage(await newContext(browser), `${gate.url}/fail-open.html`);
  await until(async () => (await overlay(pupil))?.position, { what: "the pupil queued" });

  // The console on a 320 px phone, by keyboard alone.
  const context = await newContext(browser, { viewport: { width: 320, height: 640 } });
  const ops = await newPage(context);
  await ops.goto(`${gate.url}/waitroom/ops`);
  assert.match(await ops.title(), /console/);
  for (let i = 0; i < 10 && !(await ops.evaluate(() => document.activeElement?.id === "token")); i++) await ops.keyboard.press("Tab");
  assert.equal(await ops.evaluate(() => document.activeElement?.id), "token", "Tab reaches the token field");
  await ops.keyboard.type(TOKEN);
  await ops.keyboard.press("Enter");
  await until(async () => Number(await ops.textContent("#queue")) >= 8, { what: "the queue length shown" });
  assert.ok(!ops.url().includes(TOKEN), "the token is not in the URL");
  assert.equal(await ops.evaluate(() => sessionStorage.getItem("waitroom-ops-token")), TOKEN);
  assert.equal(await ops.evaluate(() => localStorage.length), 0, "nothing in localStorage");
  assert.ok(await ops.evaluate(() => document.documentElement.scrollWidth <= 320), "no horizontal scroll at 320 px");

  // The chart moves as users queue.
  const points = () => ops.evaluate(() => document.querySelector("#chart .queue")?.getAttribute("points") ?? "");
  const before = await points();
  await fillQueue(gate.url, 10);
  await until(async () => (await points()) !== before && Number(await ops.textContent("#queue")) >= 18, { timeout: 10_000, what: "the chart moved" });
  t.diagnostic(`queue ${await ops.textContent("#queue")}, chart points: ${(await points()).split(" ").length}`);

  // Closed with a message: the pupil's widget shows it, in French.
  await ops.focus("#message");
  await ops.keyboard.type(MESSAGE);
  // For a minute: the closed notice asks the widgets back when it ends, not in 5 minutes.
  await ops.focus("#minutes");
  await ops.keyboard.type("1");
  await ops.focus("#close-form button[type=submit]");
  await ops.keyboard.press("Enter");
  await until(async () => (await ops.getAttribute("#gate-state", "data-closed")) === "yes", { what: "closed shown" });
  await until(async () => (await overlay(pupil))?.text?.includes("Maintenance du portail"), { timeout: 60_000, what: "the pupil reads the closure" });
  t.diagnostic(`the pupil's widget says: ${(await overlay(pupil)).text.replace(/\s+/g, " ")}`);

  // Screenshots in fr and en, then axe in both (in a context that lets axe's script in).
  const dir = join(ARTIFACTS, "ops");
  mkdirSync(dir, { recursive: true });
  await ops.screenshot({ path: join(dir, "fr.png"), fullPage: true });
  await ops.focus("#lang");
  await ops.keyboard.press("Enter");
  await until(async () => (await ops.evaluate(() => document.documentElement.lang)) === "en", { what: "English" });
  assert.equal(await ops.textContent("h1"), "Waiting room — console");
  await ops.screenshot({ path: join(dir, "en.png"), fullPage: true });
  assert.deepEqual((await events(ops)).csp, [], "the strict CSP blocked nothing");

  // Reopened within the minute the widget waits after a closed reply: the pupil kept its
  // place, its turn has come by the time it asks again, and it is admitted.
  await ops.focus("#open");
  await ops.keyboard.press("Enter");
  await until(async () => (await ops.getAttribute("#gate-state", "data-closed")) === "no", { what: "open shown" });
  await until(async () => (await events(pupil)).admitted.length > 0, { timeout: 100_000, every: 500, what: "the pupil admitted" });

  // A lower rate: the last in line waits longer.
  await fillQueue(gate.url, 10);
  const etaBefore = (await state()).last_in_line_eta_seconds;
  await ops.fill("#rate-input", "");
  await ops.focus("#rate-input");
  await ops.keyboard.type("3");
  await ops.keyboard.press("Enter");
  await until(async () => (await ops.textContent("#rate")) === "3", { what: "the new rate shown" });
  const etaAfter = (await state()).last_in_line_eta_seconds;
  t.diagnostic(`last in line: ${etaBefore} s at 30/min, ${etaAfter} s at 3/min; shown "${await ops.textContent("#eta")}"`);
  assert.ok(etaAfter > etaBefore * 5, `the wait grew: ${etaBefore} → ${etaAfter}`);

  const failures = [];
  for (const lang of ["fr", "en"]) {
    const axeContext = await newContext(browser, { viewport: { width: 320, height: 640 }, bypassCSP: true });
    const page = await newPage(axeContext);
    await page.addInitScript(([token, l]) => { sessionStorage.setItem("waitroom-ops-token", token); sessionStorage.setItem("waitroom-ops-lang", l); }, [TOKEN, lang]);
    await page.goto(`${gate.url}/waitroom/ops`);
    await until(async () => (await page.textContent("#queue")) !== "—", { what: "figures" });
    const result = await runAxe(page);
    t.diagnostic(`axe (${lang}): ${result.violations.length} violations`);
    if (result.violations.length) failures.push(`${lang}:\n${describe(result.violations)}`);
  }
  assert.deepEqual(failures, [], failures.join("\n"));
});

// The demo (`make demo`): the gate in demo mode serving the French ENT login page of www/, with
// its synthetic crowd ahead of the visitor. What a person opening the page sees — the quota
// message and a place that goes down — then, admitted, a login that only a valid pass opens.
import assert from "node:assert/strict";
import { join } from "node:path";
import { after, test } from "node:test";

import { events, launch, newContext, openPage, dialog, overlay, until } from "./lib/browser.mjs";
import { cleanup } from "./lib/cleanup.mjs";
import { startGate } from "./lib/gate.mjs";
import { ARTIFACTS, WWW } from "./lib/paths.mjs";

after(cleanup);

test("Demo: the ENT page shows the plain-language explanation and a place that goes down", { timeout: 60_000 }, async (t) => {
  const gate = await startGate({ www: WWW, args: ["--demo"] });
  const browser = await launch();
  const page = await openPage(await newContext(browser), `${gate.url}/`);
  const first = await until(async () => (await overlay(page))?.position, { what: "a place in the queue" });
  const shown = await overlay(page);
  assert.match(shown.message, /^Attendez votre tour\. Ne fermez pas cette page/, "the plain-language explanation, instruction first");
  assert.equal(shown.phase, "Vous êtes dans la file d’attente.");
  assert.ok(first >= 2, `the crowd is ahead of the visitor (place ${first})`);
  assert.match(shown.eta, /^Temps d’attente/);
  const path = join(ARTIFACTS, "demo-queued.png");
  await page.screenshot({ path });
  t.diagnostic(`place ${first}, ${shown.eta}; screenshot ${path}`);
  // 30 admissions a minute: one place every 2 s, counted down locally between polls.
  const later = await until(async () => {
    const p = (await overlay(page))?.position;
    return p !== undefined && p < first ? p : null;
  }, { timeout: 15_000, what: "the place going down" });
  t.diagnostic(`then place ${later}`);
});

test("Demo: once admitted, the login goes through with the pass the widget put in the form", { timeout: 60_000 }, async (t) => {
  // The same demo, admitting fast so that the crowd ahead is through in seconds.
  const gate = await startGate({ www: WWW, admitPerMinute: 600, args: ["--demo"] });
  const browser = await launch();
  const page = await openPage(await newContext(browser), `${gate.url}/`);
  await until(async () => (await events(page)).admitted.length > 0, { timeout: 30_000, what: "admission" });
  assert.equal(await dialog(page), null, "the overlay is gone");
  const pass = await page.inputValue("#login-form input[name=waitroom_pass]");
  assert.match(pass, /^p2\./, "the gate's pass is in the form");
  await page.fill("#identifiant", "zoe.martin");
  await page.fill("#mot_de_passe", "secret");
  await Promise.all([page.waitForNavigation(), page.click("#login-form [type=submit]")]);
  assert.match(await page.textContent("body"), /Bienvenue, zoe\.martin/);
  t.diagnostic("logged in with the pass");
});

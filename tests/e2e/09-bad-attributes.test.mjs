// Scenario 9 — bad attributes: an integrator in a hurry mistypes the tag. Each bad value costs
// exactly one console warning naming the attribute, and the widget carries on with the
// default; without data-gate there is one console error and the page is left alone.
import assert from "node:assert/strict";
import { after, test } from "node:test";

import { events, launch, newContext, openPage, overlay, sleep, until } from "./lib/browser.mjs";
import { cleanup } from "./lib/cleanup.mjs";
import { queued, startServer } from "./lib/server.mjs";

after(cleanup);

// attribute → [bad value, what the warning says is used instead]
const BAD = {
  "data-protocol": ["ftp", /using auto$/],
  "data-lang": ["klingon", /using auto$/],
  "data-base-delay": ["abc", /using 1000$/],
  "data-max-delay": ["-5", /using 120000$/],
  "data-jitter": ["wobbly", /using full$/],
  "data-timeout": ["99999999", /above the maximum 60000.*using 60000$/],
  "data-fail": ["maybe", /using open$/],
  "data-fail-open-after": ["soon", /using 30000$/],
  "data-check": ["never", /using load$/],
  "data-theme": ["pink", /using auto$/],
  "data-pass-field": ["bad name!", /using none$/],
  "data-max-attempts": ["lots", /using none$/],
  "data-redirect-allow": ["ftp://files.example", /skipped$/],
  "data-guard": ["###", /not a valid CSS selector; guarding the login form instead$/],
  "data-colour": ["blue", /unknown attribute; ignored$/],
};

test("Bad attributes: one console warning per bad value, naming it, and the defaults are used", { timeout: 30_000 }, async (t) => {
  const server = await startServer();
  const attrs = Object.fromEntries(Object.entries(BAD).map(([name, [value]]) => [name, value]));
  // An English page: data-lang's default (auto) follows it, which shows the default is used.
  server.page("/login", { gate: "/gate", lang: "en", attrs }).route("/gate", (req, res) => queued(res, { position: 7 }));
  const browser = await launch();
  const page = await openPage(await newContext(browser), `${server.url}/login`);
  const shown = await until(async () => (await overlay(page))?.position && overlay(page), { timeout: 10_000, what: "the overlay" });
  await sleep(500);

  const warnings = page.logs.filter((m) => m.type === "warning").map((m) => m.text);
  t.diagnostic(`${warnings.length} warnings, e.g. ${warnings[0]}`);
  for (const [name, [value, used]] of Object.entries(BAD)) {
    const mine = warnings.filter((w) => w.startsWith(`waitroom: ${name}:`));
    assert.equal(mine.length, 1, `exactly one warning for ${name} (got ${JSON.stringify(mine)})`);
    if (name !== "data-colour") assert.ok(mine[0].includes(`\`${value}\``), `the warning for ${name} quotes the bad value`);
    assert.match(mine[0], used, `the warning for ${name} says what is used`);
  }
  assert.equal(warnings.length, Object.keys(BAD).length, "no other warning");
  assert.deepEqual(page.logs.filter((m) => m.type === "pageerror" || (m.type === "error" && !/status of 503/.test(m.text))), [], "no error");

  // The defaults at work: checks on load, native JSON understood (auto), theme auto, English
  // from the page (lang auto), the login form guarded (data-guard's fallback).
  assert.equal(server.hits("/gate").length, 1, "data-check=load: asked the gate on load");
  assert.equal(shown.position, 7, "data-protocol=auto: the native reply is understood");
  assert.equal(shown.theme, "auto");
  assert.equal(shown.title, "Signing in to the portal", "data-lang=auto: follows <html lang=en>");
  assert.equal(await page.locator("#login button[aria-disabled=true]").count(), 1, "the login form is guarded");
});

test("Bad attributes: a missing data-gate is one console error and the page is untouched", { timeout: 30_000 }, async (t) => {
  const server = await startServer();
  server.page("/login", { gate: null, attrs: { "data-guard": "#login" } });
  const browser = await launch();
  // The DOM as the page would be without any script, to compare with.
  const plain = await openPage(await newContext(browser, { javaScriptEnabled: false }), `${server.url}/login`);
  const before = await plain.evaluate(() => document.body.innerHTML);
  const page = await openPage(await newContext(browser), `${server.url}/login`);
  await until(async () => (await events(page)).errors.length > 0, { timeout: 10_000, what: "waitroom:error" });
  await sleep(500);
  const errors = page.logs.filter((m) => m.type === "error");
  t.diagnostic(`console: ${errors.map((m) => m.text).join(" | ")}`);
  assert.equal(errors.length, 1, "one console error");
  assert.match(errors[0].text, /^waitroom: data-gate is missing/);
  assert.equal((await events(page)).errors[0].reason, "config");
  assert.equal(page.logs.filter((m) => m.type === "warning").length, 0, "no warning either");
  assert.equal(await page.locator("waitroom-overlay").count(), 0, "no overlay host");
  assert.equal(await page.evaluate(() => document.body.innerHTML), before, "the page's DOM is untouched");
  await page.fill("#user", "eleve");
  await Promise.all([page.waitForURL(/\/done\?user=eleve/, { timeout: 5000 }), page.click("button")]);
});

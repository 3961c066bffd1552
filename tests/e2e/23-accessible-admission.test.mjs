// Scenario 22 — accessible beyond axe (issue 14, RGAA 7.4, 7.5, 12.8, 13.1): what a
// screen-reader user gets, read from the page as assistive technology reads it — the live
// region's text logged over time, the focus after each step, the time left on the pass — and
// axe at 0 in each of the new states.
import assert from "node:assert/strict";
import { after, test } from "node:test";

import { events, launch, newContext, newPage, openPage, overlay, sleep, until } from "./lib/browser.mjs";
import { describe, runAxe } from "./lib/axe.mjs";
import { cleanup } from "./lib/cleanup.mjs";
import { startGate } from "./lib/gate.mjs";
import { WWW } from "./lib/paths.mjs";
import { admitted, proxyTo, queued, startServer } from "./lib/server.mjs";

after(cleanup);

const server = await startServer();
const browser = await launch();

/**
 * Logs, from the first document of the page on, every text of the widget's live region with
 * its time, and when the overlay appeared and the focus moved into it.
 */
function logLiveRegion(context) {
  return context.addInitScript(() => {
    const log = { said: [], opened: null, focusedIn: null };
    Object.defineProperty(window, "__live", { value: log });
    const watch = () => {
      const host = document.querySelector("waitroom-overlay");
      if (!host || log.opened !== null) return;
      log.opened = Date.now();
      // The overlay takes the focus as it opens, before this observer runs.
      if (host.shadowRoot.activeElement) log.focusedIn = log.opened;
      const live = host.shadowRoot.querySelector("[role=status]");
      log.emptyAtFirst = live.textContent === "";
      new MutationObserver(() => log.said.push({ text: live.textContent, t: Date.now() }))
        .observe(live, { childList: true, characterData: true, subtree: true });
      host.shadowRoot.addEventListener("focusin", () => { log.focusedIn ??= Date.now(); });
    };
    new MutationObserver(watch).observe(document, { childList: true, subtree: true });
  });
}

/** What the focus is on: an id in the page, or the tag and text inside the overlay. */
function focusOf(page) {
  return page.evaluate(() => {
    const active = document.activeElement;
    const inner = active?.shadowRoot?.activeElement;
    return inner ? { overlay: inner.tagName.toLowerCase(), text: inner.textContent } : { id: active?.id || active?.tagName.toLowerCase() };
  });
}

async function axeZero(t, page, state) {
  const result = await runAxe(page);
  t.diagnostic(`axe, ${state}: ${result.violations.length} violations, ${result.shadowNodesChecked} checks in the shadow root`);
  assert.deepEqual(result.violations, [], `${state}:\n${describe(result.violations)}`);
}

test("Demo: arrival, queue, admission: heard in order, focus on the first empty field, the time the pass gives shown", { timeout: 90_000 }, async (t) => {
  const gate = await startGate({ www: WWW, admitPerMinute: 240, args: ["--demo"] });
  // The demo page has a strict CSP: axe is injected through the DevTools protocol.
  const context = await newContext(browser, { bypassCSP: true });
  await logLiveRegion(context);
  const page = await newPage(context);
  const start = Date.now();
  await page.goto(`${gate.url}/`);
  await until(async () => (await events(page)).admitted.length > 0, { timeout: 60_000, what: "admission" });
  const shown = await until(async () => {
    const o = await overlay(page);
    return o?.phase?.startsWith("C’est votre tour") ? o : null;
  }, { what: "the admitted notice" });
  const live = await until(async () => {
    const l = await page.evaluate(() => window.__live);
    return l.said.some((s) => s.text.startsWith("C’est votre tour")) ? l : null;
  }, { what: "the admission spoken" });
  for (const s of live.said) t.diagnostic(`+${s.t - start} ms: "${s.text}"`);
  t.diagnostic(`overlay at +${live.opened - start} ms, focus in at +${live.focusedIn - start} ms; shown: "${shown.phase}"`);

  assert.ok(live.emptyAtFirst, "the live region is created empty");
  assert.ok(live.said.length >= 2, "something was said before the admission");
  assert.ok(live.said[0].t >= live.focusedIn + 400, "the first message comes after the focus moved into the dialog");
  assert.match(live.said[0].text, /^Vous êtes dans la file d’attente\. \d+ personnes? avant vous\./);
  const spoken = live.said.find((s) => s.text.startsWith("C’est votre tour")).text;
  assert.equal(spoken, "C’est votre tour\u202f! Vous avez 5\u00a0minutes pour vous connecter.");
  assert.match(shown.phase, /^C’est votre tour\u202f! Vous avez .* pour vous connecter\.$/, "the admission is shown, with the time left");
  assert.deepEqual(await focusOf(page), { id: "identifiant" }, "the focus is on the first empty field of the form");
  assert.equal(await page.evaluate(() => document.querySelector("main").inert), false, "the page is usable again");
  await axeZero(t, page, "admitted (the notice)");

  // The pupil types at once, where the focus is, and logs in.
  await page.keyboard.type("zoe.martin");
  await page.keyboard.press("Tab");
  await page.keyboard.type("secret");
  await Promise.all([page.waitForNavigation(), page.keyboard.press("Enter")]);
  assert.match(await page.textContent("body"), /Bienvenue, zoe\.martin/);
  await gate.stop?.();
});

test("Typing while the overlay would open: no character lost, the focus stays in the field", { timeout: 60_000 }, async (t) => {
  // A slow gate: the first answer (queued) arrives while the pupil types.
  server.page("/typing", { gate: "/gate/typing" }).route("/gate/typing", async (req, res, url, hit) => {
    if (hit.n === 0) await sleep(1200);
    queued(res, { position: 30, eta_seconds: 120, retry_after_ms: 60_000, advance_per_minute: 15 });
  });
  const context = await newContext(browser);
  const page = await openPage(context, `${server.url}/typing`);
  await page.focus("#user");
  await page.keyboard.type("jean.dupont", { delay: 250 }); // about 2.7 s, across the answer
  const typed = await page.inputValue("#user");
  const focus = await focusOf(page);
  const wr = await events(page);
  t.diagnostic(`typed "${typed}", focus on ${JSON.stringify(focus)}, phases ${wr.states.map((s) => s.phase).join(", ")}`);
  assert.ok(wr.states.some((s) => s.phase === "queued"), "the queued answer came while typing");
  assert.equal(typed, "jean.dupont", "no character lost");
  assert.deepEqual(focus, { id: "user" }, "the focus was not taken");
  // The button says why it does nothing yet; pressing Enter opens the waiting room.
  const reason = await page.evaluate(() => {
    const b = document.querySelector("#login button");
    return { disabled: b.getAttribute("aria-disabled"), why: document.getElementById(b.getAttribute("aria-describedby"))?.textContent, opacity: getComputedStyle(b).opacity };
  });
  assert.deepEqual(reason, { disabled: "true", why: "Attendez votre tour pour vous connecter.", opacity: "0.6" });
  await page.keyboard.press("Enter");
  await until(async () => (await overlay(page))?.position, { what: "the overlay after Enter" });
  assert.equal(await page.inputValue("#user"), "jean.dupont");
});

test("Pass expiry: warned, extended by the gate for the same admission, never put back in the queue", { timeout: 90_000 }, async (t) => {
  // The real gate, with passes of 62 s: the warning (a minute before the end) comes at once.
  const gate = await startGate({ admitPerMinute: 60, args: ["--pass-ttl-seconds", "62"] });
  const seen = [];
  const proxy = proxyTo(gate.url);
  server.page("/expiry", { gate: "/gate/expiry", attrs: { "data-pass-field": "waitroom_pass" } }).route("/gate/expiry", async (req, res, url, hit) => {
    seen.push({ pass: url.searchParams.has("pass"), t: Date.now() });
    // The first visit waits in line behind one other browser, so that the overlay is up.
    if (hit.n === 0) await fetch(`${gate.url}/waitroom/status`);
    url.pathname = "/waitroom/status";
    return proxy(req, res, url, hit);
  });
  const context = await newContext(browser);
  await logLiveRegion(context);
  const page = await openPage(context, `${server.url}/expiry`);
  await until(async () => (await events(page)).admitted.length > 0, { timeout: 30_000, what: "admission" });
  const firstPass = (await events(page)).admitted[0].pass;
  const warned = await until(async () => {
    const o = await overlay(page);
    return o?.text.includes("Votre temps est presque fini") ? o : null;
  }, { timeout: 10_000, what: "the warning" });
  t.diagnostic(`warned: "${warned.phase}" / ${warned.text.replace(/\n+/g, " | ")}`);
  const said = await until(async () => {
    const texts = (await page.evaluate(() => window.__live)).said.map((s) => s.text);
    return texts.some((s) => s.includes("Votre temps est presque fini.")) ? texts : null;
  }, { what: "the warning spoken" });
  t.diagnostic(`said: ${said.join(" / ")}`);
  await axeZero(t, page, "pass warning");
  const extend = page.locator("waitroom-overlay").getByRole("button", { name: "Prolonger" });
  await extend.click();
  await until(async () => (await events(page)).admitted.length > 1, { what: "the renewed pass" });
  const renewed = (await events(page)).admitted.at(-1).pass;
  const id = (p) => p.split(".")[1];
  t.diagnostic(`requests: ${seen.map((s) => (s.pass ? "pass" : "ticket")).join(", ")}; pass ${firstPass.slice(0, 30)}… → ${renewed.slice(0, 30)}…`);
  assert.ok(seen.at(-1).pass, "the extension sent the pass");
  assert.notEqual(renewed, firstPass);
  assert.equal(id(renewed), id(firstPass), "the same admission, not a new place");
  assert.equal(await page.inputValue("#login input[name=waitroom_pass]"), renewed, "the form carries the new pass");
  const after = await overlay(page);
  assert.match(after.phase, /Vous avez 2\u00a0minutes pour/, `more time shown: ${after.phase}`);
  assert.equal(after.text.includes("presque fini"), false, "the warning is gone");
});

test("A redirect after admission is announced, with « Entrer maintenant », and can be stopped", { timeout: 60_000 }, async (t) => {
  const route = (name) => (req, res, url, hit) => hit.n < 1 ? queued(res, { position: 2, eta_seconds: 2, retry_after_ms: 1500 }) : admitted(res);
  server.page("/redirect", { gate: "/gate/redirect", attrs: { "data-redirect": "/done" } }).route("/gate/redirect", route("a"));
  const context = await newContext(browser);
  await logLiveRegion(context);
  const page = await openPage(context, `${server.url}/redirect`);
  const leaving = await until(async () => {
    const o = await overlay(page);
    return o?.countdown?.startsWith("Vous allez entrer dans le portail") ? o : null;
  }, { what: "the departure announced" });
  const announcedAt = Date.now();
  assert.match(leaving.countdown, /^Vous allez entrer dans le portail dans \d\u00a0secondes?\.$/);
  const focus = await focusOf(page);
  assert.deepEqual(focus, { overlay: "button", text: "Entrer maintenant" }, "Enter goes at once");
  await axeZero(t, page, "leaving");
  const said = await until(async () => {
    const l = await page.evaluate(() => window.__live);
    return l.said.find((s) => s.text.includes("Vous allez entrer dans le portail")) ?? null;
  }, { what: "the departure spoken" });
  t.diagnostic(`said: "${said.text}"`);
  await page.waitForURL(/\/done$/, { timeout: 10_000 });
  const delay = Date.now() - announcedAt;
  t.diagnostic(`navigated ${delay} ms after the announcement`);
  assert.ok(delay <= 5000, "a short delay");

  // "Entrer maintenant" goes at once; "Rester sur cette page" stays, with the form usable.
  server.page("/redirect2", { gate: "/gate/redirect2", attrs: { "data-redirect": "/done" } }).route("/gate/redirect2", route("b"));
  const page2 = await openPage(context, `${server.url}/redirect2`);
  await until(async () => (await overlay(page2))?.countdown?.startsWith("Vous allez entrer"), { what: "announced" });
  const pressed = Date.now();
  await Promise.all([page2.waitForURL(/\/done$/, { timeout: 5000 }), page2.keyboard.press("Enter")]);
  assert.ok(Date.now() - pressed < 1500, "Enter now goes now");

  server.page("/redirect3", { gate: "/gate/redirect3", attrs: { "data-redirect": "/done" } }).route("/gate/redirect3", route("c"));
  const page3 = await openPage(context, `${server.url}/redirect3`);
  await until(async () => (await overlay(page3))?.countdown?.startsWith("Vous allez entrer"), { what: "announced" });
  await page3.locator("waitroom-overlay").getByRole("button", { name: "Rester sur cette page" }).click();
  await sleep(4000);
  assert.match(page3.url(), /\/redirect3$/, "stayed");
  assert.deepEqual(await focusOf(page3), { id: "user" }, "the focus on the form's first empty field");
});

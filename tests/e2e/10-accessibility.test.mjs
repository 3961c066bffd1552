// Scenario 10 — accessibility (RGAA / WCAG 2.2 AA): axe-core finds nothing in any state, the
// live region speaks only when it is worth it, the whole flow works with the keyboard alone,
// and prefers-reduced-motion stops the animations.
import assert from "node:assert/strict";
import { after, test } from "node:test";

import { events, launch, newContext, newPage, dialog, overlay, sleep, until, waitForPhase } from "./lib/browser.mjs";
import { describe, runAxe } from "./lib/axe.mjs";
import { cleanup } from "./lib/cleanup.mjs";
import { admitted, queued, startServer, text } from "./lib/server.mjs";
import { openInState, STATES } from "./lib/states.mjs";

after(cleanup);

const server = await startServer();
const browser = await launch();

test("Accessibility: axe-core finds no WCAG 2.2 AA violation in any state", { timeout: 90_000 }, async (t) => {
  const failures = [];
  const runs = [...STATES.map((state) => [state, "light"]), ["queued", "dark"], ["closed", "dark"]];
  for (const [state, colorScheme] of runs) {
    const context = await newContext(browser, { colorScheme });
    const page = await openInState(context, server, state);
    const shown = await overlay(page);
    if (shown) assert.equal(shown.mode, "open", "the overlay's shadow root is open, so axe and assistive tech reach it");
    const result = await runAxe(page);
    t.diagnostic(`${state} (${colorScheme}): ${result.violations.length} violations, ${result.shadowNodesChecked} checks inside the shadow root${result.incomplete.length ? `, to review by hand: ${result.incomplete.join(", ")}` : ""}`);
    if (shown) assert.ok(result.shadowNodesChecked > 0, "axe looked inside the overlay");
    if (result.violations.length) failures.push(`${state} (${colorScheme}):\n${describe(result.violations)}`);
    await context.close();
  }
  assert.deepEqual(failures, [], failures.join("\n"));
});

test("Accessibility: the live region announces position changes at most once per meaningful change", { timeout: 60_000 }, async (t) => {
  // A queue that moves ten places a second: the visible place changes every second.
  server.page("/live", { gate: "/gate/live" }).route("/gate/live", (req, res) => queued(res, { position: 400, eta_seconds: 40, retry_after_ms: 60_000, advance_per_minute: 600 }));
  const context = await newContext(browser);
  const page = await newPage(context);
  await page.goto(`${server.url}/live`);
  await until(async () => (await overlay(page))?.position, { what: "a place" });
  await page.evaluate(() => {
    const live = document.querySelector("waitroom-overlay").shadowRoot.querySelector("[role=status]");
    window.__said = [{ text: live.textContent, t: Date.now() }];
    new MutationObserver(() => window.__said.push({ text: live.textContent, t: Date.now() }))
      .observe(live, { childList: true, characterData: true, subtree: true });
  });
  const places = [];
  const start = Date.now();
  while (Date.now() - start < 20_000) {
    places.push((await overlay(page)).position);
    await sleep(500);
  }
  const said = await page.evaluate(() => window.__said);
  const distinct = new Set(places);
  t.diagnostic(`over 20 s the visible place took ${distinct.size} values (${places[0]} → ${places.at(-1)}); the live region said: ${said.map((s) => `"${s.text}"`).join(", ")}`);
  assert.ok(distinct.size >= 10, "the visible place moved every second or so");
  // Created empty (a region that appears with its text is not spoken), then filled (e2e 21).
  const spoken = said.filter((s) => s.text !== "");
  const changes = spoken.filter((s, i) => i === 0 || s.text !== spoken[i - 1].text);
  assert.ok(changes.length <= 2, `${changes.length} announcements in 20 s`);
  assert.match(changes[0].text, /^Vous êtes dans la file d’attente\. \d+ personnes avant vous\. Temps d’attente/, "the first announcement says the status, the people ahead and the wait, as shown");
});

test("Accessibility: the whole flow works with the keyboard alone", { timeout: 60_000 }, async (t) => {
  // 1. Checked on load; the gate refuses twice, so with data-max-attempts=1 the pupil gets a
  //    "try again now" button, reaches it with Tab, presses Enter and is let in; then logs in.
  server.page("/keys", { gate: "/gate/keys", attrs: { "data-max-attempts": "1", "data-base-delay": "200" } })
    .route("/gate/keys", (req, res, url, hit) => hit.n < 2 ? text(res, 429, "busy", { "content-type": "text/plain" }) : admitted(res));
  const context = await newContext(browser);
  const page = await newPage(context);
  await page.goto(`${server.url}/keys`);
  await waitForPhase(page, "gave_up");
  const focus = () => page.evaluate(() => {
    const active = document.activeElement;
    const inner = active?.shadowRoot?.activeElement;
    return { outer: active?.tagName.toLowerCase(), id: active?.id || null, inner: inner ? inner.tagName.toLowerCase() : null, role: inner?.closest("[role]")?.getAttribute("role") ?? null };
  });
  const atStart = await focus();
  assert.equal(atStart.outer, "waitroom-overlay", "the focus is in the overlay");
  assert.equal(atStart.inner, "h2", "on the dialog's heading");
  await until(async () => (await overlay(page)).retry?.disabled === false, { what: "the retry button enabled" });
  await page.keyboard.press("Tab");
  const onButton = await focus();
  assert.deepEqual([onButton.inner, onButton.role], ["button", "dialog"], "Tab reaches the retry button, inside the dialog");
  await page.keyboard.press("Enter");
  await until(async () => (await events(page)).admitted.length > 0, { what: "admission after Enter" });
  assert.equal(await dialog(page), null, "the dialog became a notice");
  await until(async () => (await focus()).id === "user", { what: "the focus on the first empty field" });
  await page.keyboard.type("eleve");
  await page.keyboard.press("Tab");
  await page.keyboard.type("secret");
  await Promise.all([page.waitForURL(/\/done\?user=eleve/, { timeout: 5000 }), page.keyboard.press("Enter")]);

  // 2. Checked on submit: Enter in the form opens the waiting room over it; once admitted the
  //    focus goes back to the password field and the held submit goes through.
  server.page("/keys-submit", { gate: "/gate/keys-submit", attrs: { "data-check": "submit" } })
    .route("/gate/keys-submit", (req, res, url, hit) => hit.n < 1 ? queued(res, { position: 1, eta_seconds: 2, retry_after_ms: 1500 }) : admitted(res));
  const focusLog = [];
  const page2 = await newPage(context);
  await page2.exposeFunction("__focused", (what) => focusLog.push(what));
  // With data-check=submit nothing shows until the first submit: wait until the widget has
  // started (its wasm instantiated), or a fast Enter would beat it and log in unguarded.
  await page2.addInitScript(() => {
    for (const name of ["instantiate", "instantiateStreaming"]) {
      const original = WebAssembly[name];
      WebAssembly[name] = function (...args) {
        return original.apply(this, args).then((r) => { setTimeout(() => { window.__started = true; }, 100); return r; });
      };
    }
  });
  await page2.goto(`${server.url}/keys-submit`);
  await until(() => page2.evaluate(() => window.__started === true), { what: "the widget started" });
  await page2.evaluate(() => {
    document.addEventListener("focusin", (e) => window.__focused(e.target.id || e.target.tagName.toLowerCase()));
    document.addEventListener("waitroom:admitted", () => window.__focused("(admitted)"));
  });
  await page2.keyboard.press("Tab");
  await page2.keyboard.type("eleve");
  await page2.keyboard.press("Tab");
  await page2.keyboard.type("secret");
  await page2.keyboard.press("Enter");
  await until(async () => (await overlay(page2))?.position, { what: "the overlay after Enter" });
  await page2.waitForURL(/\/done\?user=eleve&password=secret/, { timeout: 10_000 });
  t.diagnostic(`focus moves: ${focusLog.join(" → ")}`);
  const intoOverlay = focusLog.indexOf("waitroom-overlay");
  assert.ok(intoOverlay > focusLog.indexOf("password"), "the focus went into the overlay");
  // Admitted, the held login is announced before it goes, with « Entrer maintenant » focused
  // (inside the overlay): the focus never falls to <body>.
  assert.deepEqual(focusLog.slice(intoOverlay + 1).filter((f) => f !== "(admitted)" && f !== "waitroom-overlay"), [], "the focus stays in the overlay until the page leaves");
});

test("Accessibility: prefers-reduced-motion turns the animations off", { timeout: 30_000 }, async (t) => {
  const context = await newContext(browser);
  const page = await openInState(context, server, "queued");
  const cdp = await context.newCDPSession(page);
  await cdp.send("DOM.enable");
  await cdp.send("CSS.enable");
  // The bar's stripes live on ::-webkit-progress-value, inside <progress>'s user-agent shadow
  // root, where getComputedStyle cannot reach: ask the DevTools protocol.
  const motion = async () => {
    const { root } = await cdp.send("DOM.getDocument", { depth: -1, pierce: true });
    const bars = [];
    const walk = (n) => {
      const a = n.attributes ?? [];
      for (let i = 0; i < a.length; i += 2) if (a[i] === "pseudo" && a[i + 1] === "-webkit-progress-value") bars.push(n);
      for (const c of [...(n.children ?? []), ...(n.shadowRoots ?? [])]) walk(c);
    };
    walk(root);
    assert.equal(bars.length, 1, "one progress bar");
    const { computedStyle } = await cdp.send("CSS.getComputedStyleForNode", { nodeId: bars[0].nodeId });
    const css = (name) => computedStyle.find((p) => p.name === name)?.value;
    const page_ = await page.evaluate(() => {
      const r = document.querySelector("waitroom-overlay").shadowRoot;
      return { dot: getComputedStyle(r.querySelector(".phase"), "::before").animationName, running: r.getAnimations().map((a) => a.animationName) };
    });
    return { bar: `${css("animation-name")} ${css("animation-duration")}`, barTransition: css("transition-duration"), ...page_ };
  };
  const normal = await motion();
  await page.emulateMedia({ reducedMotion: "reduce" });
  const reduced = await motion();
  t.diagnostic(`normal: ${JSON.stringify(normal)}; reduced: ${JSON.stringify(reduced)}`);
  assert.notEqual(normal.bar, "none 0s", "the bar is animated normally (the check means something)");
  assert.equal(reduced.bar.split(" ")[0], "none", "no animation on the progress bar");
  assert.equal(reduced.barTransition, "0s", "no transition on the progress bar");
  assert.equal(reduced.dot, "none", "no pulsing dot");
  assert.deepEqual(reduced.running, [], "no animation running in the overlay");
});

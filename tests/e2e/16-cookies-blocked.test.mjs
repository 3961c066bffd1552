// Scenario 16 — cookies blocked: a strict school PC whose Chromium refuses every cookie. The
// gate binds each place to its waitroom_id cookie, so such a browser cannot keep one; it must
// not loop for ever as a newcomer either. The gate recognises its ticket coming back without
// any cookie and says so; the widget shows "Activez les cookies pour garder votre place" and
// follows its fail policy: fail-open lets the pupil in after data-fail-open-after, fail-closed
// keeps asking with backoff, the message on screen.
import assert from "node:assert/strict";
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, test } from "node:test";

import { chromium } from "playwright-core";

import { CHROMIUM_ARGS, events, newPage, dialog, overlay, trackRequests, until } from "./lib/browser.mjs";
import { cleanup, onCleanup } from "./lib/cleanup.mjs";
import { fillQueue, startGate } from "./lib/gate.mjs";

after(cleanup);

const FAIL_OPEN_AFTER_MS = 3000; // data-fail-open-after of pages/fail-open.html
const MESSAGE = "Activez les cookies pour garder votre place";

/** Chromium with a profile whose content setting blocks every cookie, as a locked-down PC. */
async function cookielessBrowser() {
  const profile = mkdtempSync(join(tmpdir(), "waitroom-e2e-nocookies-"));
  onCleanup(() => rmSync(profile, { recursive: true, force: true }));
  mkdirSync(join(profile, "Default"));
  writeFileSync(join(profile, "Default", "Preferences"), JSON.stringify({
    profile: { default_content_setting_values: { cookies: 2 } },
  }));
  const context = await chromium.launchPersistentContext(profile, {
    executablePath: process.env.CHROMIUM ?? "/usr/bin/chromium",
    args: CHROMIUM_ARGS,
    locale: "fr-FR",
    viewport: { width: 1024, height: 768 },
    timeout: 30_000,
  });
  onCleanup(() => context.close());
  await context.addInitScript(() => {
    const wr = { states: [], admitted: [], errors: [], csp: [] };
    Object.defineProperty(window, "__wr", { value: wr });
    const keep = (list) => (e) => list.push({ ...(e.detail ?? {}), t: Date.now() });
    document.addEventListener("waitroom:state", keep(wr.states));
    document.addEventListener("waitroom:admitted", keep(wr.admitted));
    document.addEventListener("waitroom:error", keep(wr.errors));
  });
  return context;
}

/** Every status reply `page` receives: its state and the cookie header the request carried. */
function replies(page) {
  const list = [];
  page.on("response", async (response) => {
    if (!response.url().includes("/waitroom/status")) return;
    const entry = { t: Date.now(), state: "unreadable", cookie: response.request().headers().cookie ?? null };
    list.push(entry);
    try {
      entry.state = (await response.json()).state;
    } catch {}
  });
  return list;
}

test("Cookies blocked: the widget asks to enable cookies, then fails open after the policy delay", { timeout: 60_000 }, async (t) => {
  // Thirty a minute, the bucket taken just before the page opens: the pupil queues for about
  // 2 s, then comes back.
  const gate = await startGate({ admitPerMinute: 30, burst: 1 });
  const context = await cookielessBrowser();
  const page = await newPage(context);
  const seen = replies(page);
  await fillQueue(gate.url, 1);
  await page.goto(`${gate.url}/fail-open.html`);

  const shown = await until(async () => {
    const o = await overlay(page);
    return o?.phase?.includes(MESSAGE) ? o : null;
  }, { timeout: 15_000, what: "the cookies message" });
  await until(() => seen.length >= 2 && seen.every((r) => r.state !== "unreadable"), { what: "the replies read" });
  t.diagnostic(`shown: ${shown.phase}; replies: ${seen.map((r) => r.state).join(", ")}`);
  assert.equal(seen[0].state, "queued", "a newcomer first gets a place");
  assert.equal(seen[1].state, "cookies_required", "its ticket back without a cookie is recognised");
  assert.ok(seen.every((r) => r.cookie === null), "the browser really sends no cookie");
  assert.equal((await events(page)).states.at(-1).phase, "cookies_required");
  assert.equal(shown.position, null, "no place is claimed on screen");

  // Fail-open: the pupil is let in once the policy's delay has passed since the first refusal.
  await until(async () => (await events(page)).errors.length > 0, { timeout: 15_000, what: "fail-open" });
  const openedAt = (await events(page)).errors[0].t;
  const waited = openedAt - seen[1].t;
  t.diagnostic(`failed open ${waited} ms after the cookies_required reply (policy ${FAIL_OPEN_AFTER_MS} ms)`);
  assert.equal((await events(page)).errors[0].reason, "unavailable");
  assert.ok(waited >= FAIL_OPEN_AFTER_MS - 50, `fail-open came early: ${waited} ms`);
  assert.ok(waited <= FAIL_OPEN_AFTER_MS + 2000, `fail-open came late: ${waited} ms`);
  assert.equal(await dialog(page), null, "the overlay is gone");
  await page.fill("#user", "eleve.dupont");
  const [login] = await Promise.all([
    page.waitForRequest((r) => r.url().includes("/done.html"), { timeout: 5000 }),
    page.click("button"),
  ]);
  assert.match(login.url(), /user=eleve\.dupont/, "the login form submits");
  // Never a new place at each poll: the ticket was sent back every time.
  const newcomers = seen.filter((r) => r.state === "queued").length;
  assert.equal(newcomers, 1, `one place only, not one per poll: ${seen.map((r) => r.state).join(", ")}`);
});

test("Cookies blocked, fail-closed: the message stays and the widget keeps asking with backoff", { timeout: 60_000 }, async (t) => {
  const gate = await startGate({ admitPerMinute: 30, burst: 1 });
  const context = await cookielessBrowser();
  const requests = trackRequests(context, "/waitroom/status");
  const page = await newPage(context);
  await fillQueue(gate.url, 1);
  await page.goto(`${gate.url}/fail-closed.html`);
  await until(async () => (await overlay(page))?.phase?.includes(MESSAGE), { timeout: 15_000, what: "the cookies message" });
  const before = requests.length;
  // The gate asks for 10 s between tries: within 14 s, one more try at most, and no fail-open.
  await new Promise((ok) => setTimeout(ok, 14_000));
  const tries = requests.length - before;
  t.diagnostic(`${tries} more request(s) in 14 s; phase ${(await overlay(page)).phase}`);
  assert.ok(tries >= 1 && tries <= 2, `${tries} requests`);
  assert.ok((await overlay(page)).phase.includes(MESSAGE), "still asking to enable cookies");
  assert.deepEqual((await events(page)).errors, [], "fail-closed never lets the pupil in");
  const gaps = requests.slice(1).map((r, i) => r.t - requests[i].t);
  assert.ok(gaps.every((g) => g >= 900), `no early request: ${gaps.join(", ")} ms`);
});

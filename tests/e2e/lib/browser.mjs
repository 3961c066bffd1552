// Debian's Chromium through playwright-core, and what a test reads from a page: the overlay
// (through its shadow root), the widget's DOM events, the console, and the gate requests.
import { chromium } from "playwright-core";

import { onCleanup } from "./cleanup.mjs";

export const CHROMIUM_ARGS = [
  "--headless", "--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage", "--disable-background-networking",
  "--disable-component-update", "--disable-sync", "--no-first-run", "--disable-quic",
];

/** Launches Chromium; closed at cleanup. */
export async function launch() {
  const browser = await chromium.launch({
    executablePath: process.env.CHROMIUM ?? "/usr/bin/chromium",
    args: CHROMIUM_ARGS,
    timeout: 30_000,
  });
  onCleanup(() => browser.close());
  return browser;
}

/**
 * Runs before every document of the context: records the widget's events and CSP violations
 * in `window.__wr` (added through the DevTools protocol, so a strict CSP does not block it).
 */
const RECORDER = () => {
  const wr = { states: [], admitted: [], errors: [], csp: [] };
  Object.defineProperty(window, "__wr", { value: wr });
  const keep = (list) => (e) => list.push({ ...(e.detail ?? {}), t: Date.now() });
  document.addEventListener("waitroom:state", keep(wr.states));
  document.addEventListener("waitroom:admitted", keep(wr.admitted));
  document.addEventListener("waitroom:error", keep(wr.errors));
  document.addEventListener("securitypolicyviolation", (e) => {
    wr.csp.push({ directive: e.violatedDirective, blocked: e.blockedURI, source: e.sourceFile, t: Date.now() });
  }, true);
};

/** A fresh context (its own storage, locks and cookies), French by default; closed at cleanup. */
export async function newContext(browser, options = {}) {
  const context = await browser.newContext({ locale: "fr-FR", viewport: { width: 1024, height: 768 }, ...options });
  await context.addInitScript(RECORDER);
  onCleanup(() => context.close());
  return context;
}

/** A new page in `context` whose console messages and page errors are kept in `page.logs`. */
export async function newPage(context) {
  const page = await context.newPage();
  page.logs = [];
  page.on("console", (m) => page.logs.push({ type: m.type(), text: m.text(), t: Date.now() }));
  page.on("pageerror", (e) => page.logs.push({ type: "pageerror", text: e.message, t: Date.now() }));
  return page;
}

/** Opens `url` in a new page of `context`. */
export async function openPage(context, url) {
  const page = await newPage(context);
  await page.goto(url);
  return page;
}

/**
 * Every request whose URL contains `fragment`, on every page of `context`, with the time it
 * was sent, the page that sent it and, once known, its response status and whether it failed.
 */
export function trackRequests(context, fragment) {
  const list = [];
  context.on("request", (request) => {
    if (!request.url().includes(fragment)) return;
    const entry = { url: request.url(), t: Date.now(), page: request.frame().page(), status: null, failed: null };
    list.push(entry);
    request.response().then((r) => { entry.status = r ? r.status() : null; }, () => {});
  });
  context.on("requestfailed", (request) => {
    const entry = list.find((e) => e.url === request.url() && e.failed === null && e.status === null);
    if (entry) entry.failed = request.failure()?.errorText ?? "failed";
  });
  return list;
}

/**
 * What the overlay shows, read through its shadow root: `null` without overlay, else the
 * root's mode and the visible text of each part (hidden parts are `null`), the live region's
 * text, and `position`: the place in the queue, one more than the people ahead that the
 * overlay shows as its one number ("29 personnes avant vous." is place 30; "Personne avant
 * vous" is place 1).
 */
export async function overlay(page) {
  return page.evaluate(() => {
    const host = document.querySelector("waitroom-overlay");
    if (!host) return null;
    const root = host.shadowRoot;
    if (!root) return { mode: "closed" };
    const visible = (selector) => {
      const e = root.querySelector(selector);
      return e && !e.hidden && e.getClientRects().length > 0 ? e.textContent : null;
    };
    const button = root.querySelector("button");
    const position = visible(".position");
    return {
      mode: root.mode,
      theme: host.getAttribute("data-theme"),
      title: visible("h2"),
      phase: visible(".phase"),
      position: position === null ? null : Number(position.replace(/\D/g, "")) + 1,
      positionText: position,
      ahead: visible(".ahead"),
      eta: visible(".eta"),
      countdown: visible(".countdown"),
      updated: visible(".updated"),
      closed: visible(".closed"),
      message: visible(".message"),
      progress: visible("progress") === null ? null : root.querySelector("progress").value,
      retry: button && !button.hidden ? { text: button.textContent, disabled: button.getAttribute("aria-disabled") === "true" } : null,
      live: root.querySelector("[role=status]")?.textContent ?? null,
      // false once admitted: the dialog became a non-modal notice at the bottom of the page.
      modal: root.querySelector(".card")?.getAttribute("aria-modal") === "true",
      text: root.querySelector(".card")?.innerText ?? "",
    };
  });
}

/**
 * The overlay while it is the modal waiting dialog; `null` without overlay, or once it became
 * the notice that stays after admission (or fail-open) with the page usable again.
 */
export async function dialog(page) {
  const shown = await overlay(page);
  return shown?.modal ? shown : null;
}

/** The widget's events so far on this document: `{states, admitted, errors, csp}`. */
export function events(page) {
  return page.evaluate(() => window.__wr);
}

/** The phase of the last `waitroom:state` event, or null. */
export async function phase(page) {
  const wr = await events(page);
  return wr?.states.at(-1)?.phase ?? null;
}

/** The stored snapshot for the gate at `gateUrl` (absolute), parsed. */
export function snapshot(page, gateUrl) {
  return page.evaluate((key) => JSON.parse(localStorage.getItem(key) ?? "null"), `waitroom:v1:${gateUrl}`);
}

/** Polls `check` (sync or async) every `every` ms until it returns a truthy value. */
export async function until(check, { timeout = 10_000, every = 100, what = "a condition" } = {}) {
  const deadline = Date.now() + timeout;
  let last;
  for (;;) {
    try {
      last = await check();
      if (last) return last;
    } catch (e) {
      last = e;
    }
    if (Date.now() > deadline) throw new Error(`timed out after ${timeout} ms waiting for ${what} (last: ${last instanceof Error ? last.message : JSON.stringify(last)})`);
    await sleep(every);
  }
}

/** Waits until the last `waitroom:state` event says `wanted` (one name or a list). */
export function waitForPhase(page, wanted, timeout = 10_000) {
  const names = [wanted].flat();
  return until(async () => names.includes(await phase(page)), { timeout, what: `phase ${names.join("|")}` });
}

export const sleep = (ms) => new Promise((ok) => setTimeout(ok, ms));

/** Console messages of `page` of the given type(s) that mention `waitroom`. */
export function consoleOf(page, ...types) {
  return page.logs.filter((m) => types.includes(m.type));
}

// The widget's states on demand, for the accessibility, language and phone scenarios: a fake
// gate path per state on the test server, and `openInState` to get a page showing it.
import { events, newPage, overlay, until, waitForPhase } from "./browser.mjs";
import { admitted, json, queued, text } from "./server.mjs";

/** Every state a pupil can see (gave_up only with data-max-attempts). */
export const STATES = ["queued", "throttled", "offline", "closed", "unavailable", "gave_up", "admitted"];

export const CLOSED_MESSAGE = "Maintenance ce soir de 20 h à 22 h : l'ENT rouvre ensuite.";

const GATES = {
  queued: (req, res) => queued(res, { position: 1234, eta_seconds: 420, retry_after_ms: 60_000, advance_per_minute: 30 }),
  throttled: (req, res) => text(res, 429, "Too Many Requests", { "retry-after": "60", "content-type": "text/plain" }),
  closed: (req, res) => json(res, 503, { state: "closed", message: CLOSED_MESSAGE, retry_after_ms: 300_000 }, { "retry-after": "300" }),
  unavailable: (req, res) => text(res, 500, "Internal Server Error", { "content-type": "text/plain" }),
  gave_up: (req, res) => text(res, 429, "Too Many Requests", { "content-type": "text/plain" }),
  admitted: (req, res) => admitted(res),
};

const ATTRS = {
  unavailable: { "data-fail": "closed" },
  gave_up: { "data-max-attempts": "1", "data-base-delay": "200" },
};

/** Registers the state gates and pages on `server` (once). */
export function serveStates(server) {
  if (server.statesReady) return;
  server.statesReady = true;
  for (const [state, gate] of Object.entries(GATES)) server.route(`/gate/${state}`, gate);
  for (const state of STATES) {
    const gateState = state === "offline" ? "queued" : state;
    for (const lang of ["fr", "en"]) {
      server.page(`/state/${state}/${lang}`, { gate: `/gate/${gateState}`, lang, attrs: ATTRS[state] ?? {} });
    }
  }
}

/**
 * A new page of `context` (which must be fresh: the snapshot is per gate and per context)
 * showing `state` in `lang`, settled: the phase reached, the overlay drawn (gone once
 * admitted), a gave-up retry button enabled.
 */
export async function openInState(context, server, state, lang = "fr") {
  serveStates(server);
  const page = await newPage(context);
  await page.goto(`${server.url}/state/${state}/${lang}`);
  if (state === "admitted") {
    await until(async () => (await events(page)).admitted.length > 0, { what: "admission" });
    return page;
  }
  await waitForPhase(page, state === "offline" ? "queued" : state, 10_000);
  if (state === "offline") {
    await context.setOffline(true);
    await waitForPhase(page, "offline", 5000);
  }
  if (state === "gave_up") {
    await until(async () => (await overlay(page))?.retry?.disabled === false, { what: "the retry button enabled" });
  }
  await until(async () => (await overlay(page))?.phase, { what: "the overlay" });
  return page;
}

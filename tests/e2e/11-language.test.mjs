// Scenario 11 — language: every state in French and in English, as screenshots for a human to
// read (tests/e2e/artifacts/), and no English left in the French interface (nor French in the
// English one).
import assert from "node:assert/strict";
import { mkdirSync } from "node:fs";
import { join } from "node:path";
import { after, test } from "node:test";

import { launch, newContext, overlay } from "./lib/browser.mjs";
import { cleanup } from "./lib/cleanup.mjs";
import { ARTIFACTS } from "./lib/paths.mjs";
import { startServer } from "./lib/server.mjs";
import { openInState, STATES } from "./lib/states.mjs";

after(cleanup);

const ENGLISH = ["the", "queue", "wait", "waiting", "retry", "try", "again", "seconds", "position", "please",
  "your", "you", "next", "check", "checking", "portal", "closed", "offline", "online", "busy", "estimated", "people", "ahead",
  "last", "updated", "progress", "now", "error", "loading", "connection"];
const FRENCH = ["votre", "vous", "file", "attente", "réessayer", "portail", "prochaine", "vérification", "estimée", "personnes",
  "devant", "mise", "jour", "connexion", "fermé", "maintenant"];

/** Every text of the overlay a user can see or hear: visible text, live region, labels. */
async function everyText(page) {
  return page.evaluate(() => {
    const host = document.querySelector("waitroom-overlay");
    if (!host) return "";
    const r = host.shadowRoot;
    const labels = [...r.querySelectorAll("[aria-label]")].map((e) => e.getAttribute("aria-label"));
    return [r.querySelector(".card").innerText, r.querySelector("[role=status]").textContent, ...labels].join("\n");
  });
}

const wordsOf = (list) => new RegExp(`(?<![\\p{L}])(${list.join("|")})(?![\\p{L}])`, "giu");

test("Language: fr and en screenshots of every state, no English word in the French UI", { timeout: 90_000 }, async (t) => {
  const dir = join(ARTIFACTS, "language");
  mkdirSync(dir, { recursive: true });
  t.diagnostic(`screenshots in ${dir}`);
  const server = await startServer();
  const browser = await launch();
  const problems = [];
  for (const lang of ["fr", "en"]) {
    for (const state of STATES) {
      const context = await newContext(browser, { locale: lang === "fr" ? "fr-FR" : "en-GB", viewport: { width: 1280, height: 800 } });
      const page = await openInState(context, server, state, lang);
      await page.screenshot({ path: join(dir, `${lang}-${state}.png`) });
      const shown = await overlay(page);
      const text = await everyText(page);
      if (shown) {
        const card = await page.evaluate(() => document.querySelector("waitroom-overlay").shadowRoot.querySelector(".card").lang);
        if (card !== lang) problems.push(`${lang} ${state}: the dialog says lang=${card}`);
        const foreign = text.match(wordsOf(lang === "fr" ? ENGLISH : FRENCH));
        if (foreign) problems.push(`${lang} ${state}: ${[...new Set(foreign)].join(", ")} in "${text.replace(/\s+/g, " ")}"`);
      }
      t.diagnostic(`${lang}-${state}.png: ${shown ? `"${shown.phase}"` : "no overlay (admitted)"}`);
      await context.close();
    }
  }
  assert.deepEqual(problems, [], problems.join("\n"));
});

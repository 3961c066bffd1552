// Scenario 12 — phone: on a 320 × 640 screen (the narrowest phones pupils have) every state
// fits without horizontal scrolling, and the dialog stays inside the viewport.
import assert from "node:assert/strict";
import { mkdirSync } from "node:fs";
import { join } from "node:path";
import { after, test } from "node:test";

import { launch, newContext } from "./lib/browser.mjs";
import { cleanup } from "./lib/cleanup.mjs";
import { ARTIFACTS } from "./lib/paths.mjs";
import { startServer } from "./lib/server.mjs";
import { openInState, STATES } from "./lib/states.mjs";

after(cleanup);

test("Phone: a 320 × 640 viewport shows every state without horizontal scrolling", { timeout: 60_000 }, async (t) => {
  const dir = join(ARTIFACTS, "phone");
  mkdirSync(dir, { recursive: true });
  t.diagnostic(`screenshots in ${dir}`);
  const server = await startServer();
  const browser = await launch();
  const problems = [];
  for (const lang of ["fr", "en"]) {
    for (const state of STATES.filter((s) => s !== "admitted")) {
      const context = await newContext(browser, { viewport: { width: 320, height: 640 }, isMobile: true, hasTouch: true, deviceScaleFactor: 2 });
      const page = await openInState(context, server, state, lang);
      await page.screenshot({ path: join(dir, `${lang}-${state}.png`) });
      const m = await page.evaluate(() => {
        const r = document.querySelector("waitroom-overlay").shadowRoot;
        const box = (e) => { const b = e.getBoundingClientRect(); return { left: b.left, right: b.right, top: b.top, width: b.width }; };
        const parts = [...r.querySelectorAll(".card > *")].filter((e) => !e.hidden).map((e) => ({ part: e.className || e.tagName.toLowerCase(), ...box(e) }));
        return { scrollWidth: document.scrollingElement.scrollWidth, innerWidth, card: box(r.querySelector(".card")), scrim: box(r.querySelector(".scrim")), scrimScrollWidth: r.querySelector(".scrim").scrollWidth, parts };
      });
      const where = `${lang} ${state}`;
      if (m.scrollWidth > 320) problems.push(`${where}: the page scrolls sideways (${m.scrollWidth} px)`);
      if (m.scrimScrollWidth > 320) problems.push(`${where}: the overlay scrolls sideways (${m.scrimScrollWidth} px)`);
      if (m.card.left < 0 || m.card.right > 320) problems.push(`${where}: the dialog spans ${m.card.left}–${m.card.right} px`);
      for (const p of m.parts) if (p.left < m.card.left || p.right > m.card.right + 0.5) problems.push(`${where}: ${p.part} spans ${p.left}–${p.right} px`);
      t.diagnostic(`${where}: page ${m.scrollWidth} px wide, dialog ${Math.round(m.card.left)}–${Math.round(m.card.right)} px`);
      await context.close();
    }
  }
  assert.deepEqual(problems, [], problems.join("\n"));
});

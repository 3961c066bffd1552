// The second deployment, with no backend change: plain nginx `limit_req` answers the login URL
// with its 503 quota page, and the operator has added the widget's tag to that page
// (`error_page 503`). The widget retries the login URL with backoff and jitter, each
// attempt a page load of it, until nginx lets one through. Real nginx (Debian), real Chromium.
import assert from "node:assert/strict";
import { after, test } from "node:test";

import { launch, newContext, openPage, overlay, until } from "./lib/browser.mjs";
import { cleanup } from "./lib/cleanup.mjs";
import { HAS_NGINX, exhaustBurst, startNginx } from "./lib/nginx.mjs";

after(cleanup);

const LOGIN = `<!doctype html><html lang="fr"><head><meta charset="utf-8"><title>Connexion</title>
<link rel="icon" href="data:,"></head><body><h1>Connexion à l’ENT</h1>
<form method="post" action="/session"><input name="user"><input type="password" name="pw"></form></body></html>`;

// The quota page an ENT serves today, plus one line: the widget's tag.
const QUOTA = `<!doctype html><html lang="fr"><head><meta charset="utf-8"><title>Quota atteint</title>
<link rel="icon" href="data:,">
<script src="/waitroom.js" defer data-protocol="http" data-gate="/login" data-redirect="/login"
        data-base-delay="1000" data-max-delay="4000"></script></head>
<body><h1>Quota atteint</h1><p>Revenez dans quelques minutes.</p></body></html>`;

test("nginx quota page: the widget on nginx's 503 page takes the pupil to the login page once limit_req lets them", { skip: !HAS_NGINX && "nginx is not installed", timeout: 90_000 }, async (t) => {
  // One login every 10 s (and a burst of one): the F5 storm that nginx turns away.
  const url = await startNginx({ rate: "6r/m", files: { "login.html": LOGIN, "quota.html": QUOTA } });
  await exhaustBurst(url); // the next visitor gets the quota page

  const browser = await launch();
  const context = await newContext(browser);
  // The widget's attempts: on the quota page each one loads the login URL as the page (a fetch
  // that got through would spend the token the navigation then needs).
  const polls = [];
  const fetches = [];
  context.on("request", (r) => {
    if (!r.url().endsWith("/login")) return;
    if (r.resourceType() === "document") polls.push(Date.now());
    else fetches.push(r.resourceType());
  });
  const loaded = Date.now();
  const page = await openPage(context, `${url}/login`);
  polls.shift(); // the pupil's own page load
  assert.match(await page.title(), /Quota atteint/, "nginx answered with its quota page");
  const shown = await until(async () => (await overlay(page))?.phase, { what: "the widget on the quota page" });
  t.diagnostic(`on the quota page: ${shown}`);

  await until(async () => (await page.title().catch(() => "")) === "Connexion", { timeout: 60_000, what: "the login page" });
  const gaps = polls.slice(1).map((at, i) => at - polls[i]);
  t.diagnostic(`${polls.length} polls of /login before nginx let one through; gaps ${gaps.join(", ")} ms`);
  assert.ok(polls.length >= 1, "the widget asked nginx, not the user");
  assert.deepEqual(fetches, [], "no fetch of the login URL from its own quota page");
  assert.ok(polls.length <= 12, `one page load per attempt, no navigation storm (${polls.length})`);
  assert.ok(polls[0] - loaded >= 1000, `the quota page was the first answer: no second request at once (${polls[0] - loaded} ms)`);
  assert.ok(gaps.every((g) => g >= 400), `no hammering: ${gaps}`);
});

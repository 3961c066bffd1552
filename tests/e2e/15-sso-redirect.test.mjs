// An ENT whose login URL redirects to a single sign-on server on another origin (CAS,
// EduConnect, a regional IdP), behind nginx `limit_req` with the widget on its 503 quota page.
// Every pupil must reach the SSO page promptly, by the gate letting them through (not by
// fail-open), and the SSO server must only ever see navigations: none of the widget's own
// requests. The portal's home page polls the same login URL with fetch (plain HTTP): its
// unfollowed redirect means "let through" too. In native mode a redirect is no reply: the
// other origin hears nothing.
import assert from "node:assert/strict";
import { after, test } from "node:test";

import { events, launch, newContext, newPage, until } from "./lib/browser.mjs";
import { cleanup } from "./lib/cleanup.mjs";
import { HAS_NGINX, exhaustBurst, startNginx } from "./lib/nginx.mjs";
import { loginPage, startServer, text } from "./lib/server.mjs";

after(cleanup);

const SSO_PAGE = `<!doctype html><html lang="fr"><head><meta charset="utf-8"><title>Authentification EduConnect</title>
<link rel="icon" href="data:,"></head><body><h1>Authentification</h1></body></html>`;

const QUOTA = `<!doctype html><html lang="fr"><head><meta charset="utf-8"><title>Quota atteint</title>
<link rel="icon" href="data:,">
<script src="/waitroom.js" defer data-protocol="http" data-gate="/login" data-redirect="/login"
        data-base-delay="1000" data-max-delay="4000"></script></head>
<body><h1>Quota atteint</h1><p>Revenez dans quelques minutes.</p></body></html>`;

const PUPILS = 6;

test("SSO behind nginx limit_req: every pupil reaches the SSO page by the gate's leave, and the SSO server sees only navigations", { skip: !HAS_NGINX && "nginx is not installed", timeout: 120_000 }, async (t) => {
  const sso = await startServer();
  sso.route("/cas/login", (req, res) => text(res, 200, SSO_PAGE));
  // The portal's home: the widget polls the login URL by fetch, then takes the pupil there.
  const home = loginPage({ gate: "/login", attrs: { "data-protocol": "http", "data-redirect": "/login", "data-base-delay": "1000", "data-max-delay": "4000" } });
  const url = await startNginx({
    rate: "2r/s",
    burst: 2,
    files: { "quota.html": QUOTA, "home.html": home },
    // `return` would run before limit_req (rewrite phase); try_files runs after it.
    login: "try_files /nowhere @sso;",
    extra: `location @sso { return 302 ${sso.url}/cas/login?service=http%3A%2F%2Fent.example%2F; }`,
  });

  const browser = await launch();
  const pages = [];
  for (let i = 0; i < PUPILS; i++) pages.push(await newPage(await newContext(browser)));
  // What a page met first is the status of its first document, read as it arrives (its title
  // is gone once the widget, let through, has navigated away).
  const arrive = async (page, path) => {
    const first = page.waitForResponse((r) => r.request().isNavigationRequest() && r.frame() === page.mainFrame());
    await page.goto(`${url}${path}`).catch(() => {});
    return (await first).status();
  };
  const opened = Date.now();
  // Half arrive on the login URL while nginx's limit is spent, so they meet its quota page. On
  // this loaded 2-core machine a fresh page's first navigation can take over a second, in which
  // nginx frees tokens (2 a second): a pupil let straight through to the SSO page arrives again,
  // as a real one would press F5, until the quota page is what it meets.
  const firstStatuses = [];
  for (const page of pages.filter((_, i) => i % 2 === 0)) {
    let status;
    for (let attempt = 0; attempt < 5 && status !== 503; attempt++) {
      await exhaustBurst(url);
      status = await arrive(page, "/login");
    }
    firstStatuses.push(status);
  }
  // The other half arrive on the portal's home page, whose widget polls the login URL.
  firstStatuses.push(...await Promise.all(pages.filter((_, i) => i % 2 === 1).map((page) => arrive(page, "/home.html"))));
  t.diagnostic(`first documents: ${firstStatuses.join(" | ")}`);
  assert.deepEqual(firstStatuses, [503, 503, 503, 200, 200, 200], "half the crowd met the quota page first, half the home page");

  const arrived = await Promise.all(pages.map(async (page) => {
    await until(async () => /EduConnect/.test(await page.title().catch(() => "")), { timeout: 60_000, what: "the SSO page" });
    return Date.now() - opened;
  }));
  t.diagnostic(`on the SSO page after ${arrived.map((ms) => `${(ms / 1000).toFixed(1)} s`).join(", ")}`);
  const modes = sso.hits("/cas/login").map((h) => h.mode);
  t.diagnostic(`the SSO server received ${sso.log.length} requests: ${[...new Set(sso.log.map((h) => `${h.path} (${h.mode})`))].join(", ")}`);

  assert.ok(Math.max(...arrived) < 25_000, "promptly: well before the 30 s fail-open delay");
  for (const page of pages) {
    const fellOpen = page.logs.filter((m) => /unreachable|letting the user through|could not start/.test(m.text));
    assert.deepEqual(fellOpen, [], "let through by the gate, not by fail-open");
    assert.deepEqual(page.logs.filter((m) => m.type === "pageerror"), [], "no page error");
  }
  assert.equal(sso.log.length, modes.length, "only the SSO login URL was asked for");
  assert.ok(modes.every((m) => m === "navigate"), `only navigations reached the SSO server: ${modes}`);
  assert.ok(modes.length >= PUPILS, "every pupil went there");
});

test("SSO in native mode: a login URL that redirects is no reply; the other origin never hears from the widget", { timeout: 30_000 }, async (t) => {
  const server = await startServer();
  const sso = await startServer();
  sso.route("/cas/login", (req, res) => text(res, 200, SSO_PAGE, { "access-control-allow-origin": "*" }));
  server.page("/ent", { gate: "/login", attrs: { "data-protocol": "native", "data-base-delay": "500", "data-max-delay": "1000" } })
    .route("/login", (req, res) => text(res, 302, "", { location: `${sso.url}/cas/login` }));
  const browser = await launch();
  const page = await newPage(await newContext(browser));
  await page.goto(`${server.url}/ent`);
  await until(async () => server.hits("/login").length >= 3, { timeout: 15_000, what: "three polls" });
  const wr = await events(page);
  t.diagnostic(`phases: ${[...new Set(wr.states.map((s) => s.phase))].join(", ")}; polls: ${server.hits("/login").length}; SSO requests: ${sso.log.length}`);
  assert.equal(sso.log.length, 0, "no request to the SSO origin");
  assert.equal(wr.admitted.length, 0, "a redirect does not admit in native mode");
  assert.equal(wr.states.at(-1)?.phase, "unavailable", "backs off as from a broken gate");
  assert.equal(page.url(), `${server.url}/ent`, "the page stays");
});

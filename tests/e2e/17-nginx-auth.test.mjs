// Admission enforced at the edge: Debian's nginx runs docs/nginx-auth.conf verbatim in front of
// a portal whose login handler knows nothing of waitroom (vendor software). nginx asks the gate
// (`auth_request` → GET /waitroom/auth) before every request to the login URL: a script POSTing
// the login form without a pass never reaches the portal; a pupil admitted by the widget logs
// in; the pass copied into another browser is refused.
import assert from "node:assert/strict";
import { readFileSync } from "node:fs";
import { createServer } from "node:http";
import { join } from "node:path";
import { after, test } from "node:test";

import { events, launch, newContext, openPage, until } from "./lib/browser.mjs";
import { cleanup, onCleanup } from "./lib/cleanup.mjs";
import { fillQueue, startGate } from "./lib/gate.mjs";
import { HAS_NGINX, startNginx } from "./lib/nginx.mjs";
import { ROOT } from "./lib/paths.mjs";

after(cleanup);

const CONF = readFileSync(join(ROOT, "docs/nginx-auth.conf"), "utf8");

const WAITING = `<!doctype html><html lang="fr"><head><meta charset="utf-8"><title>Salle d’attente</title>
<link rel="icon" href="data:,">
<script src="/waitroom.js" defer data-gate="/waitroom/status" data-redirect="/login"></script></head>
<body><h1>Connexion à l’ENT</h1><p>Un instant : le portail vous laisse entrer à votre tour.</p></body></html>`;

/** The ENT's login application, which checks no pass at all; it records what reaches it. */
async function startPortal() {
  const seen = [];
  const server = createServer((req, res) => {
    let body = "";
    req.on("data", (chunk) => { body += chunk; });
    req.on("end", () => {
      seen.push({ method: req.method, url: req.url, passId: req.headers["x-waitroom-pass-id"] ?? null, body });
      res.setHeader("content-type", "text/html; charset=utf-8");
      if (req.method === "POST") {
        const user = new URLSearchParams(body).get("user");
        return res.end(`<!doctype html><title>ENT</title><h1>Bienvenue, ${user}</h1>`);
      }
      res.end(`<!doctype html><html lang="fr"><head><meta charset="utf-8"><title>Connexion</title><link rel="icon" href="data:,"></head>
<body><form method="post" action="/login"><input id="user" name="user"><input type="password" id="pw" name="pw">
<button type="submit">Se connecter</button></form></body></html>`);
    });
  });
  await new Promise((ok) => server.listen(0, "127.0.0.1", ok));
  onCleanup(() => new Promise((ok) => server.close(ok)));
  return { port: server.address().port, seen };
}

/** A scripted POST of the login form through nginx, with `cookie` if any. */
async function scriptedLogin(url, cookie) {
  const headers = { "content-type": "application/x-www-form-urlencoded" };
  if (cookie) headers.cookie = cookie;
  const reply = await fetch(`${url}/login`, { method: "POST", body: "user=bot&pw=x", headers, redirect: "manual" });
  await reply.text();
  return { status: reply.status, location: reply.headers.get("location") };
}

test("nginx auth_request: no pass, no login; a pupil admitted by the widget logs in; a copied pass is refused", { skip: !HAS_NGINX && "nginx is not installed", timeout: 90_000 }, async (t) => {
  // Started as docs/nginx-auth.conf says: the pupil's address from nginx's X-Real-IP.
  const gate = await startGate({ admitPerMinute: 30, burst: 1, args: ["--client-address-header", "X-Real-IP"] });
  const portal = await startPortal();
  const url = await startNginx({
    files: { "attente.html": WAITING },
    http: `upstream waitroom_gate { server 127.0.0.1:${gate.port}; }\n  upstream ent_portal { server 127.0.0.1:${portal.port}; }`,
    locations: CONF,
  });

  // A script POSTing the login form without a pass, or with a made-up one: sent to the waiting
  // page, and the portal never sees it.
  for (const cookie of [null, "waitroom_pass=p2.1.2.3.AAAAAAAAAAAAAAAAAAAAAA.AAAA; waitroom_id=AAAAAAAAAAAAAAAAAAAAAA"]) {
    const refused = await scriptedLogin(url, cookie);
    assert.equal(refused.status, 303, `refused (${cookie})`);
    assert.match(refused.location ?? "", /\/attente\.html$/, "to the waiting page");
  }
  // The gate's auth endpoint is nginx's, not the world's.
  assert.equal((await fetch(`${url}/waitroom/auth`)).status, 404);
  assert.deepEqual(portal.seen, [], "nothing reached the portal");

  // The pupil: the login URL sends them to the waiting page, where the widget queues them
  // (the bucket taken just before: about 2 s) and takes them back once admitted.
  const browser = await launch();
  const pupil = await newContext(browser);
  await fillQueue(gate.url, 1);
  const page = await openPage(pupil, `${url}/login`);
  assert.match(page.url(), /\/attente\.html$/, "sent to the waiting page");
  await until(async () => (await page.title().catch(() => "")) === "Connexion", { timeout: 30_000, what: "the portal's login page" });
  const wr = await events(page).catch(() => null);
  t.diagnostic(`admitted, at ${page.url()}${wr ? "" : " (a new document)"}`);
  await page.fill("#user", "zoe.martin");
  await page.fill("#pw", "secret");
  await Promise.all([page.waitForNavigation(), page.click("button")]);
  assert.match(await page.textContent("h1"), /Bienvenue, zoe\.martin/, "logged in");
  const logins = portal.seen.filter((r) => r.method === "POST");
  assert.equal(logins.length, 1);
  assert.match(logins[0].passId ?? "", /^\d+$/, "the portal is told the admission's id");
  t.diagnostic(`the portal saw: ${portal.seen.map((r) => `${r.method} ${r.url} (pass ${r.passId})`).join(", ")}`);

  // The pass copied into another browser (with its own waitroom_id, or none): refused, and
  // the portal sees nothing of it.
  const cookies = await pupil.cookies(url);
  const pass = cookies.find((c) => c.name === "waitroom_pass");
  const id = cookies.find((c) => c.name === "waitroom_id");
  assert.ok(pass && id, "the pupil holds a pass and its browser cookie");
  assert.ok(pass.httpOnly && id.httpOnly, "neither is readable by the page's scripts");
  const before = portal.seen.length;
  const classmate = await newContext(browser);
  await classmate.addCookies([{ name: "waitroom_pass", value: pass.value, url }]);
  const copied = await openPage(classmate, `${url}/login`);
  assert.match(copied.url(), /\/attente\.html$/, "the copied pass does not open the login page");
  // The classmate's own widget would now queue and, the gate having room, be let in with a pass
  // of its own: a fair admission, not the copy's. Closed here, so that only the copies count.
  await classmate.close();
  // Even knowing nothing but the pass, a script fares no better.
  assert.equal((await scriptedLogin(url, `waitroom_pass=${pass.value}`)).status, 303);
  assert.equal((await scriptedLogin(url, `waitroom_pass=${pass.value}; waitroom_id=AAAAAAAAAAAAAAAAAAAAAA`)).status, 303);
  const copies = portal.seen.slice(before).filter((r) => r.passId === logins[0].passId);
  assert.deepEqual(copies, [], "nothing of the copies reached the portal");
  // While the pupil's own browser still gets through.
  assert.equal((await scriptedLogin(url, `waitroom_pass=${pass.value}; waitroom_id=${id.value}`)).status, 200);
});

// The second deployment, with no backend change: plain nginx `limit_req` answers the login URL
// with its 503 quota page, and the operator has added the widget's tag to that page
// (`error_page 503`). The widget retries the login URL with backoff and jitter and, when nginx
// lets a request through, takes the pupil there. Real nginx (Debian), real Chromium.
import assert from "node:assert/strict";
import { spawn } from "node:child_process";
import { chmodSync, cpSync, existsSync, mkdirSync, mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { createServer } from "node:net";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, test } from "node:test";

import { launch, newContext, openPage, overlay, until } from "./lib/browser.mjs";
import { cleanup, onCleanup, trackChild } from "./lib/cleanup.mjs";
import { WWW } from "./lib/paths.mjs";

after(cleanup);

const NGINX = "/usr/sbin/nginx";

const LOGIN = `<!doctype html><html lang="fr"><head><meta charset="utf-8"><title>Connexion</title>
<link rel="icon" href="data:,"></head><body><h1>Connexion à l’ENT</h1>
<form method="post" action="/session"><input name="user"><input type="password" name="pw"></form></body></html>`;

// The quota page an ENT serves today, plus one line: the widget's tag.
const QUOTA = `<!doctype html><html lang="fr"><head><meta charset="utf-8"><title>Quota atteint</title>
<link rel="icon" href="data:,">
<script src="/waitroom.js" defer data-protocol="http" data-gate="/login" data-redirect="/login"
        data-base-delay="1000" data-max-delay="4000"></script></head>
<body><h1>Quota atteint</h1><p>Revenez dans quelques minutes.</p></body></html>`;

async function freePort() {
  return new Promise((ok, fail) => {
    const server = createServer().listen(0, "127.0.0.1", () => {
      const { port } = server.address();
      server.close(() => ok(port));
    }).on("error", fail);
  });
}

/** nginx on 127.0.0.1 with `limit_req` at `rate` on /login and the quota page as its 503. */
async function startNginx(rate) {
  const dir = mkdtempSync(join(tmpdir(), "waitroom-nginx-"));
  chmodSync(dir, 0o755); // nginx's workers run as an unprivileged user when started as root
  const root = join(dir, "root");
  mkdirSync(root);
  writeFileSync(join(root, "login.html"), LOGIN);
  writeFileSync(join(root, "quota.html"), QUOTA);
  // Copies, not aliases into the checkout: nginx's workers may not be allowed to read it.
  cpSync(join(WWW, "waitroom.js"), join(root, "waitroom.js"));
  cpSync(join(WWW, "pkg"), join(root, "pkg"), { recursive: true });
  const port = await freePort();
  writeFileSync(join(dir, "nginx.conf"), `
daemon off;
worker_processes 1;
pid ${dir}/nginx.pid;
error_log ${dir}/error.log warn;
events { worker_connections 64; }
http {
  access_log off;
  client_body_temp_path ${dir}/body; proxy_temp_path ${dir}/proxy; fastcgi_temp_path ${dir}/fastcgi;
  uwsgi_temp_path ${dir}/uwsgi; scgi_temp_path ${dir}/scgi;
  types { text/html html; application/javascript js; application/wasm wasm; }
  limit_req_zone $binary_remote_addr zone=login:1m rate=${rate};
  server {
    listen 127.0.0.1:${port};
    root ${root};
    location = /login {
      limit_req zone=login burst=1 nodelay;
      limit_req_status 503;
      error_page 503 /quota.html;
      try_files /login.html =404;
    }
    location = /quota.html { internal; }
  }
}`);
  const child = spawn(NGINX, ["-c", join(dir, "nginx.conf"), "-p", dir], { stdio: ["ignore", "ignore", "pipe"] });
  trackChild(child);
  onCleanup(async () => {
    child.kill("SIGTERM");
    rmSync(dir, { recursive: true, force: true });
  });
  const url = `http://127.0.0.1:${port}`;
  await until(async () => (await fetch(`${url}/waitroom.js`).catch(() => null))?.ok, { timeout: 10_000, what: "nginx listening" });
  return url;
}

test("nginx quota page: the widget on nginx's 503 page takes the pupil to the login page once limit_req lets them", { skip: !existsSync(NGINX) && "nginx is not installed", timeout: 90_000 }, async (t) => {
  // One login every 10 s (and a burst of one): the F5 storm that nginx turns away.
  const url = await startNginx("6r/m");
  for (let i = 0; i < 5; i++) {
    const reply = await fetch(`${url}/login`);
    await reply.text();
    if (reply.status === 503) break; // the burst is used up: the next visitor gets the quota page
  }

  const browser = await launch();
  const context = await newContext(browser);
  const polls = []; // the widget's fetches of /login (not the page loads)
  context.on("request", (r) => {
    if (r.url().endsWith("/login") && r.resourceType() === "fetch") polls.push(Date.now());
  });
  const loaded = Date.now();
  const page = await openPage(context, `${url}/login`);
  assert.match(await page.title(), /Quota atteint/, "nginx answered with its quota page");
  const shown = await until(async () => (await overlay(page))?.phase, { what: "the widget on the quota page" });
  t.diagnostic(`on the quota page: ${shown}`);

  await until(async () => (await page.title().catch(() => "")) === "Connexion", { timeout: 60_000, what: "the login page" });
  const gaps = polls.slice(1).map((at, i) => at - polls[i]);
  t.diagnostic(`${polls.length} polls of /login before nginx let one through; gaps ${gaps.join(", ")} ms`);
  assert.ok(polls.length >= 1, "the widget asked nginx, not the user");
  assert.ok(polls[0] - loaded >= 1000, `the quota page was the first answer: no second request at once (${polls[0] - loaded} ms)`);
  assert.ok(gaps.every((g) => g >= 400), `no hammering: ${gaps}`);
});

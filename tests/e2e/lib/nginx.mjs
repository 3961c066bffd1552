// Debian's nginx in a temp dir on a free loopback port, serving the real widget files and
// whatever the test puts in its root, with `limit_req` in front of the login URL. Stopped at
// cleanup.
import { spawn } from "node:child_process";
import { chmodSync, cpSync, existsSync, mkdirSync, mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { createServer } from "node:net";
import { tmpdir } from "node:os";
import { join } from "node:path";

import { until } from "./browser.mjs";
import { onCleanup, trackChild } from "./cleanup.mjs";
import { WWW } from "./paths.mjs";

export const NGINX = "/usr/sbin/nginx";
export const HAS_NGINX = existsSync(NGINX);

/** A free port on 127.0.0.1. */
export async function freePort() {
  return new Promise((ok, fail) => {
    const server = createServer().listen(0, "127.0.0.1", () => {
      const { port } = server.address();
      server.close(() => ok(port));
    }).on("error", fail);
  });
}

/**
 * nginx with `files` (name → content) in its root plus the widget, and `login` as the body of
 * `location = /login` after `limit_req zone=login` at `rate` with `burst`, whose 503 is
 * /quota.html; `extra` is added to the server block. `locations` replaces those two locations,
 * `http` is added to the http block. Returns its base URL.
 */
export async function startNginx({ rate, burst = 1, files, login = "try_files /login.html =404;", extra = "", http = "", locations = null }) {
  const dir = mkdtempSync(join(tmpdir(), "waitroom-nginx-"));
  chmodSync(dir, 0o755); // nginx's workers run as an unprivileged user when started as root
  const root = join(dir, "root");
  mkdirSync(root);
  for (const [name, content] of Object.entries(files)) writeFileSync(join(root, name), content);
  // Copies, not aliases into the checkout: nginx's workers may not be allowed to read it.
  cpSync(join(WWW, "waitroom.js"), join(root, "waitroom.js"));
  cpSync(join(WWW, "pkg"), join(root, "pkg"), { recursive: true });
  const port = await freePort();
  writeFileSync(join(dir, "nginx.conf"), `
daemon off;
worker_processes 1;
pid ${dir}/nginx.pid;
error_log ${dir}/error.log warn;
events { worker_connections 256; }
http {
  access_log off;
  client_body_temp_path ${dir}/body; proxy_temp_path ${dir}/proxy; fastcgi_temp_path ${dir}/fastcgi;
  uwsgi_temp_path ${dir}/uwsgi; scgi_temp_path ${dir}/scgi;
  types { text/html html; application/javascript js; application/wasm wasm; }
  limit_req_zone $binary_remote_addr zone=login:1m rate=${rate ?? "60r/m"};
  ${http}
  server {
    listen 127.0.0.1:${port};
    root ${root};
    ${locations ?? `location = /login {
      limit_req zone=login burst=${burst} nodelay;
      limit_req_status 503;
      error_page 503 /quota.html;
      ${login}
    }
    location = /quota.html { internal; }`}
    ${extra}
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

/** Uses up nginx's burst on /login, so that the next visitor gets the quota page. */
export async function exhaustBurst(url) {
  for (let i = 0; i < 20; i++) {
    const reply = await fetch(`${url}/login`, { redirect: "manual" });
    await reply.text();
    if (reply.status === 503) return;
  }
  throw new Error("nginx never answered 503");
}

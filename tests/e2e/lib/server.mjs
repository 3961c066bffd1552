// The project's small test server: serves the real widget files (www/waitroom.js, www/pkg/),
// login pages built per test (any data-* attributes, any CSP header), a landing page for
// submitted forms (/done), and whatever each case needs on its own paths — a hostile gate,
// a plain 429/503 portal, or a proxy to the real gate. Every request is logged with a
// timestamp, so a test asserts what the server received and when. Loopback only.
import { createServer } from "node:http";
import { readFile } from "node:fs/promises";
import { extname, join, normalize } from "node:path";

import { onCleanup } from "./cleanup.mjs";
import { WWW } from "./paths.mjs";

export const STRICT_CSP = "default-src 'self'; script-src 'self' 'wasm-unsafe-eval'; style-src 'self'";

const TYPES = { ".js": "text/javascript", ".mjs": "text/javascript", ".wasm": "application/wasm", ".html": "text/html; charset=utf-8" };

const escapeAttr = (s) => String(s).replaceAll("&", "&amp;").replaceAll('"', "&quot;").replaceAll("<", "&lt;");

/**
 * A login page like an ENT's: a form with a password field that submits (GET) to /done, and
 * the widget's script tag with `attrs` (`gate` is shorthand for `data-gate`; `null` omits it).
 */
export function loginPage({ gate = "/gate", attrs = {}, lang = "fr", script = "/waitroom.js" } = {}) {
  const en = lang.startsWith("en");
  const all = { ...(gate === null ? {} : { "data-gate": gate }), ...attrs };
  const attributes = Object.entries(all).map(([k, v]) => ` ${k}="${escapeAttr(v)}"`).join("");
  return `<!doctype html>
<html lang="${lang}"><head><meta charset="utf-8"><meta name="viewport" content="width=device-width, initial-scale=1">
<title>${en ? "School portal — Log in" : "ENT — Connexion"}</title></head>
<body><main><h1>${en ? "My school portal" : "Mon ENT"}</h1>
<form id="login" action="/done" method="get">
<p><label for="user">${en ? "User name" : "Identifiant"}</label> <input id="user" name="user" autocomplete="username"></p>
<p><label for="password">${en ? "Password" : "Mot de passe"}</label> <input id="password" type="password" name="password" autocomplete="current-password"></p>
<p><button>${en ? "Log in" : "Se connecter"}</button></p></form></main>
<script src="${script}" defer${attributes}></script>
</body></html>`;
}

export const DONE_PAGE = `<!doctype html><html lang="fr"><head><meta charset="utf-8"><title>Connecté</title></head>
<body><main><h1>Vous êtes connecté</h1></main></body></html>`;

/** Sends `body` as JSON with `status` and extra `headers`. */
export function json(res, status, body, headers = {}) {
  res.writeHead(status, { "content-type": "application/json", "cache-control": "no-store", ...headers });
  res.end(typeof body === "string" ? body : JSON.stringify(body));
}

/** Sends a text body (HTML by default). */
export function text(res, status, body = "", headers = {}) {
  res.writeHead(status, { "content-type": "text/html; charset=utf-8", "cache-control": "no-store", ...headers });
  res.end(body);
}

/** A native "queued" reply (503 + Retry-After), overridable field by field. */
export function queued(res, fields = {}, headers = {}) {
  const body = { state: "queued", ticket: "t1.test", position: 42, eta_seconds: 300, retry_after_ms: 60_000, advance_per_minute: 10, ...fields };
  const retryAfter = Math.max(1, Math.ceil(Number(body.retry_after_ms) / 1000) || 1);
  json(res, 503, body, { "retry-after": String(retryAfter), ...headers });
}

/** A native "admitted" reply. */
export function admitted(res, fields = {}) {
  json(res, 200, { state: "admitted", pass: "p1.test", pass_expires_in: 300, ...fields });
}

/** A handler forwarding the request to `base` (the real gate), same path and query. */
export function proxyTo(base) {
  return async (req, res, url) => {
    // The browser's cookies go up (the gate binds a place to its waitroom_id cookie) and every
    // Set-Cookie comes back as its own header.
    const forwarded = { accept: req.headers.accept ?? "*/*" };
    if (req.headers.cookie) forwarded.cookie = req.headers.cookie;
    const upstream = await fetch(new URL(url.pathname + url.search, base), { headers: forwarded });
    const headers = {};
    for (const name of ["content-type", "retry-after", "cache-control"]) {
      const value = upstream.headers.get(name);
      if (value) headers[name] = value;
    }
    const cookies = upstream.headers.getSetCookie();
    if (cookies.length > 0) headers["set-cookie"] = cookies;
    res.writeHead(upstream.status, headers);
    res.end(Buffer.from(await upstream.arrayBuffer()));
  };
}

/**
 * Starts the server on 127.0.0.1 (a free port). `server.page(path, options)` serves a login
 * page (options of `loginPage`, plus `csp` for a Content-Security-Policy header);
 * `server.route(path, handler)` answers `path` with `handler(req, res, url, hit)`, where
 * `hit.n` counts the requests to that path from 0; `server.hits(path)` lists what arrived.
 */
export async function startServer() {
  const routes = new Map();
  const files = new Map();
  const log = [];
  const server = createServer(async (req, res) => {
    const url = new URL(req.url, "http://127.0.0.1");
    // `mode`: the browser's Sec-Fetch-Mode, "navigate" for a page load, "cors" for a fetch.
    const hit = { method: req.method, path: url.pathname, search: url.search, mode: req.headers["sec-fetch-mode"], t: Date.now() };
    hit.n = log.filter((h) => h.path === hit.path).length;
    log.push(hit);
    try {
      const handler = routes.get(url.pathname);
      if (handler) return await handler(req, res, url, hit);
      if (url.pathname === "/done") return text(res, 200, DONE_PAGE);
      // No `<link rel=icon href="data:,">`: a strict CSP (img-src 'self') would report it.
      if (url.pathname === "/favicon.ico") return text(res, 204);
      if (url.pathname === "/waitroom.js" || url.pathname.startsWith("/pkg/")) {
        const file = normalize(join(WWW, url.pathname));
        if (!file.startsWith(WWW)) return text(res, 404);
        // Read once per server: every page of a test file gets the same build, even if
        // `make build` rewrites www/pkg meanwhile (glue and wasm would not match mid-build).
        if (!files.has(file)) files.set(file, readFile(file));
        const body = await files.get(file);
        res.writeHead(200, { "content-type": TYPES[extname(file)] ?? "application/octet-stream" });
        return res.end(body);
      }
      text(res, 404, "not found");
    } catch (e) {
      if (!res.headersSent) text(res, 404, String(e));
      else res.destroy();
    }
  });
  const sockets = new Set();
  server.on("connection", (s) => {
    sockets.add(s);
    s.once("close", () => sockets.delete(s));
  });
  await new Promise((ok) => server.listen(0, "127.0.0.1", ok));
  const api = {
    url: `http://127.0.0.1:${server.address().port}`,
    log,
    route(path, handler) {
      routes.set(path, handler);
      return api;
    },
    page(path, { csp, ...options } = {}) {
      const html = loginPage(options);
      return api.route(path, (req, res) => text(res, 200, html, csp ? { "content-security-policy": csp } : {}));
    },
    hits: (path) => log.filter((h) => h.path === path),
    close: () => new Promise((ok) => {
      for (const s of sockets) s.destroy();
      server.close(() => ok());
    }),
  };
  onCleanup(api.close);
  return api;
}

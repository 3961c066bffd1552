#!/usr/bin/env node
// Screenshots of the overlay in headless Chromium, for a human to look at:
//   node scripts/screenshot.mjs [OUT_DIR]   (after `make build`)
// Serves www/ plus a bare login page under a strict CSP, and a fake gate that always answers
// "queued" (503 JSON), then shoots a school-PC-sized and a 320 px phone-sized window, light and
// dark. Console messages are printed, so a CSP violation or a widget warning shows up here.
import { createServer } from "node:http";
import { mkdirSync, readFileSync } from "node:fs";
import { extname, join, resolve } from "node:path";
import { chromium } from "playwright-core";

const out = resolve(process.argv[2] || "target/screenshots");
const www = resolve("www");
const CSP = "default-src 'self'; script-src 'self' 'wasm-unsafe-eval'; style-src 'self'; img-src 'self' data:";
const page = (theme, gate = "/waitroom/status") => `<!doctype html>
<html lang="fr"><head><meta charset="utf-8"><meta name="viewport" content="width=device-width, initial-scale=1">
<link rel="icon" href="data:,"><title>ENT — Connexion</title></head>
<body><h1>Mon ENT</h1>
<form id="login" action="/login" method="post">
<label>Identifiant <input name="user" autocomplete="username"></label>
<label>Mot de passe <input type="password" name="password" autocomplete="current-password"></label>
<button>Se connecter</button></form>
<script src="/waitroom.js" defer data-gate="${gate}" data-theme="${theme}"></script>
</body></html>`;
const types = { ".js": "text/javascript", ".wasm": "application/wasm" };
let started = Date.now();

const server = createServer((req, res) => {
  const url = new URL(req.url, "http://x");
  if (url.pathname === "/waitroom/status") {
    const position = Math.max(1, 1234 - Math.floor((Date.now() - started) / 1000) * 8);
    res.writeHead(503, { "content-type": "application/json", "retry-after": "40" });
    return res.end(JSON.stringify({ state: "queued", ticket: "t.demo", position, eta_seconds: 420,
      retry_after_ms: 40000, advance_per_minute: 180 }));
  }
  if (url.pathname === "/busy-gate") {
    // A portal's plain quota page: no JSON, only Retry-After.
    res.writeHead(503, { "content-type": "text/html", "retry-after": "30" });
    return res.end("<h1>Service temporairement indisponible</h1>");
  }
  if (["/", "/dark", "/busy"].includes(url.pathname)) {
    res.writeHead(200, { "content-type": "text/html; charset=utf-8", "content-security-policy": CSP });
    const theme = url.pathname === "/dark" ? "dark" : "auto";
    return res.end(page(theme, url.pathname === "/busy" ? "/busy-gate" : "/waitroom/status"));
  }
  try {
    const body = readFileSync(join(www, url.pathname));
    res.writeHead(200, { "content-type": types[extname(url.pathname)] || "application/octet-stream" });
    res.end(body);
  } catch {
    res.writeHead(404).end();
  }
});
await new Promise((ok) => server.listen(0, "127.0.0.1", ok));
const base = `http://127.0.0.1:${server.address().port}`;

const browser = await chromium.launch({
  executablePath: "/usr/bin/chromium",
  args: ["--headless", "--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage", "--disable-background-networking",
    "--disable-component-update", "--disable-sync", "--no-first-run"],
});
mkdirSync(out, { recursive: true });
const shots = [
  ["pc", { width: 1280, height: 800 }, "/"],
  ["phone", { width: 320, height: 640 }, "/"],
  ["phone-dark", { width: 320, height: 640 }, "/dark"],
  ["busy", { width: 1024, height: 700 }, "/busy"],
];
for (const [name, viewport, path] of shots) {
  const context = await browser.newContext({ viewport, locale: "fr-FR" });
  const tab = await context.newPage();
  tab.on("console", (m) => console.log(`[${name}] console.${m.type()}: ${m.text()}`));
  tab.on("pageerror", (e) => console.log(`[${name}] page error: ${e.message}`));
  started = Date.now();
  await tab.goto(base + path);
  await tab.waitForSelector("waitroom-overlay", { state: "attached", timeout: 5000 });
  await tab.waitForTimeout(2200); // let the countdown and the local position tick
  const scroll = await tab.evaluate(() => document.documentElement.scrollWidth - window.innerWidth);
  await tab.screenshot({ path: join(out, `${name}.png`) });
  console.log(`${name}: ${join(out, name + ".png")} (horizontal overflow: ${scroll}px)`);
  await context.close();
}
await browser.close();
server.close();

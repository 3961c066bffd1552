// Scenario 21 — one queue across three gates: Debian's nginx round-robins the widget's
// requests over three gate instances on one Redis (`--store redis://…`, Debian's redis-server).
// Two pupils queue one after the other; the first has the portal open in five tabs. One gate
// is killed while they wait: nginx passes its requests to the others, the five tabs still share
// one poller, and both pupils are let in, in their order, by whichever gate they reach.
import assert from "node:assert/strict";
import { spawn, spawnSync } from "node:child_process";
import { readFileSync, mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, test } from "node:test";

import { events, launch, newContext, newPage, dialog, overlay, trackRequests, until } from "./lib/browser.mjs";
import { cleanup, onCleanup, trackChild } from "./lib/cleanup.mjs";
import { fillQueue, makeSecretFile, startGate } from "./lib/gate.mjs";
import { freePort, HAS_NGINX, startNginx } from "./lib/nginx.mjs";
import { PAGES } from "./lib/paths.mjs";

after(cleanup);

const HAS_REDIS = spawnSync("redis-server", ["--version"]).status === 0;

/** Debian's redis-server on a free port in a temp dir, with an append-only file; its URL. */
async function startRedis() {
  const dir = mkdtempSync(join(tmpdir(), "waitroom-redis-"));
  const port = await freePort();
  const child = spawn("redis-server", ["--port", String(port), "--bind", "127.0.0.1", "--dir", dir,
    "--appendonly", "yes", "--save", "", "--logfile", "redis.log"], { stdio: "ignore" });
  trackChild(child);
  onCleanup(async () => {
    child.kill("SIGKILL");
    rmSync(dir, { recursive: true, force: true });
  });
  await until(() => spawnSync("redis-cli", ["-p", String(port), "ping"]).stdout?.toString().trim() === "PONG",
    { timeout: 10_000, what: "redis-server answering" });
  return `redis://127.0.0.1:${port}/0`;
}

test("Three gates behind nginx on one Redis: one gate killed, the pupils keep their order, five tabs one poller", { skip: (!HAS_NGINX && "nginx is not installed") || (!HAS_REDIS && "redis-server is not installed"), timeout: 120_000 }, async (t) => {
  const store = await startRedis();
  const secretFile = makeSecretFile();
  // 6 admissions a minute (a place every 10 s); nginx gives every gate the pupil's address.
  const gates = [];
  for (let i = 0; i < 3; i++) {
    gates.push(await startGate({ admitPerMinute: 6, burst: 1, grace: 60, secretFile,
      args: ["--store", store, "--room", "e2e", "--client-address-header", "X-Real-IP"] }));
  }
  const url = await startNginx({
    files: { "index.html": readFileSync(join(PAGES, "index.html"), "utf8"), "done.html": readFileSync(join(PAGES, "done.html"), "utf8") },
    http: `upstream gates { ${gates.map((g) => `server 127.0.0.1:${g.port} max_fails=1 fail_timeout=30s;`).join(" ")} }`,
    locations: `location /waitroom/ {
      proxy_pass http://gates;
      proxy_set_header X-Real-IP $remote_addr;
      proxy_next_upstream error timeout;
      proxy_connect_timeout 2s;
    }
    location / { try_files $uri =404; }`,
  });
  // Two places ahead, taken through nginx (so on different gates).
  await fillQueue(url, 2);

  const browser = await launch();
  const first = await newContext(browser);
  const second = await newContext(browser);
  const requests = trackRequests(first, "/waitroom/status");
  const tabs = await Promise.all(Array.from({ length: 5 }, () => newPage(first)));
  await Promise.all(tabs.map((tab) => tab.goto(`${url}/index.html`)));
  const places = await until(async () => {
    const all = await Promise.all(tabs.map(async (tab) => (await overlay(tab))?.position ?? null));
    return all.every((p) => p !== null) && all;
  }, { timeout: 15_000, what: "a place in every tab" });
  assert.equal(new Set(places).size, 1, `every tab shows the same place: ${places}`);
  const pupil = await newPage(second);
  await pupil.goto(`${url}/index.html`);
  const behind = await until(async () => (await overlay(pupil))?.position ?? null, { timeout: 15_000, what: "the second pupil's place" });
  t.diagnostic(`first pupil at ${places[0]} (five tabs), second at ${behind}`);
  assert.equal(places[0], 2, "behind the two ahead: one queue, whichever gate answered");
  assert.equal(behind, 3, "right behind the first pupil");

  // One gate dies while they wait (nginx's next poll to it fails over to another).
  await gates[1].stop();
  t.diagnostic("gate 2 of 3 killed");

  const admitted = async (page) => (await events(page)).admitted[0]?.t ?? null;
  const firstIn = await until(async () => {
    const all = await Promise.all(tabs.map(admitted));
    return all.every((x) => x !== null) && Math.max(...all);
  }, { timeout: 60_000, every: 200, what: "the first pupil admitted in every tab" });
  const secondIn = await until(() => admitted(pupil), { timeout: 60_000, every: 200, what: "the second pupil admitted" });
  t.diagnostic(`admitted ${secondIn - firstIn} ms apart, the first pupil after ${requests.length} requests from its five tabs`);
  assert.ok(secondIn > firstIn, "admitted in their order");
  assert.ok(requests.length <= 4, `five tabs, one poller: ${requests.length} requests`);
  for (const tab of tabs) assert.equal(await dialog(tab), null, "no dialog left once admitted");
});

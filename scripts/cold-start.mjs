#!/usr/bin/env node
// A pupil's cold load of the demo (`waitroom-gate --demo`, serving www/ with its precompressed
// files), in Debian's Chromium with an empty cache: what crosses the network, and how long from
// navigation to the overlay painted with the first status reply, on loopback and under
// Chrome DevTools' "Slow 3G" (2 s latency, 400 kbit/s). Run `make build` and
// `cargo build -p waitroom-gate` first.
//
//   node scripts/cold-start.mjs [RUNS]      median of RUNS cold loads per network (default 5)
import { launch, newContext } from "../tests/e2e/lib/browser.mjs";
import { cleanup } from "../tests/e2e/lib/cleanup.mjs";
import { startGate } from "../tests/e2e/lib/gate.mjs";
import { WWW } from "../tests/e2e/lib/paths.mjs";

const RUNS = Number(process.argv[2] ?? 5);
const NETWORKS = {
  loopback: null,
  "slow 3G": { offline: false, latency: 2000, downloadThroughput: (500 * 1000 / 8) * 0.8, uploadThroughput: (500 * 1000 / 8) * 0.8 },
};

// Navigation start → the overlay in the DOM (performance.now() counts from navigation start).
const WATCH = () => {
  new MutationObserver((_, observer) => {
    if (document.querySelector("waitroom-overlay")) {
      window.__overlayAt = performance.now();
      observer.disconnect();
    }
  }).observe(document, { childList: true, subtree: true });
};

const median = (xs) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)];

try {
  const gate = await startGate({ www: WWW, args: ["--demo"] });
  const browser = await launch();
  for (const [name, conditions] of Object.entries(NETWORKS)) {
    const loads = [];
    for (let i = 0; i < RUNS; i++) {
      const context = await newContext(browser);
      await context.addInitScript(WATCH);
      const page = await context.newPage();
      const cdp = await context.newCDPSession(page);
      await cdp.send("Network.enable");
      await cdp.send("Network.setCacheDisabled", { cacheDisabled: true });
      if (conditions) await cdp.send("Network.emulateNetworkConditions", conditions);
      const bytes = new Map();
      cdp.on("Network.loadingFinished", (e) => bytes.set(e.requestId, e.encodedDataLength));
      const urls = new Map();
      cdp.on("Network.responseReceived", (e) => urls.set(e.requestId, { url: e.response.url, encoding: e.response.headers["content-encoding"] ?? e.response.headers["Content-Encoding"] }));
      await page.goto(`${gate.url}/`);
      await page.waitForFunction(() => window.__overlayAt, null, { timeout: 60_000, polling: 50 });
      const overlayAt = await page.evaluate(() => window.__overlayAt);
      await page.waitForTimeout(200);
      const files = [...bytes].map(([id, n]) => ({ ...urls.get(id), n })).filter((f) => f.url);
      loads.push({ overlayAt, total: files.reduce((t, f) => t + f.n, 0), files });
      await context.close();
    }
    const last = loads.at(-1);
    console.log(`${name}: navigation → overlay ${Math.round(median(loads.map((l) => l.overlayAt)))} ms (median of ${RUNS}); transferred ${(median(loads.map((l) => l.total)) / 1024).toFixed(1)} KiB`);
    for (const f of last.files) console.log(`  ${(f.n / 1024).toFixed(1).padStart(6)} KiB  ${f.encoding ?? "identity"}  ${new URL(f.url).pathname}`);
  }
} finally {
  await cleanup();
}

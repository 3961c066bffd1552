// The real gate binary (`cargo build -p waitroom-gate`), started per test file on a free
// loopback port, serving the fixture pages of tests/e2e/pages.
import { spawn } from "node:child_process";
import { randomBytes } from "node:crypto";
import { cpSync, existsSync, mkdtempSync, writeFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";

import { onCleanup, trackChild } from "./cleanup.mjs";
import { GATE_BIN, PAGES } from "./paths.mjs";

/** A secret file (48 random bytes, base64) that a restarted gate can share; removed at cleanup. */
export function makeSecretFile() {
  const dir = mkdtempSync(join(tmpdir(), "waitroom-e2e-"));
  const path = join(dir, "secret");
  writeFileSync(path, randomBytes(48).toString("base64") + "\n", { mode: 0o600 });
  onCleanup(() => rmSync(dir, { recursive: true, force: true }));
  return path;
}

/**
 * The fixture pages with the widget's files copied in: the gate serves no symlink that leaves
 * its --www directory, and tests/e2e/pages links to www/. Removed at cleanup.
 */
function copyOfPages() {
  const dir = mkdtempSync(join(tmpdir(), "waitroom-pages-"));
  cpSync(PAGES, dir, { recursive: true, dereference: true });
  onCleanup(() => rmSync(dir, { recursive: true, force: true }));
  return dir;
}

/**
 * Starts `waitroom-gate --listen 127.0.0.1:<port>` (0: a free port) and resolves once it prints
 * its URL. Options: admitPerMinute, burst, grace (seconds), secretFile, www (default: the
 * fixture pages), closed (message), args (more flags).
 * The result has `url`, `port`, `log` (stderr lines), `stop()` and `restart()` (same port, same flags).
 */
export async function startGate(options = {}) {
  if (!existsSync(GATE_BIN)) {
    throw new Error(`${GATE_BIN} is missing: run \`cargo build -p waitroom-gate\` (make test-e2e does)`);
  }
  const flags = [];
  if (options.admitPerMinute !== undefined) flags.push("--admit-per-minute", String(options.admitPerMinute));
  if (options.burst !== undefined) flags.push("--burst", String(options.burst));
  if (options.grace !== undefined) flags.push("--grace-seconds", String(options.grace));
  if (options.secretFile) flags.push("--secret-file", options.secretFile);
  if (options.closed) flags.push("--closed", options.closed);
  flags.push("--www", options.www ?? copyOfPages(), ...(options.args ?? []));

  const gate = { url: null, port: options.port ?? 0, log: [], child: null };
  gate.start = async () => {
    const child = spawn(GATE_BIN, ["--listen", `127.0.0.1:${gate.port}`, ...flags], {
      stdio: ["ignore", "pipe", "pipe"],
      env: { ...process.env, RUST_LOG: process.env.RUST_LOG ?? "info" },
    });
    trackChild(child);
    gate.child = child;
    child.stderr.setEncoding("utf8");
    child.stderr.on("data", (chunk) => gate.log.push(...chunk.split("\n").filter(Boolean)));
    const url = await new Promise((resolve, reject) => {
      let out = "";
      const timer = setTimeout(() => reject(new Error(`the gate printed no URL within 10 s: ${out} ${gate.log.join("\n")}`)), 10_000);
      child.stdout.setEncoding("utf8");
      child.stdout.on("data", (chunk) => {
        out += chunk;
        const match = out.match(/listening on (http:\/\/127\.0\.0\.1:(\d+))/);
        if (match) {
          clearTimeout(timer);
          resolve(match[1]);
        }
      });
      child.once("exit", (code) => {
        clearTimeout(timer);
        reject(new Error(`the gate exited (${code}) before listening: ${gate.log.join("\n")}`));
      });
    });
    gate.url = url;
    gate.port = Number(new URL(url).port);
    return gate;
  };
  gate.stop = async () => {
    const child = gate.child;
    gate.child = null;
    if (!child || child.exitCode !== null || child.signalCode !== null) return;
    const exited = new Promise((ok) => child.once("exit", ok));
    child.kill("SIGTERM");
    const timer = setTimeout(() => child.kill("SIGKILL"), 3000);
    await exited;
    clearTimeout(timer);
  };
  /** Stops and starts again on the same port, retrying while the port is still being released. */
  gate.restart = async () => {
    await gate.stop();
    for (let attempt = 0; ; attempt++) {
      try {
        return await gate.start();
      } catch (e) {
        if (attempt >= 20) throw e;
        await new Promise((ok) => setTimeout(ok, 100));
      }
    }
  };
  onCleanup(() => gate.stop());
  return gate.start();
}

/** `GET <base>/waitroom/status[?ticket=]` as the widget sends it; resolves to {status, headers, body}. */
export async function status(base, ticket) {
  const url = new URL("/waitroom/status", base);
  if (ticket) url.searchParams.set("ticket", ticket);
  const res = await fetch(url, { headers: { accept: "application/json" } });
  return { status: res.status, headers: res.headers, body: await res.json() };
}

/**
 * Puts `n` fresh visitors into the gate's queue (the first may be admitted, using up the
 * bucket). Their tickets are never used, so the gate drops them once their grace period ends.
 */
export async function fillQueue(base, n) {
  const replies = [];
  for (let i = 0; i < n; i++) replies.push((await status(base)).body);
  return replies;
}

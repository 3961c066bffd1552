// Everything a test file starts (gates, servers, browsers) is registered here and stopped by
// `cleanup()` — call it from an `after()` hook — and, for child processes, killed
// synchronously when the file's process exits for any reason (a timeout, a crash, Ctrl-C).

const tasks = new Set();
const children = new Set();

/** Runs `fn` at cleanup; returns a function that unregisters it. */
export function onCleanup(fn) {
  tasks.add(fn);
  return () => tasks.delete(fn);
}

/** A child process to SIGKILL if the process exits before it was stopped. */
export function trackChild(child) {
  children.add(child);
  child.once("exit", () => children.delete(child));
}

/** Stops everything registered, newest first; never throws. */
export async function cleanup() {
  for (const fn of [...tasks].reverse()) {
    tasks.delete(fn);
    let timer;
    try {
      await Promise.race([fn(), new Promise((ok) => { timer = setTimeout(ok, 5000); })]);
    } catch {
      // best effort: the next task still runs
    } finally {
      clearTimeout(timer);
    }
  }
  killChildren();
}

function killChildren() {
  for (const child of children) {
    try {
      child.kill("SIGKILL");
    } catch {
      // already gone
    }
  }
  children.clear();
}

process.once("exit", killChildren);
for (const signal of ["SIGINT", "SIGTERM", "SIGHUP"]) {
  process.once(signal, () => {
    killChildren();
    process.exit(128 + 2);
  });
}

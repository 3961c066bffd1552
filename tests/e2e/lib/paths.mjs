// Where things are, from the repository root (whatever the working directory).
import { dirname, join, resolve } from "node:path";
import { fileURLToPath } from "node:url";

export const ROOT = resolve(dirname(fileURLToPath(import.meta.url)), "../../..");
/** The widget as built by `make build`: the loader and pkg/ (glue + wasm). */
export const WWW = join(ROOT, "www");
/** The gate's static fixture pages; waitroom.js and pkg/ there are symlinks into www/. */
export const PAGES = join(ROOT, "tests/e2e/pages");
/** `cargo build -p waitroom-gate` puts the binary here (CARGO_TARGET_DIR is honoured). */
export const GATE_BIN = process.env.WAITROOM_GATE_BIN
  || join(process.env.CARGO_TARGET_DIR ? resolve(ROOT, process.env.CARGO_TARGET_DIR) : join(ROOT, "target"), "debug/waitroom-gate");
/** Screenshots and other artefacts a human looks at (git-ignored). */
export const ARTIFACTS = join(ROOT, "tests/e2e/artifacts");
export const AXE = join(ROOT, "node_modules/axe-core/axe.min.js");

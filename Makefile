# waitroom — every step a newcomer needs is here. `make demo` runs the demo, `make test` runs
# every test; both install what they need (Rust target, wasm-bindgen-cli at the Cargo.lock
# version, npm packages, Debian's Chromium) and skip what is already there.

SHELL := /bin/bash
.SHELLFLAGS := -eu -o pipefail -c
TOOLS := $(CURDIR)/.tools
export PATH := $(TOOLS)/bin:$(CURDIR)/node_modules/.bin:$(PATH)
export CHROMEDRIVER ?= /usr/bin/chromedriver

.PHONY: all setup setup-rust setup-browser setup-node build demo test lint test-native test-wasm test-size test-e2e sim sweep loadtest clean

all: build

setup: setup-rust setup-node setup-browser

# The wasm32 target and a wasm-bindgen-cli that matches Cargo.lock exactly.
setup-rust:
	@rustup target list --installed | grep -qx wasm32-unknown-unknown || rustup target add wasm32-unknown-unknown
	@rustup component list --installed | grep -q '^clippy' && rustup component list --installed | grep -q '^rustfmt' || rustup component add clippy rustfmt
	@want=$$(cargo metadata --format-version 1 --locked 2>/dev/null | python3 -c 'import json,sys; print(next(p["version"] for p in json.load(sys.stdin)["packages"] if p["name"]=="wasm-bindgen"))'); \
	have=$$({ $(TOOLS)/bin/wasm-bindgen --version 2>/dev/null || true; } | awk '{print $$2}'); \
	if [ "$$want" != "$$have" ]; then \
	  echo "installing wasm-bindgen-cli $$want into $(TOOLS) (about 2 minutes)"; \
	  cargo install -q wasm-bindgen-cli --version "$$want" --root $(TOOLS); \
	fi

# playwright-core, axe-core, binaryen's wasm-opt (Debian's binaryen is too old: see docs) and
# terser, which minifies the wasm-bindgen glue.
setup-node:
	@[ -x node_modules/.bin/wasm-opt ] && [ -x node_modules/.bin/terser ] && [ -d node_modules/playwright-core ] || npm ci --no-audit --no-fund --loglevel=error

# Debian's Chromium and ChromeDriver, for wasm-bindgen-test and the end-to-end suite,
# Debian's nginx, whose limit_req quota page the end-to-end suite puts the widget on, and
# Debian's redis-server, which the shared-store tests start (gate/tests/redis.rs).
setup-browser:
	@command -v chromium >/dev/null && command -v chromedriver >/dev/null && [ -x /usr/sbin/nginx ] && command -v redis-server >/dev/null || { \
	  apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium chromium-driver nginx redis-server >/dev/null; }

# The widget: wasm32 release build without the `serde` feature (the gate and the tools keep
# it), wasm-bindgen glue (minified: it stays an ES module) (`--target web`, imported by the classic
# loader www/waitroom.js), then wasm-opt. Rebuilt only when a source, Cargo.toml or Cargo.lock
# changed, so `make test` after `make build` costs nothing.
WASM_RELEASE := target/wasm32-unknown-unknown/release/waitroom.wasm
PKG := www/pkg
WIDGET_SRC := $(shell find src -name '*.rs' -o -name '*.css') build.rs Cargo.toml Cargo.lock
DOWNLOADS := www/waitroom.js $(PKG)/waitroom.js $(PKG)/waitroom_bg.wasm
# A ratchet, not the goal: the goal is 60 KiB gzip (loader + glue + wasm); lower this number
# with every cut so the download can only shrink. See docs/size.md for where the bytes go.
SIZE_BUDGET_GZIP_KIB := 60

# Precompressed copies (.br, .gz) beside each download, for the gate's --www and nginx's
# brotli_static / gzip_static (README: Deploying the files).
build: $(PKG)/waitroom_bg.wasm
	@node scripts/precompress.mjs $(DOWNLOADS)
	@node scripts/sizes.mjs $(DOWNLOADS)

$(PKG)/waitroom_bg.wasm: $(WIDGET_SRC) | setup-rust setup-node
	cargo build --release --target wasm32-unknown-unknown -p waitroom --lib --no-default-features
	wasm-bindgen --target web --no-typescript --remove-name-section --remove-producers-section \
	  --out-dir $(PKG) $(WASM_RELEASE)
	terser $(PKG)/waitroom.js --module --compress --mangle -o $(PKG)/waitroom.js
	# -Os rather than -Oz: a few hundred bytes more raw, but less once compressed, and what
	# travels is compressed. --converge repeats the passes while they still gain.
	wasm-opt -Os --converge --strip-debug --strip-producers -o $@ $@
	# Short names for the ~140 imports the glue and the wasm call each other by, written in
	# both files: 5 KiB gzip (docs/size.md). A separate run: with --converge the pass would
	# rename its own names again and print one mapping per round.
	wasm-opt --minify-imports-and-exports-and-modules --strip-target-features -o $@ $@ > target/minify-names.json
	node scripts/minify-names.mjs target/minify-names.json $(PKG)/waitroom.js $@

# The demo: the ENT login page of www/ behind the gate, with a synthetic crowd of about 30
# people ahead of you (your turn in about a minute). Ctrl-C stops it.
DEMO_URL := http://127.0.0.1:8080
demo: setup build
	@echo "demo: starting the gate; open $(DEMO_URL)/ in a browser once it listens (Ctrl-C to stop)"
	cargo run --profile native -p waitroom-gate -- --demo

# The download stays under budget (gzip, deterministic): every pupil pays for every KiB.
test-size: $(PKG)/waitroom_bg.wasm
	node scripts/sizes.mjs --max-gzip-kib $(SIZE_BUDGET_GZIP_KIB) $(DOWNLOADS)

# The driver's browser tests, in headless Chromium, in a time zone with summer time (the
# local "last update" clock is tested against the browser's own).
test-wasm: | setup-rust setup-browser
	TZ=Europe/Paris cargo test --target wasm32-unknown-unknown -p waitroom --test web --no-default-features

test-native: | setup-browser
	cargo test --workspace --quiet

# The pupil's journeys (issue 4) in Debian's Chromium against the real gate: F5 storm, tabs,
# offline, gate down, plain HTTP, hostile replies, CSP, no wasm, bad attributes, accessibility,
# language, phone. About 4 minutes; screenshots land in tests/e2e/artifacts/. One scenario:
#   node --test --test-name-pattern "F5 storm" tests/e2e/
test-e2e: build | setup-node setup-browser
	cargo build -p waitroom-gate
	node --test --test-concurrency=1 --test-reporter=spec tests/e2e/

test: lint test-native test-wasm test-size test-e2e

# Formatting (rustfmt.toml) and clippy with warnings as errors: natively for the workspace, and
# on wasm32 for the widget, whose driver (src/web/) only exists there.
lint: | setup-rust
	cargo fmt --all --check
	cargo clippy --workspace --all-targets --quiet -- -D warnings
	cargo clippy -p waitroom --target wasm32-unknown-unknown --no-default-features --lib --test web --quiet -- -D warnings

# Load test of the gate on loopback (wrk, nginx for comparison, memory, virtual users); about
# 3 minutes, 5 more for the Redis part. Results and how to read them: docs/loadtest.md.
loadtest:
	bash scripts/loadtest.sh

# The stampede simulator on the default scenario (100 000 pupils in 2 minutes, 2 000 admitted a
# minute, 5 % give up): the README's table and chart come from this command.
sim:
	cargo run --profile native -q -p waitroom-sim -- --chart sim/stampede.svg

# The matrix of mornings (100 000 and 1 000 000 pupils, uniform and burst arrivals, 0 to 30 %
# giving up, 3 seeds) against the schedule's targets: the README's sweep table (about 10 min).
sweep:
	cargo run --profile native -q -p waitroom-sim -- --sweep

# Build outputs (the installed tools in .tools/ and node_modules/ stay).
clean:
	cargo clean
	rm -rf $(PKG) tests/e2e/artifacts

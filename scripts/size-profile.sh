#!/usr/bin/env bash
# What the widget's wasm is made of: the release build that `make build` made, run through the
# same wasm-bindgen and wasm-opt steps but keeping function names, then twiggy. Names make the
# file bigger than what ships; the shares are what counts. Run `make build` first.
#
#   scripts/size-profile.sh [N]                  the N largest items of the shipped shape (default 40)
#   STAGE=bindgen scripts/size-profile.sh [N]    the same before wasm-opt, which merges every
#                                                function called once into its caller: the place
#                                                to see which Rust function a blob is made of
#   TWIGGY=dominators scripts/size-profile.sh    another twiggy view (dominators, monos…)
set -euo pipefail
cd "$(dirname "$0")/.."
export PATH="$PWD/.tools/bin:$PWD/node_modules/.bin:$PATH"
out=target/size-profile
mkdir -p "$out"
wasm-bindgen --target web --no-typescript --out-dir "$out" target/wasm32-unknown-unknown/release/waitroom.wasm
# The flags of the Makefile's wasm-opt step, plus -g to keep the names.
wasm-opt -Os --converge -g --strip-producers --strip-target-features -o "$out/named.wasm" "$out/waitroom_bg.wasm"
wasm="$out/named.wasm"
[ "${STAGE:-}" = bindgen ] && wasm="$out/waitroom_bg.wasm"
case "${TWIGGY:-top}" in
  top) twiggy top -n "${1:-40}" "$wasm" ;;
  *) twiggy "$TWIGGY" "$wasm" | head -n "${1:-80}" ;;
esac

#!/usr/bin/env node
// Shortens the names the glue and the wasm use to call each other. wasm-bindgen names each
// import `__wbg_<method>_<16 hex digits>` (about 140 of them), and each name is written twice,
// in the glue and in the wasm's import section: about 3 KiB gzip for names nobody reads.
// `wasm-opt --minify-imports-and-exports-and-modules` renames them in the wasm and prints the
// mapping; this script applies that mapping to the (minified) glue, and fails rather than ship
// a glue that still names something the wasm no longer has.
//
//   node scripts/minify-names.mjs MAP.json GLUE.js WASM
import { readFileSync, writeFileSync } from "node:fs";

const [mapFile, glueFile, wasmFile] = process.argv.slice(2);
const map = JSON.parse(readFileSync(mapFile, "utf8"));
let glue = readFileSync(glueFile, "utf8");
// The pass renames the import module too, without saying so: read it back from the wasm.
const wasmModules = new Set(WebAssembly.Module.imports(new WebAssembly.Module(readFileSync(wasmFile))).map((i) => i.module));
if (wasmModules.size !== 1) throw new Error(`minify-names: expected one import module, found ${[...wasmModules]}`);
const [wasmModule] = wasmModules;

function replaceExactly(pattern, replacement, what) {
  let count = 0;
  glue = glue.replace(pattern, (...m) => {
    count++;
    return typeof replacement === "function" ? replacement(...m) : replacement;
  });
  if (count === 0) throw new Error(`minify-names: ${what} not found in ${glueFile}`);
}

const escape = (s) => s.replace(/[.*+?^${}()|[\]\\]/g, "\\$&");
const modules = new Set();
for (const [module, name, short] of map.imports) {
  // The import object's keys: `name:function…` (terser writes them unquoted).
  replaceExactly(new RegExp(`(?<=[{,])${escape(name)}(?=:)`, "g"), short, `import ${name}`);
  modules.add(module);
}
for (const module of modules) {
  replaceExactly(new RegExp(`"${escape(module)}"(?=:)`, "g"), JSON.stringify(wasmModule), `module ${module}`);
}
for (const [name, short] of map.exports) {
  // The wasm's exports are only ever read as properties of the instance's exports object.
  // Exports the glue never uses (wasm-bindgen's abort hooks) are left as they are.
  const pattern = new RegExp(`\\.${escape(name)}(?![\\w$])`, "g");
  if (pattern.test(glue)) replaceExactly(pattern, `.${short}`, `export ${name}`);
}
for (const [, name] of map.imports) {
  if (glue.includes(name)) throw new Error(`minify-names: ${name} is still in ${glueFile}`);
}
writeFileSync(glueFile, glue);

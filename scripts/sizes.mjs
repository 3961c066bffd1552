#!/usr/bin/env node
// Sizes of everything a browser downloads for the widget: raw, gzip -9 and brotli -11 (what a
// static server with precompressed files sends). Deterministic: same bytes, same numbers.
//
//   node scripts/sizes.mjs FILE...                    print a table
//   node scripts/sizes.mjs --max-gzip-kib 60 FILE...  also fail when the gzip total is larger
import { readFileSync } from "node:fs";
import { basename } from "node:path";
import { brotliCompressSync, constants, gzipSync } from "node:zlib";

const args = process.argv.slice(2);
let maxGzip = Infinity;
if (args[0] === "--max-gzip-kib") {
  maxGzip = Number(args[1]) * 1024;
  args.splice(0, 2);
}

const rows = args.map((file) => {
  const bytes = readFileSync(file);
  return {
    file,
    raw: bytes.length,
    gzip: gzipSync(bytes, { level: 9 }).length,
    brotli: brotliCompressSync(bytes, {
      params: { [constants.BROTLI_PARAM_QUALITY]: 11, [constants.BROTLI_PARAM_SIZE_HINT]: bytes.length },
    }).length,
  };
});
const total = rows.reduce((t, r) => ({ raw: t.raw + r.raw, gzip: t.gzip + r.gzip, brotli: t.brotli + r.brotli }),
  { raw: 0, gzip: 0, brotli: 0 });

const kib = (n) => (n / 1024).toFixed(1).padStart(7) + " KiB";
const line = (name, r) => console.log(name.padEnd(22) + kib(r.raw) + kib(r.gzip) + kib(r.brotli));
console.log("".padEnd(22) + "raw".padStart(11) + "gzip".padStart(11) + "brotli".padStart(11));
for (const r of rows) line(basename(r.file), r);
line("total", total);

if (total.gzip > maxGzip) {
  console.error(`size budget exceeded: ${total.gzip} bytes gzip > ${maxGzip} (${maxGzip / 1024} KiB)`);
  process.exit(1);
}

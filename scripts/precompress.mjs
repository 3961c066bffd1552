#!/usr/bin/env node
// Writes FILE.br (brotli -11) and FILE.gz (gzip -9) next to each FILE, for a static server that
// serves precompressed files (the gate's --www, nginx `brotli_static` / `gzip_static`): every
// pupil then downloads the compressed sizes that scripts/sizes.mjs reports, and the server
// compresses nothing per request.
//
//   node scripts/precompress.mjs FILE...
import { readFileSync, writeFileSync } from "node:fs";
import { brotliCompressSync, constants, gzipSync } from "node:zlib";

for (const file of process.argv.slice(2)) {
  const bytes = readFileSync(file);
  writeFileSync(`${file}.gz`, gzipSync(bytes, { level: 9 }));
  writeFileSync(`${file}.br`, brotliCompressSync(bytes, {
    params: { [constants.BROTLI_PARAM_QUALITY]: 11, [constants.BROTLI_PARAM_SIZE_HINT]: bytes.length },
  }));
}

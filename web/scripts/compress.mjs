// Writes a .gz and a .br beside every compressible file of dist/, so the
// server sends precompressed bytes and never compresses on a request.
// vite.config.ts runs it after every build (scripts/dist.mjs); run by
// hand, `node scripts/compress.mjs` compresses web/dist again.
import { readdirSync, readFileSync, writeFileSync, statSync, unlinkSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { gzipSync, brotliCompressSync, constants } from 'node:zlib';

const compressible = /\.(js|css|html|svg|json|txt|map)$/;

export function compressDist(dir) {
  for (const name of readdirSync(dir)) {
    const p = join(dir, name);
    if (statSync(p).isDirectory()) { compressDist(p); continue; }
    if (/\.(gz|br)$/.test(name)) { unlinkSync(p); continue; }
  }
  for (const name of readdirSync(dir)) {
    const p = join(dir, name);
    if (statSync(p).isDirectory() || !compressible.test(name)) continue;
    const body = readFileSync(p);
    if (body.length < 512) continue;
    writeFileSync(p + '.gz', gzipSync(body, { level: 9 }));
    writeFileSync(p + '.br', brotliCompressSync(body, {
      params: { [constants.BROTLI_PARAM_QUALITY]: 11, [constants.BROTLI_PARAM_SIZE_HINT]: body.length },
    }));
  }
}

if (process.argv[1] && fileURLToPath(import.meta.url) === process.argv[1]) {
  compressDist(fileURLToPath(new URL('../dist/', import.meta.url)));
}

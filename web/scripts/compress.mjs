// Writes a .gz and a .br beside every compressible file of dist/, so the
// server sends precompressed bytes and never compresses on a request.
import { readdirSync, readFileSync, writeFileSync, statSync, unlinkSync } from 'node:fs';
import { join } from 'node:path';
import { gzipSync, brotliCompressSync, constants } from 'node:zlib';

const root = new URL('../dist/', import.meta.url).pathname;
const compressible = /\.(js|css|html|svg|json|txt|map)$/;

function walk(dir) {
  for (const name of readdirSync(dir)) {
    const p = join(dir, name);
    if (statSync(p).isDirectory()) { walk(p); continue; }
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
walk(root);
// vite empties dist/ on each build; put back the file that keeps the folder
// in git (go:embed needs the folder to exist in a clone without a build).
writeFileSync(join(root, '.keep'), 'built UI lands here (npm run build); kept so go:embed compiles without it\n');

// Prints what a first visit downloads before the app can render: the
// entry script index.html loads, the chunks it preloads, and the
// stylesheets, each gzip- and brotli-compressed as the server sends them
// (the build's .gz/.br files). Lazily loaded chunks (the launch form, the
// editor, the graph) are listed apart. `make bench` runs it after a build.
//
// usage: node scripts/initial-size.mjs [--max-kib N]   (fails above N KiB of gzip JS)
import { readFileSync, readdirSync, existsSync } from 'node:fs';
import { join } from 'node:path';
import { gzipSync, brotliCompressSync } from 'node:zlib';

const dist = new URL('../dist/', import.meta.url).pathname;
const maxArg = process.argv.indexOf('--max-kib');
const maxKiB = maxArg > 0 ? Number(process.argv[maxArg + 1]) : Infinity;
if (!existsSync(join(dist, 'index.html'))) {
  console.error('web/dist/index.html is missing: build the UI first (make build, or npm run build in web/)');
  process.exit(1);
}
const index = readFileSync(join(dist, 'index.html'), 'utf8');
const refs = (re) => [...index.matchAll(re)].map((m) => m[1].replace(/^\//, ''));
const scripts = [...refs(/<script[^>]*type="module"[^>]*src="([^"]+)"/g), ...refs(/<link[^>]*rel="modulepreload"[^>]*href="([^"]+)"/g)];
const styles = refs(/<link[^>]*rel="stylesheet"[^>]*href="([^"]+)"/g);

function sizes(name) {
  const p = join(dist, name);
  const raw = readFileSync(p);
  const gz = existsSync(p + '.gz') ? readFileSync(p + '.gz').length : gzipSync(raw, { level: 9 }).length;
  const br = existsSync(p + '.br') ? readFileSync(p + '.br').length : brotliCompressSync(raw).length;
  return { raw: raw.length, gz, br };
}
const kib = (n) => (n / 1024).toFixed(1);
function report(title, names) {
  const total = { raw: 0, gz: 0, br: 0 };
  for (const n of names) {
    const s = sizes(n);
    total.raw += s.raw; total.gz += s.gz; total.br += s.br;
  }
  console.log(`${title}: ${kib(total.gz)} KiB gzip, ${kib(total.br)} KiB brotli, ${kib(total.raw)} KiB raw (${names.length} file(s))`);
  return total;
}
const initial = report('initial JS', scripts);
report('initial CSS', styles);
const lazy = readdirSync(join(dist, 'assets')).filter((f) => f.endsWith('.js') && !scripts.includes(`assets/${f}`)).map((f) => `assets/${f}`);
report('lazy JS', lazy);
if (initial.gz / 1024 > maxKiB) {
  console.error(`initial JS is ${kib(initial.gz)} KiB gzip, above the ${maxKiB} KiB budget`);
  process.exit(1);
}

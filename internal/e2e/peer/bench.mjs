#!/usr/bin/env node
// Benchmark driver for the stock Backstage peer. Node >= 20, no dependencies.
// Rigger's copy of shared/peers/backstage/bench.mjs (`make bench-peer` runs
// this one): its scaffolder phase reports the figures Rigger's
// BenchmarkScaffolder prints under the same names, server-side (POST to the
// completion event) and client-side (poll every POLL_MS) alike.
// PEER_HOME is the shared peer folder (pg.sh, templates, ../gen-catalog.mjs).
// Starts/stops the peer itself (node index.cjs in $PEER_DIR), talks to it over
// HTTP on 127.0.0.1 with fetch(), and prints one "FIGURE name = value" line
// per measured figure (plus a JSON dump at the end to --json FILE).
//
// Usage (PostgreSQL must be up: ./pg.sh start):
//   node bench.mjs [--phases startup,ingest,query,scaffolder,durability]
//                  [--count 10000] [--json out.json]
// Every request loop is bounded in count and in time.

import { spawn, execFileSync } from 'node:child_process';
import { readFileSync, writeFileSync, mkdirSync, openSync, existsSync } from 'node:fs';
import { join, dirname } from 'node:path';
import { fileURLToPath } from 'node:url';

const HERE = process.env.PEER_HOME || dirname(fileURLToPath(import.meta.url));
const PEER_DIR = process.env.PEER_DIR || '/tmp/peer-backstage';
const PORT = Number(process.env.BENCH_PORT || 7107);
const BASE = `http://127.0.0.1:${PORT}`;
const WORK = process.env.BENCH_WORK || '/tmp/peer-backstage-bench';
const GEN = join(HERE, '..', 'gen-catalog.mjs');
const DB_PREFIX = process.env.BENCH_DB_PREFIX || 'bsbench_';

const args = process.argv.slice(2);
const arg = (name, dflt) => {
  const i = args.indexOf(`--${name}`);
  return i >= 0 ? args[i + 1] : dflt;
};
const PHASES = arg('phases', 'startup,ingest,query,scaffolder,durability').split(',');
const COUNT = Number(arg('count', '10000'));
const JSON_OUT = arg('json', join(WORK, 'results.json'));
const INGEST_TIMEOUT_S = Number(arg('ingest-timeout', '1500'));

mkdirSync(WORK, { recursive: true });
const results = { date: new Date().toISOString(), count: COUNT, figures: {}, notes: [] };
// POLL_MS is every client poll of the scaffolder phase, as in Rigger's
// BenchmarkScaffolder (internal/e2e/bench_scaffolder_test.go).
const POLL_MS = 20;
const sleep = ms => new Promise(r => setTimeout(r, ms));
const now = () => performance.now();
function figure(name, value, unit = '', note = '') {
  results.figures[name] = { value, unit, note };
  console.log(`FIGURE ${name} = ${value}${unit ? ' ' + unit : ''}${note ? '  # ' + note : ''}`);
}
function note(s) { results.notes.push(s); console.log(`NOTE ${s}`); }
function pct(arr, p) {
  if (!arr.length) return NaN;
  const s = [...arr].sort((a, b) => a - b);
  return s[Math.min(s.length - 1, Math.max(0, Math.ceil((p / 100) * s.length) - 1))];
}
const median = arr => pct(arr, 50);
const r1 = x => Math.round(x * 10) / 10;
// Seeded PRNG so request mixes repeat between runs.
function prng(seed) {
  let s = seed >>> 0;
  return () => {
    s = (s + 0x6d2b79f5) >>> 0;
    let t = s;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

// ---------- process / DB management ----------
function resetDb() {
  execFileSync(join(HERE, 'pg.sh'), ['dropdbs', DB_PREFIX], { stdio: 'inherit' });
}
function procStatus(pid) {
  try {
    const s = readFileSync(`/proc/${pid}/status`, 'utf8');
    const kb = k => Number((s.match(new RegExp(`^${k}:\\s+(\\d+) kB`, 'm')) || [])[1] || 0);
    return { rssMiB: kb('VmRSS') / 1024, hwmMiB: kb('VmHWM') / 1024 };
  } catch { return null; }
}
let logSeq = 0;
async function startPeer({ catalogLocation, extraConfig, label }) {
  const cfgArgs = ['--config', join(PEER_DIR, 'app-config.yaml')];
  if (extraConfig) {
    const f = join(WORK, `extra-${label}.yaml`);
    writeFileSync(f, extraConfig);
    cfgArgs.push('--config', f);
  }
  const logFile = join(WORK, `peer-${String(++logSeq).padStart(2, '0')}-${label}.log`);
  const out = openSync(logFile, 'w');
  const env = {
    ...process.env,
    BENCH_PORT: String(PORT),
    BENCH_PG_PORT: process.env.BENCH_PG_PORT || '55432',
    BENCH_PG_USER: process.env.BENCH_PG_USER || 'bench',
    BENCH_PG_PASSWORD: process.env.BENCH_PG_PASSWORD || 'bench',
    BENCH_DB_PREFIX: DB_PREFIX,
    BENCH_CATALOG_LOCATION: catalogLocation,
    BENCH_TEMPLATES_LOCATION: join(PEER_DIR, 'templates', 'location.yaml'),
    NODE_ENV: 'production',
    LOG_LEVEL: process.env.LOG_LEVEL || 'warn',
  };
  const t0 = now();
  const proc = spawn(process.execPath, ['index.cjs', ...cfgArgs], {
    cwd: PEER_DIR, env, stdio: ['ignore', out, out],
  });
  let exited = null;
  proc.on('exit', (code, sig) => { exited = { code, sig }; });
  // Poll readiness every 50 ms, at most 180 s.
  for (let i = 0; i < 3600; i++) {
    if (exited) throw new Error(`peer exited during start (${JSON.stringify(exited)}), see ${logFile}`);
    try {
      const r = await fetch(`${BASE}/.backstage/health/v1/readiness`);
      if (r.status === 200) {
        return { proc, pid: proc.pid, readyMs: now() - t0, t0, logFile, exitedRef: () => exited };
      }
    } catch { /* not listening yet */ }
    await sleep(50);
  }
  proc.kill('SIGKILL');
  throw new Error(`peer not ready within 180 s, see ${logFile}`);
}
async function stopPeer(p, signal = 'SIGTERM') {
  if (!p || p.exitedRef()) return;
  p.proc.kill(signal);
  for (let i = 0; i < 300 && !p.exitedRef(); i++) await sleep(50);
  if (!p.exitedRef()) { p.proc.kill('SIGKILL'); for (let i = 0; i < 100 && !p.exitedRef(); i++) await sleep(50); }
  // Let the port free up.
  await sleep(300);
}

// ---------- HTTP helpers ----------
let TOKEN = null;
async function getToken() {
  const r = await fetch(`${BASE}/api/auth/guest/refresh`);
  if (!r.ok) throw new Error(`guest refresh ${r.status}`);
  TOKEN = (await r.json()).backstageIdentity.token;
  return TOKEN;
}
const H = () => ({ Authorization: `Bearer ${TOKEN}` });
async function getJson(path) {
  const r = await fetch(`${BASE}${path}`, { headers: H() });
  const body = await r.text();
  if (!r.ok) throw new Error(`GET ${path} -> ${r.status} ${body.slice(0, 200)}`);
  return JSON.parse(body);
}
async function timedGet(path) {
  const t = now();
  const r = await fetch(`${BASE}${path}`, { headers: H() });
  const body = await r.text();
  const ms = now() - t;
  return { ms, status: r.status, body };
}
async function countSynthetic() {
  const j = await getJson('/api/catalog/entities/by-query?limit=1&fields=kind&filter=metadata.labels.bench=synthetic');
  return j.totalItems;
}

function emptyCatalog() {
  const dir = join(WORK, 'empty-catalog');
  mkdirSync(dir, { recursive: true });
  const f = join(dir, 'location.yaml');
  writeFileSync(f, 'apiVersion: backstage.io/v1alpha1\nkind: Location\nmetadata:\n  name: empty\nspec:\n  targets: []\n');
  return f;
}

// ---------- phases ----------
async function phaseStartup() {
  const loc = emptyCatalog();
  for (const mode of ['fresh-db', 'existing-db']) {
    const ready = [], rss = [];
    if (mode === 'existing-db') { resetDb(); const p = await startPeer({ catalogLocation: loc, label: 'prime' }); await sleep(3000); await stopPeer(p); }
    for (let i = 0; i < 3; i++) {
      if (mode === 'fresh-db') resetDb();
      const p = await startPeer({ catalogLocation: loc, label: `startup-${mode}-${i}` });
      ready.push(p.readyMs);
      await sleep(10000); // idle settle: templates ingested, timers started
      rss.push(procStatus(p.pid).rssMiB);
      await stopPeer(p);
    }
    figure(`startup.ready_ms.${mode}.median3`, Math.round(median(ready)), 'ms', `runs: ${ready.map(Math.round).join(', ')}`);
    figure(`startup.rss_idle_mib.${mode}.median3`, r1(median(rss)), 'MiB', `VmRSS 10 s after ready, templates only; runs: ${rss.map(r1).join(', ')}`);
  }
}

let ingestPeer = null;
let manifest = null;
async function phaseIngest(count) {
  const dir = join(WORK, `catalog-${count}`);
  execFileSync(process.execPath, [GEN, '--count', String(count), '--out', dir], { stdio: 'inherit' });
  manifest = JSON.parse(readFileSync(join(dir, 'manifest.json'), 'utf8'));
  resetDb();
  const p = await startPeer({ catalogLocation: join(dir, 'location.yaml'), label: `ingest-${count}` });
  await getToken();
  let peakRss = 0, done = false, last = -1;
  const deadline = now() + INGEST_TIMEOUT_S * 1000;
  const progress = [];
  let lastLog = 0;
  while (now() < deadline) {
    const st = procStatus(p.pid);
    if (st) peakRss = Math.max(peakRss, st.rssMiB, st.hwmMiB);
    let n = -1;
    try { n = await countSynthetic(); } catch (e) { /* transient */ }
    const tS = (now() - p.t0) / 1000;
    if (n !== last) { progress.push([r1(tS), n]); last = n; }
    if (tS - lastLog >= 30) { console.log(`  ingest ${count}: t=${r1(tS)} s, ${n} queryable, rss ${r1(st?.rssMiB ?? 0)} MiB`); lastLog = tS; }
    if (n >= count) { done = true; break; }
    await sleep(1000);
  }
  const tTotal = (now() - p.t0) / 1000;
  const st = procStatus(p.pid);
  if (st) peakRss = Math.max(peakRss, st.hwmMiB);
  results.ingestProgress = results.ingestProgress || {};
  results.ingestProgress[count] = progress;
  if (done) {
    figure(`ingest.n${count}.start_to_all_queryable_s`, r1(tTotal), 's', `from process spawn; ready took ${Math.round(p.readyMs)} ms; poll 1 s`);
    figure(`ingest.n${count}.rate_entities_per_s`, r1(count / tTotal), 'entities/s', 'N / (start to all queryable)');
  } else {
    figure(`ingest.n${count}.start_to_all_queryable_s`, `>${r1(tTotal)}`, 's', `TIMEOUT: only ${last} of ${count} queryable`);
    if (last > 0) figure(`ingest.n${count}.rate_entities_per_s.partial`, r1(last / tTotal), 'entities/s', 'partial (timeout)');
  }
  figure(`ingest.n${count}.peak_rss_mib`, r1(peakRss), 'MiB', 'max of 1 s VmRSS samples and VmHWM');
  ingestPeer = p;
  return done;
}

// QUERIES is how many requests one p50/p99 query figure times, as in
// Rigger's bench (queriesPerFigure in bench_catalog_test.go): of 1,000
// the p99 is the eleventh slowest, not the third as of 200.
const QUERIES = 1000;
// QUERY_CAP_MS bounds one figure's requests in time; a figure cut short
// says so (shortNote), as it then rests on fewer requests.
const QUERY_CAP_MS = 600000;
const shortNote = n => (n < QUERIES ? `; NOTE: cut at ${QUERY_CAP_MS / 1000} s after ${n} of ${QUERIES}` : '');

async function phaseQuery() {
  if (!ingestPeer || !manifest) throw new Error('query phase needs the ingest phase first');
  await getToken();
  const rnd = prng(7);
  const comps = manifest.components;
  const owners = [...new Set(manifest.componentOwners)];
  // warm-up, not counted
  for (let i = 0; i < 20; i++) await timedGet(`/api/catalog/entities/by-name/component/default/${comps[i]}`);
  const byName = [];
  let non200 = 0;
  const t0 = now();
  for (let i = 0; i < QUERIES && now() - t0 < QUERY_CAP_MS; i++) {
    const name = comps[Math.floor(rnd() * comps.length)];
    const r = await timedGet(`/api/catalog/entities/by-name/component/default/${name}`);
    if (r.status !== 200) non200++;
    byName.push(r.ms);
  }
  figure('query.by_name.p50_ms', r1(pct(byName, 50)), 'ms', `${byName.length} sequential GETs, random component names, ${non200} non-200${shortNote(byName.length)}`);
  figure('query.by_name.p99_ms', r1(pct(byName, 99)), 'ms');
  const byQuery = [];
  let items = 0; non200 = 0;
  for (let i = 0; i < 10; i++) await timedGet(`/api/catalog/entities/by-query?filter=kind=component,spec.owner=group:default/${owners[i % owners.length]}&limit=50`);
  const t1 = now();
  for (let i = 0; i < QUERIES && now() - t1 < QUERY_CAP_MS; i++) {
    const o = owners[Math.floor(rnd() * owners.length)];
    const r = await timedGet(`/api/catalog/entities/by-query?filter=kind=component,spec.owner=group:default/${o}&limit=50`);
    if (r.status !== 200) non200++; else items += JSON.parse(r.body).items.length;
    byQuery.push(r.ms);
  }
  figure('query.by_query_owner.p50_ms', r1(pct(byQuery, 50)), 'ms',
    `${byQuery.length} sequential GETs filter=kind=component,spec.owner=group:default/<team>&limit=50; avg ${r1(items / byQuery.length)} items/page; ${non200} non-200${shortNote(byQuery.length)}`);
  figure('query.by_query_owner.p99_ms', r1(pct(byQuery, 99)), 'ms');
}

// Scaffolder helpers: completion time is taken from the server-side
// 'completion' event's createdAt (same clock: same machine).
async function submitTask(template, values) {
  const t = Date.now();
  const r = await fetch(`${BASE}/api/scaffolder/v2/tasks`, {
    method: 'POST', headers: { ...H(), 'Content-Type': 'application/json' },
    body: JSON.stringify({ templateRef: `template:default/${template}`, values }),
  });
  const body = await r.text();
  if (r.status !== 201) throw new Error(`POST tasks -> ${r.status} ${body.slice(0, 300)}`);
  return { id: JSON.parse(body).id, submittedAt: t };
}
async function taskCompletion(id) {
  const ev = await getJson(`/api/scaffolder/v2/tasks/${id}/events`);
  const c = ev.filter(e => e.type === 'completion').pop();
  return c ? { at: Date.parse(c.createdAt), body: c.body } : null;
}
async function waitAllDone(ids, timeoutMs, pollMs) {
  // Light poll: count of open+processing tasks (this peer only runs the
  // bench's tasks), then one list call for the final statuses.
  const deadline = now() + timeoutMs;
  let active = -1, seenAt = null; // seenAt: when the client saw none running
  while (now() < deadline) {
    const j = await getJson('/api/scaffolder/v2/tasks?status=open&status=processing&limit=1');
    active = j.totalTasks;
    if (active === 0) { seenAt = Date.now(); break; }
    await sleep(pollMs);
  }
  const want = new Set(ids);
  const statuses = {};
  const j = await getJson(`/api/scaffolder/v2/tasks?limit=${ids.length + 50}&order=desc:created_at`);
  for (const t of j.tasks) if (want.has(t.id)) statuses[t.id] = t.status;
  const pending = ids.filter(id => !['completed', 'failed', 'cancelled'].includes(statuses[id])).length;
  return { pending, statuses, seenAt };
}

let scafPeer = null;
async function phaseScaffolder() {
  resetDb();
  scafPeer = await startPeer({ catalogLocation: emptyCatalog(), label: 'scaffolder' });
  await getToken();
  // wait until the templates are in the catalog (bounded 60 s)
  for (let i = 0; i < 120; i++) {
    const j = await getJson('/api/catalog/entities/by-query?limit=10&filter=kind=template');
    if (j.totalItems >= 3) break;
    await sleep(500);
  }
  const owner = 'group:default/bench';
  // Every wait below polls every POLL_MS; server-side figures come from
  // each task's completion event (same clock: same machine).
  const awaitTask = async id => {
    for (let k = 0; k < 1500; k++) { // bounded
      const j = await getJson(`/api/scaffolder/v2/tasks/${id}`);
      if (['completed', 'failed', 'cancelled'].includes(j.status)) return j.status;
      await sleep(POLL_MS);
    }
    return null;
  };
  // (a) 50 sequential runs; the client polls GET /v2/tasks/:id.
  for (let w = 0; w < 3; w++) { // warm-up, not counted
    const { id } = await submitTask('bench-3step', { name: `warm-${w}`, owner });
    await awaitTask(id);
  }
  const seqClient = [], seqServer = [];
  let failed = 0;
  for (let i = 0; i < 50; i++) {
    const t = now();
    const { id, submittedAt } = await submitTask('bench-3step', { name: `seq-${i}`, owner });
    const status = await awaitTask(id);
    seqClient.push(now() - t);
    if (status !== 'completed') failed++;
    const c = await taskCompletion(id);
    if (c) seqServer.push(c.at - submittedAt);
  }
  figure('scaffolder.seq50.p50_ms', r1(pct(seqClient, 50)), 'ms', `POST to client-seen completed (poll ${POLL_MS} ms); ${failed} not completed`);
  figure('scaffolder.seq50.p99_ms', r1(pct(seqClient, 99)), 'ms');
  figure('scaffolder.seq50.server_p50_ms', r1(pct(seqServer, 50)), 'ms', `POST to completion event createdAt; ${seqServer.length} of 50 with one`);
  figure('scaffolder.seq50.server_p99_ms', r1(pct(seqServer, 99)), 'ms');

  // burst submits n at once; the client polls the count of running tasks
  // (this peer runs only the bench's tasks).
  const burst = async (n, template, values, timeoutMs) => {
    const t = Date.now();
    const subs = await Promise.all(Array.from({ length: n }, (_, i) => submitTask(template, values(i))));
    const tSubmitted = Date.now();
    const w = await waitAllDone(subs.map(s => s.id), timeoutMs, POLL_MS);
    const seen = w.seenAt ?? Date.now();
    const comps = [];
    for (const s of subs) { const c = await taskCompletion(s.id); if (c) comps.push({ lat: c.at - s.submittedAt, at: c.at }); }
    const lastAt = Math.max(...comps.map(c => c.at));
    const notOk = subs.filter(x => w.statuses[x.id] !== 'completed').length;
    return { t, tSubmitted, seen, comps, lastAt, notOk, pending: w.pending };
  };
  // (b) 100 submitted at once
  {
    const b = await burst(100, 'bench-3step', i => ({ name: `burst-${i}`, owner }), 180000);
    figure('scaffolder.burst100.throughput_tasks_per_s', r1(b.comps.length / ((b.lastAt - b.t) / 1000)), 'tasks/s',
      `100 POSTs concurrently (all accepted in ${b.tSubmitted - b.t} ms); first POST to last completion event; ${b.notOk} not completed`);
    figure('scaffolder.burst100.client_throughput_tasks_per_s', r1(b.comps.length / ((b.seen - b.t) / 1000)), 'tasks/s',
      `first POST to the client seeing none running (poll ${POLL_MS} ms)`);
    figure('scaffolder.burst100.p50_completion_ms', r1(pct(b.comps.map(c => c.lat), 50)), 'ms', 'per task: its POST to its completion event');
    figure('scaffolder.burst100.p99_completion_ms', r1(pct(b.comps.map(c => c.lat), 99)), 'ms');
  }
  // (c) 200 tasks with a 10 s debug:wait
  {
    const c = await burst(200, 'bench-wait', i => ({ name: `wait-${i}`, owner, waitSeconds: 10 }), 600000);
    const total = c.comps.length ? (c.lastAt - c.t) / 1000 : NaN;
    figure('scaffolder.wait200.total_s', c.pending ? `>${r1((Date.now() - c.t) / 1000)}` : r1(total), 's',
      `200 tasks, middle step debug:wait 10 s, submitted at once; first POST to last completion event; scaffolder.concurrentTasksLimit=default (10); ${c.notOk} not completed`);
    figure('scaffolder.wait200.client_total_s', r1((c.seen - c.t) / 1000), 's', `first POST to the client seeing none running (poll ${POLL_MS} ms)`);
    const st = procStatus(scafPeer.pid);
    if (st) figure('scaffolder.wait200.peak_rss_mib', Math.round(st.hwmMiB), 'MiB', "the peer process's VmHWM");
  }
  await stopPeer(scafPeer);
}

async function durabilityRun(label, extraConfig, template) {
  resetDb();
  let p = await startPeer({ catalogLocation: emptyCatalog(), extraConfig, label: `dur-${label}` });
  await getToken();
  for (let i = 0; i < 120; i++) {
    const j = await getJson('/api/catalog/entities/by-query?limit=10&filter=kind=template');
    if (j.totalItems >= 3) break;
    await sleep(500);
  }
  const { id } = await submitTask(template, { name: `dur-${label}`, owner: 'group:default/bench', waitSeconds: 20 });
  // wait until the wait step is running (bounded 30 s)
  let inWait = false;
  for (let i = 0; i < 300 && !inWait; i++) {
    const ev = await getJson(`/api/scaffolder/v2/tasks/${id}/events`);
    inWait = ev.some(e => e.body?.stepId === 'wait' && e.body?.status === 'processing');
    if (!inWait) await sleep(100);
  }
  await sleep(2000); // 2 s into the 20 s wait
  const killedAt = Date.now();
  p.proc.kill('SIGKILL');
  for (let i = 0; i < 100 && !p.exitedRef(); i++) await sleep(50);
  await sleep(300);
  p = await startPeer({ catalogLocation: emptyCatalog(), extraConfig, label: `dur-${label}-restart` });
  await getToken();
  const timeline = [];
  let lastStatus = null;
  const t0 = Date.now();
  while (Date.now() - t0 < 90000) {
    const j = await getJson(`/api/scaffolder/v2/tasks/${id}`);
    if (j.status !== lastStatus) { timeline.push(`${r1((Date.now() - killedAt) / 1000)}s:${j.status}`); lastStatus = j.status; }
    if (['completed', 'failed', 'cancelled'].includes(j.status)) break;
    await sleep(1000);
  }
  const ev = await getJson(`/api/scaffolder/v2/tasks/${id}/events`);
  const interesting = ev.filter(e => e.type !== 'log' || e.body?.status || /recover|stale/i.test(e.body?.message || ''))
    .map(e => `${e.type}${e.body?.stepId ? '/' + e.body.stepId : ''}${e.body?.status ? '=' + e.body.status : ''}${e.body?.recoverStrategy ? ' strategy=' + e.body.recoverStrategy : ''}`);
  const stepsRun = ev.filter(e => e.body?.stepId === 'fetch-a' && e.body?.status === 'processing').length;
  const rec = ev.find(e => e.type === 'recovered');
  if (rec) timeline.push(`(recovered event at ${r1((Date.parse(rec.createdAt) - killedAt) / 1000)}s)`);
  const skipped = ev.filter(e => /^Skipping step/.test(e.body?.message || '')).map(e => e.body.stepId);
  if (skipped.length) timeline.push(`(skipped as already done: ${skipped.join(',')})`);
  figure(`durability.${label}.outcome_90s`, lastStatus, '',
    `timeline since SIGKILL: ${timeline.join(' -> ')}; step fetch-a started ${stepsRun}x; events: ${interesting.join(', ')}`);
  results.durability = results.durability || {};
  results.durability[label] = { timeline, events: ev.map(e => ({ type: e.type, body: e.body, createdAt: e.createdAt })) };
  await stopPeer(p);
}
async function phaseDurability() {
  await durabilityRun('default', null, 'bench-wait');
  await durabilityRun('recovery_on', 'scaffolder:\n  taskRecovery:\n    enabled: true\n', 'bench-wait');
  await durabilityRun('recovery_on_startOver', 'scaffolder:\n  taskRecovery:\n    enabled: true\n', 'bench-wait-recover');
}

async function main() {
  if (!existsSync(join(PEER_DIR, 'node_modules'))) throw new Error(`no install in ${PEER_DIR}; run install.sh`);
  const versions = {};
  for (const p of Object.keys(JSON.parse(readFileSync(join(PEER_DIR, 'package.json'), 'utf8')).dependencies)) {
    versions[p] = JSON.parse(readFileSync(join(PEER_DIR, 'node_modules', p, 'package.json'), 'utf8')).version;
  }
  results.versions = versions;
  console.log(`bench: peer ${PEER_DIR}, phases ${PHASES.join(',')}, N=${COUNT}, node ${process.version}`);
  const t0 = now();
  const save = () => writeFileSync(JSON_OUT, JSON.stringify(results, null, 1));
  try {
    if (PHASES.includes('startup')) { await phaseStartup(); save(); }
    if (PHASES.includes('ingest')) { await phaseIngest(COUNT); save(); }
    if (PHASES.includes('query')) { await phaseQuery(); save(); }
    if (ingestPeer) { await stopPeer(ingestPeer); ingestPeer = null; }
    if (PHASES.includes('scaffolder')) { await phaseScaffolder(); save(); }
    if (PHASES.includes('durability')) { await phaseDurability(); save(); }
  } finally {
    if (ingestPeer) await stopPeer(ingestPeer);
    if (scafPeer) await stopPeer(scafPeer);
    results.wallS = r1((now() - t0) / 1000);
    save();
    console.log(`bench: done in ${results.wallS} s; JSON in ${JSON_OUT}; peer logs in ${WORK}`);
  }
}
main().catch(e => { console.error(e); process.exitCode = 1; });

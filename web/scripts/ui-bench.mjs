// The web UI's speed in headless Chromium against a running rigger (the
// Go benchmark BenchmarkUI in internal/e2e starts one with a generated
// catalog and runs this script). Three measurements, every time taken in
// the page itself (performance.now(), whose zero is the navigation start):
//
//   catalog  /catalog (kind Component): navigation start → the first row of
//            the table in the DOM and laid out in the viewport, and → the
//            next animation frame (the row is painted in that frame). A new
//            browser context per run: nothing cached.
//   picker   the launch page of examples/templates/create-service, its
//            "Depends on" EntityPicker (catalogFilter kind Component): a key
//            typed (the keydown event's timestamp) → the option list shows
//            the results of the new text. Includes the picker's debounce
//            (web/src/fields/search.ts), reported beside the total; each
//            result is checked against the answer to the request for the
//            typed text after the timing is taken.
//   sse      the task page of a running ui-bench-log task: for each live log
//            event, the moment the page's fetch stream delivered its bytes
//            (and the server's createdAt) → the line in the DOM.
//
// env: RIGGER_URL (required), CHROMIUM (default /usr/bin/chromium),
// UI_BENCH_COMPONENTS (the Component count the catalog must show; checked
// when set), UI_BENCH_CATALOG_RUNS (default 5), ARTIFACTS (where a
// screenshot of each measured page goes, taken after its timings; none
// when unset).
// Progress goes to stderr; the last line on stdout is the JSON result. The
// exit code is 1 when a measurement could not be taken honestly (a page
// error, an HTTP error, results that do not match the typed text).
import { mkdirSync } from 'node:fs';
import { join } from 'node:path';
import { chromium } from 'playwright-core';

const base = (process.env.RIGGER_URL ?? '').replace(/\/+$/, '');
const executablePath = process.env.CHROMIUM || '/usr/bin/chromium';
const components = Number(process.env.UI_BENCH_COMPONENTS || 0);
const catalogRuns = Number(process.env.UI_BENCH_CATALOG_RUNS || 5);
// Typed one key at a time, each key waiting for its results: ~20
// keystrokes. The generated components are named svc-NNNNNN and titled
// "Service N", N from 0 (shared/peers/gen-catalog.mjs): a full name, a
// title and a bare number, each of a component that exists at this size.
const pickerTerms = (() => {
  const n = components || 1000;
  const at = (f) => Math.floor(n * f);
  return [`svc-${String(at(0.42)).padStart(6, '0')}`, `Service ${at(0.73)}`, String(at(0.31))];
})();
// How long one result may take before the run fails (not a target).
const WAIT_MS = 30_000;
const DEBOUNCE_MS = 50; // web/src/fields/search.ts

if (!base) {
  console.error('ui-bench.mjs: set RIGGER_URL to the rigger under test');
  process.exit(2);
}
const log = (...a) => console.error(...a);
const artifacts = process.env.ARTIFACTS;
if (artifacts) mkdirSync(artifacts, { recursive: true });
async function shot(page, name) {
  if (!artifacts) return;
  const path = join(artifacts, `${name}.png`);
  await page.screenshot({ path });
  log(`screenshot: ${path}`);
}

/** The p-th percentile of xs, as internal/e2e's percentile picks it. */
function pct(xs, p) {
  const s = [...xs].sort((a, b) => a - b);
  return s.length ? s[Math.floor((s.length - 1) * p)] : NaN;
}
const r1 = (x) => Math.round(x * 10) / 10;
const stats = (xs) => ({ p50: r1(pct(xs, 0.5)), p95: r1(pct(xs, 0.95)), max: r1(Math.max(...xs)), n: xs.length });

class Failure extends Error {}

const browser = await chromium.launch({
  executablePath,
  headless: true,
  args: ['--headless=new', '--no-sandbox', '--disable-gpu'],
});
const problems = [];

async function newPage(initScript) {
  const context = await browser.newContext({ viewport: { width: 1280, height: 800 }, baseURL: base });
  const page = await context.newPage();
  page.setDefaultTimeout(30_000);
  page.on('pageerror', (e) => problems.push(`uncaught error in the page: ${e.message}`));
  page.on('response', (r) => {
    // rigger dev has no session: the shell's renewal answers 401 by design.
    if (r.status() >= 400 && !/\/api\/auth\/refresh$/.test(r.url())) problems.push(`HTTP ${r.status()}: ${r.request().method()} ${r.url()}`);
  });
  if (initScript) await page.addInitScript(initScript);
  return { context, page };
}

function checkProblems(what) {
  if (problems.length) throw new Failure(`${what}: ${problems.join('; ')}`);
}

// ---- catalog first render ------------------------------------------------

// Installed before the app's scripts: resolves window.__firstRow with the
// time the first table row is in the DOM and in the viewport, and the
// time of the animation frame after it.
function watchFirstRow() {
  window.__firstRow = new Promise((resolve, reject) => {
    setTimeout(() => reject(new Error('no table row within 30 s')), 30_000);
    const check = () => {
      const row = document.querySelector('table.catalog-table tbody tr');
      if (!row) return false;
      const r = row.getBoundingClientRect();
      if (r.height <= 0 || r.top >= innerHeight) return false;
      const dom = performance.now();
      requestAnimationFrame(() => resolve({ dom, frame: performance.now() }));
      return true;
    };
    const obs = new MutationObserver(() => { if (check()) obs.disconnect(); });
    obs.observe(document, { childList: true, subtree: true });
  });
}

async function benchCatalog() {
  const dom = [];
  const frame = [];
  const api = [];
  const asked = [];
  for (let i = 0; i < catalogRuns; i++) {
    const { context, page } = await newPage(watchFirstRow);
    await page.goto('/catalog');
    const t = await page.evaluate(() => window.__firstRow);
    const heading = (await page.locator('#cat-count').textContent()).trim();
    if (components && !heading.startsWith(`${components} components`)) {
      throw new Failure(`catalog: the count says "${heading}", want ${components} components`);
    }
    // Where the time goes: the document, then every request up to the
    // table's own by-query.
    const w = await page.evaluate(() => {
      const nav = performance.getEntriesByType('navigation')[0];
      const res = performance.getEntriesByType('resource').map((e) => {
        const u = new URL(e.name);
        return { name: (u.pathname + u.search).slice(0, 60), start: e.startTime, end: e.responseEnd };
      });
      return { doc: nav.responseEnd, domContentLoaded: nav.domContentLoadedEventEnd, res };
    });
    const q = w.res.find((e) => e.name.startsWith('/api/catalog/entities/by-query'));
    if (i === 0) {
      const until = w.res.filter((e) => e.start <= (q?.start ?? Infinity));
      log(`catalog run 1, requests until the table's: document ${r1(w.doc)} ms, DOMContentLoaded ${r1(w.domContentLoaded)} ms; ${until.map((e) => `${e.name} ${r1(e.start)}→${r1(e.end)}`).join(', ')} (ms)`);
    }
    if (i === 0) await shot(page, 'catalog');
    await context.close();
    checkProblems('catalog');
    dom.push(t.dom);
    frame.push(t.frame);
    if (!q) throw new Failure('catalog: the page showed rows without a by-query request');
    api.push(q.end - q.start);
    asked.push(q.start);
    log(`catalog run ${i + 1}: first row in the DOM at ${r1(t.dom)} ms, in a painted frame at ${r1(t.frame)} ms; the app sent its by-query at ${r1(q.start)} ms, answered in ${r1(q.end - q.start)} ms; "${heading}"`);
  }
  return { firstRowDom: stats(dom), firstRowFrame: stats(frame), byQuery: stats(api), queryAsked: stats(asked) };
}

// ---- picker keystroke to results ----------------------------------------

// Installed before the app's scripts: remembers each key's keydown time,
// each by-query request the picker sends (when, for which text, and what it
// answered), and offers __results(id, text, timeout) which resolves when
// the listbox of the combobox input #id shows options while it holds text.
function watchPicker() {
  window.__keys = [];
  window.__queries = [];
  addEventListener('keydown', (e) => { window.__keys.push(e.timeStamp); }, true);
  const orig = window.fetch;
  window.fetch = async function (input, init) {
    const url = typeof input === 'string' ? input : input.url;
    if (!url.includes('/api/catalog/entities/by-query') || url.includes('cursor=')) return orig.call(this, input, init);
    const term = new URL(url, location.href).searchParams.get('fullTextFilterTerm') ?? '';
    const q = { term, start: performance.now() };
    window.__queries.push(q);
    const r = await orig.call(this, input, init);
    q.headers = performance.now();
    r.clone().json().then((b) => { q.names = b.items.map((e) => e.metadata.title || e.metadata.name); }, () => undefined);
    return r;
  };
  window.__results = (id, text, timeout) => new Promise((resolve, reject) => {
    setTimeout(() => reject(new Error(`no options shown for "${text}" within ${timeout} ms`)), timeout);
    const input = document.getElementById(id);
    const check = () => {
      const list = document.getElementById(input.getAttribute('aria-controls'));
      const first = list?.querySelector('[role="option"]');
      if (input.value !== text || !first || list.closest('[hidden]')) return false;
      resolve({ at: performance.now(), first: first.firstElementChild?.textContent ?? '', count: list.querySelectorAll('[role="option"]').length });
      return true;
    };
    if (check()) return;
    const obs = new MutationObserver(() => { if (check()) obs.disconnect(); });
    obs.observe(document.body, { childList: true, subtree: true, characterData: true, attributes: true });
  });
}

async function benchPicker() {
  const { context, page } = await newPage(watchPicker);
  await page.goto('/create/templates/default/create-service');
  const input = page.getByRole('combobox', { name: 'Depends on' });
  await input.waitFor();
  const id = await input.evaluate((el) => el.id);
  const total = [];
  const afterDebounce = [];
  const keyToRequest = [];
  const requestToHeaders = [];
  for (const term of pickerTerms) {
    // Start from an empty box showing its first page (not timed).
    await input.click();
    await input.fill('');
    await page.evaluate(([i, t, ms]) => window.__results(i, t, ms), [id, '', WAIT_MS]);
    for (let i = 1; i <= term.length; i++) {
      const text = term.slice(0, i);
      const done = page.evaluate(([i, t, ms]) => window.__results(i, t, ms), [id, text, WAIT_MS]);
      await page.keyboard.type(term[i - 1]);
      const res = await done;
      const m = await page.evaluate((t) => ({ key: window.__keys.at(-1), q: window.__queries.filter((q) => q.term === t.trim()).at(-1) }), text);
      if (!m.q) throw new Failure(`picker: results shown for "${text}" without a request for it`);
      // The answer the page got for this text is what it shows.
      const names = await page.waitForFunction((t) => window.__queries.filter((q) => q.term === t.trim()).at(-1)?.names, text).then((h) => h.jsonValue());
      if (names[0] !== res.first) throw new Failure(`picker: for "${text}" the first option is "${res.first}", the server answered "${names[0]}" first`);
      const ms = res.at - m.key;
      total.push(ms);
      afterDebounce.push(res.at - m.q.start);
      keyToRequest.push(m.q.start - m.key);
      requestToHeaders.push(m.q.headers - m.q.start);
      log(`picker "${text}": ${r1(ms)} ms (request sent ${r1(m.q.start - m.key)} ms after the key, its answer began ${r1(m.q.headers - m.q.start)} ms later, results shown ${r1(res.at - m.q.start)} ms after the request; ${res.count} options, first "${res.first}")`);
      if (i === term.length) await shot(page, `picker-${pickerTerms.indexOf(term) + 1}`);
      await page.waitForTimeout(50);
    }
  }
  await context.close();
  checkProblems('picker');
  return { keystrokeToResults: stats(total), requestToResults: stats(afterDebounce), keyToRequest: stats(keyToRequest), requestToAnswer: stats(requestToHeaders), debounceMs: DEBOUNCE_MS };
}

// ---- SSE event to DOM ---------------------------------------------------

// Installed before the app's scripts: the task page's event stream passes
// through a TransformStream that notes when each event's bytes arrived
// (and its createdAt); a MutationObserver notes when each log line
// (data-event-id) enters the DOM.
function watchStream() {
  const recv = {};
  const dom = {};
  window.__sse = { recv, dom, opened: undefined, origin: performance.timeOrigin };
  const orig = window.fetch;
  window.fetch = async function (input, init) {
    const r = await orig.call(this, input, init);
    const url = typeof input === 'string' ? input : input.url;
    if (!url.includes('/eventstream') || !r.body || !r.ok) return r;
    if (window.__sse.opened === undefined) window.__sse.opened = performance.now();
    const dec = new TextDecoder();
    let buf = '';
    const tap = new TransformStream({
      transform(chunk, ctl) {
        const t = performance.now();
        buf += dec.decode(chunk, { stream: true });
        for (let i = buf.indexOf('\n\n'); i >= 0; i = buf.indexOf('\n\n')) {
          const m = /^data: (.*)$/m.exec(buf.slice(0, i));
          buf = buf.slice(i + 2);
          if (!m) continue;
          try {
            const ev = JSON.parse(m[1]);
            if (!(ev.id in recv)) recv[ev.id] = { t, createdAt: ev.createdAt, type: ev.type };
          } catch { /* not an event */ }
        }
        ctl.enqueue(chunk);
      },
    });
    return new Response(r.body.pipeThrough(tap), { status: r.status, statusText: r.statusText, headers: r.headers });
  };
  const note = (n) => {
    if (n.nodeType !== 1) return;
    const t = performance.now();
    for (const el of [n, ...n.querySelectorAll('[data-event-id]')]) {
      const id = el.getAttribute?.('data-event-id');
      if (id && !(id in dom)) dom[id] = t;
    }
  };
  new MutationObserver((records) => { for (const r of records) r.addedNodes.forEach(note); })
    .observe(document, { childList: true, subtree: true });
}

async function benchSSE() {
  const create = await fetch(`${base}/api/scaffolder/v2/tasks`, {
    method: 'POST',
    headers: { 'Content-Type': 'application/json' },
    body: JSON.stringify({ templateRef: 'template:default/ui-bench-log', values: {} }),
  });
  if (create.status !== 201) throw new Failure(`sse: creating the task answered ${create.status}: ${await create.text()}`);
  const { id } = await create.json();
  const { context, page } = await newPage(watchStream);
  await page.goto(`/tasks/${encodeURIComponent(id)}`);
  // The task ends with its completion event, which the page shows as a line.
  await page.locator('.logline.log-completion').waitFor({ timeout: 90_000 });
  const status = (await page.locator('.logline.log-completion .logmsg').textContent()).trim();
  if (!/completed/i.test(status)) throw new Failure(`sse: the task did not complete: ${status}`);
  const s = await page.evaluate(() => window.__sse);
  await shot(page, 'task');
  await context.close();
  checkProblems('sse');
  if (s.opened === undefined) throw new Failure('sse: the page never opened the event stream');
  const recvToDom = [];
  const serverToDom = [];
  let replayed = 0;
  for (const [eid, r] of Object.entries(s.recv)) {
    const d = s.dom[eid];
    if (d === undefined) throw new Failure(`sse: event ${eid} was received but never shown`);
    const created = Date.parse(r.createdAt);
    // Live events only: those created after the stream opened. Earlier
    // ones came in the first answer's replay.
    if (!(created > s.origin + s.opened)) { replayed++; continue; }
    recvToDom.push(d - r.t);
    serverToDom.push(s.origin + d - created);
  }
  log(`sse: ${recvToDom.length} live events (${replayed} replayed at connect, not counted); received → DOM ${recvToDom.map(r1).join(' ')} ms; createdAt → DOM ${serverToDom.map(r1).join(' ')} ms`);
  if (recvToDom.length < 8) throw new Failure(`sse: only ${recvToDom.length} events arrived live (want at least 8)`);
  return { receivedToDom: stats(recvToDom), createdToDom: stats(serverToDom), replayed };
}

let code = 0;
const result = {};
try {
  result.catalog = await benchCatalog();
  result.picker = await benchPicker();
  result.sse = await benchSSE();
} catch (e) {
  log(e instanceof Failure ? `FAIL ${e.message}` : e);
  result.error = e.message;
  code = 1;
} finally {
  await browser.close();
}
console.log(JSON.stringify(result));
process.exit(code);

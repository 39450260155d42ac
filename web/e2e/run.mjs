// Browser end-to-end runner: drives Debian's Chromium with playwright-core
// against a running rigger (internal/e2e's TestBrowserUI starts one) and
// runs every scenario in e2e/scenarios/*.mjs in name order.
//
//   RIGGER_URL   base URL of the rigger under test (required)
//   ARTIFACTS    where screenshots go (default: ../test-artifacts/ui)
//   CHROMIUM     the browser (default: /usr/bin/chromium)
//   SCENARIOS    a regular expression: run only the scenarios it matches
//   SCENARIO_TIMEOUT_MS  the longest one scenario may take (default 120000)
//
// A scenario exports `default async function (ctx)`; ctx is described in
// newContext below. It fails when it throws, when the page throws an
// uncaught error, logs an error to the console, or gets an HTTP error (4xx,
// 5xx) or a network failure the scenario did not declare with ctx.allow.
// The last line printed is "N passed, N failed"; the exit code is 1 when a
// scenario failed or none ran.
import { mkdirSync, readdirSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { chromium } from 'playwright-core';
import { AxeBuilder } from '@axe-core/playwright';

const here = dirname(fileURLToPath(import.meta.url));
const baseURL = (process.env.RIGGER_URL ?? '').replace(/\/+$/, '');
const artifacts = resolve(process.env.ARTIFACTS || join(here, '..', '..', 'test-artifacts', 'ui'));
const executablePath = process.env.CHROMIUM || '/usr/bin/chromium';
const only = process.env.SCENARIOS ? new RegExp(process.env.SCENARIOS) : null;
const scenarioTimeout = Number(process.env.SCENARIO_TIMEOUT_MS || 120_000);

if (!baseURL) {
  console.error('run.mjs: set RIGGER_URL to the rigger under test, e.g. http://127.0.0.1:7007');
  process.exit(2);
}
mkdirSync(artifacts, { recursive: true });
console.log(`rigger: ${baseURL}\nbrowser: ${executablePath}\nscreenshots: ${artifacts}`);

// Failures the shell causes on purpose, allowed in every scenario: the
// session renewal answers 401 when there is no session cookie (rigger dev).
const alwaysAllowed = [{ status: 401, url: /\/api\/auth\/refresh$/ }];

/** An assertion failure with a readable message. */
class Failure extends Error {}

const expect = {
  /** cond must hold. */
  ok(cond, what) {
    if (!cond) throw new Failure(what);
  },
  equal(actual, expected, what) {
    if (actual !== expected) throw new Failure(`${what}: got ${JSON.stringify(actual)}, want ${JSON.stringify(expected)}`);
  },
  match(actual, re, what) {
    if (!re.test(String(actual))) throw new Failure(`${what}: ${JSON.stringify(actual)} does not match ${re}`);
  },
  /** Waits until a locator's first match is visible. */
  async visible(locator, what, timeout = 15_000) {
    try {
      await locator.first().waitFor({ state: 'visible', timeout });
    } catch {
      throw new Failure(`not visible within ${timeout} ms: ${what}`);
    }
  },
  /** Waits until no element matches the locator. */
  async hidden(locator, what, timeout = 15_000) {
    try {
      await locator.first().waitFor({ state: 'hidden', timeout });
    } catch {
      throw new Failure(`still visible after ${timeout} ms: ${what}`);
    }
  },
  /** Polls fn until it returns a truthy value. */
  async poll(fn, what, timeout = 15_000) {
    const end = Date.now() + timeout;
    for (;;) {
      const v = await fn();
      if (v) return v;
      if (Date.now() > end) throw new Failure(`not true within ${timeout} ms: ${what}`);
      await new Promise((r) => setTimeout(r, 100));
    }
  },
};

function describeRequest(r) {
  return `${r.method} ${r.url.replace(baseURL, '')} → ${r.status}`;
}

/**
 * ctx for one scenario:
 *   page, context, browser, baseURL, artifacts, expect
 *   goto(path)            navigate to baseURL + path, wait for the load
 *   openPage({width, height, colorScheme})  another page in a new context
 *                         (same error checks): a narrow window, the dark theme
 *   shot(name, page?)     screenshot → ARTIFACTS/<name>.png (full page)
 *   axe(page, name)       axe-core; fails on serious or critical violations
 *   allow({status, url, method})  declare an expected HTTP failure (url: RegExp)
 *   allowConsole(re)      declare an expected console error
 *   log(...)              a line in the output, indented under the scenario
 */
async function newContext(browser, scenario) {
  const problems = [];
  const allowed = [...alwaysAllowed];
  const consoleAllowed = [];
  const contexts = [];
  const isAllowed = (r) =>
    allowed.some((a) => (a.status === undefined || a.status === r.status) && (!a.url || a.url.test(r.url)) && (!a.method || a.method === r.method));
  const watch = (page) => {
    page.setDefaultTimeout(15_000);
    page.on('pageerror', (e) => problems.push(`uncaught error in the page: ${e.message}`));
    page.on('console', (m) => {
      if (m.type() !== 'error') return;
      const text = m.text();
      // The browser logs every HTTP error response too: those are judged below.
      if (/^Failed to load resource/.test(text)) return;
      if (consoleAllowed.some((re) => re.test(text))) return;
      problems.push(`console error: ${text}`);
    });
    page.on('response', (resp) => {
      const r = { method: resp.request().method(), url: resp.url(), status: resp.status() };
      if (r.status >= 400 && !isAllowed(r)) problems.push(`HTTP error: ${describeRequest(r)}`);
    });
    page.on('requestfailed', (req) => {
      const err = req.failure()?.errorText ?? 'failed';
      if (err.includes('ERR_ABORTED')) return; // navigations and aborted fetches (unmounts)
      const r = { method: req.method(), url: req.url(), status: 0 };
      if (!isAllowed(r)) problems.push(`request failed: ${r.method} ${r.url.replace(baseURL, '')}: ${err}`);
    });
    return page;
  };
  const openPage = async ({ width = 1280, height = 800, colorScheme = 'light' } = {}) => {
    const context = await browser.newContext({ viewport: { width, height }, colorScheme, baseURL });
    contexts.push(context);
    return watch(await context.newPage());
  };
  const page = await openPage();
  const ctx = {
    page,
    context: page.context(),
    browser,
    baseURL,
    artifacts,
    expect,
    openPage,
    async goto(path, p = page) {
      const resp = await p.goto(baseURL + path, { waitUntil: 'load' });
      return resp;
    },
    async shot(name, p = page) {
      const file = join(artifacts, `${name}.png`);
      await p.screenshot({ path: file, fullPage: true });
      ctx.log(`screenshot ${file}`);
      return file;
    },
    async axe(p, name) {
      const result = await new AxeBuilder({ page: p }).analyze();
      const bad = result.violations.filter((v) => v.impact === 'serious' || v.impact === 'critical');
      const minor = result.violations.length - bad.length;
      ctx.log(`axe ${name}: ${bad.length} serious or critical, ${minor} minor or moderate violation(s)`);
      for (const v of result.violations.filter((x) => !bad.includes(x))) {
        ctx.log(`  (${v.impact}) ${v.id}: ${v.help} — ${JSON.stringify(v.nodes[0]?.target ?? [])}`);
      }
      if (bad.length) {
        const lines = bad.map((v) => `  ${v.id} [${v.impact}] ${v.help} (${v.nodes.length} node(s); first: ${JSON.stringify(v.nodes[0]?.target ?? [])})\n    ${v.helpUrl}`);
        throw new Failure(`axe on ${name}: ${bad.length} serious or critical violation(s):\n${lines.join('\n')}`);
      }
      return result;
    },
    allow(rule) {
      allowed.push(rule);
    },
    allowConsole(re) {
      consoleAllowed.push(re);
    },
    log(...args) {
      console.log(`    ${scenario}:`, ...args);
    },
  };
  const close = async () => {
    for (const c of contexts) await c.close().catch(() => undefined);
  };
  return { ctx, problems, close };
}

function withTimeout(promise, ms, what) {
  let timer;
  return Promise.race([
    promise,
    new Promise((_, reject) => {
      timer = setTimeout(() => reject(new Failure(`${what} did not finish within ${ms} ms`)), ms);
    }),
  ]).finally(() => clearTimeout(timer));
}

const scenarioDir = join(here, 'scenarios');
const files = readdirSync(scenarioDir)
  .filter((f) => f.endsWith('.mjs'))
  .sort()
  .filter((f) => !only || only.test(f));

const browser = await chromium.launch({
  executablePath,
  headless: true,
  args: ['--headless=new', '--no-sandbox', '--disable-gpu'],
});
let passed = 0;
let failed = 0;
try {
  for (const file of files) {
    const name = file.replace(/\.mjs$/, '');
    const started = Date.now();
    const { ctx, problems, close } = await newContext(browser, name);
    let error;
    try {
      const mod = await import(pathToFileURL(join(scenarioDir, file)).href);
      if (typeof mod.default !== 'function') throw new Failure(`${file} has no default export function`);
      await withTimeout(mod.default(ctx), scenarioTimeout, name);
    } catch (e) {
      error = e;
    }
    if (error) {
      await ctx.shot(`${name}-failure`).catch(() => undefined);
    }
    // Judge what happened during the scenario, not the teardown's aborted streams.
    const found = [...problems];
    await close();
    const secs = ((Date.now() - started) / 1000).toFixed(1);
    if (!error && found.length === 0) {
      passed++;
      console.log(`ok   ${name} (${secs}s)`);
      continue;
    }
    failed++;
    console.log(`FAIL ${name} (${secs}s)`);
    if (error) console.log(`     ${error instanceof Failure ? error.message : error.stack ?? error}`.replace(/\n/g, '\n     '));
    for (const p of found) console.log(`     ${p}`);
  }
} finally {
  await browser.close();
}
if (files.length === 0) {
  console.log(only ? `no scenario matches SCENARIOS=${only}` : `no scenarios in ${scenarioDir}`);
  failed++;
}
console.log(`${passed} passed, ${failed} failed`);
process.exit(failed > 0 ? 1 : 0);

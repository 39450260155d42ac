// Turns vitest's JSON report into `go test -json` events, so `make test`
// counts the web's unit tests in the one closing line internal/testreport
// prints ("N passed, N failed, N skipped"): a failed test's messages are
// shown there, and a skipped one is listed (and fails the run under CI).
//
// usage: node scripts/vitest-events.mjs REPORT.json VITEST_EXIT_CODE
import { readFileSync } from 'node:fs';
import { relative } from 'node:path';

const [report, exitCode = '0'] = process.argv.slice(2);
const pkg = 'github.com/riggerdev/rigger/web (vitest)';
const emit = (Action, Test, Output) =>
  process.stdout.write(JSON.stringify(Output === undefined ? { Action, Package: pkg, Test } : { Action, Package: pkg, Test, Output }) + '\n');

let data;
try {
  data = JSON.parse(readFileSync(report, 'utf8'));
} catch (e) {
  emit('output', 'vitest', `vitest wrote no readable report (${e.message}); exit code ${exitCode}: see its output above\n`);
  emit(exitCode === '0' ? 'pass' : 'fail', 'vitest');
  process.exit(0);
}

let counted = 0;
for (const file of data.testResults ?? []) {
  const where = relative(process.cwd(), file.name);
  const tests = file.assertionResults ?? [];
  if (tests.length === 0 || (file.status === 'failed' && file.message)) {
    // A file that failed to load or run reports no tests, only a message.
    if (file.status === 'failed') {
      emit('output', where, `${where}: ${file.message || 'failed'}\n`);
      emit('fail', where);
      counted++;
    }
  }
  for (const t of tests) {
    const name = `${where} > ${t.fullName}`;
    counted++;
    if (t.status === 'passed') emit('pass', name);
    else if (t.status === 'failed') {
      emit('output', name, `--- FAIL: ${name}\n`);
      for (const m of t.failureMessages ?? []) emit('output', name, m.split('\n').filter((l) => !l.includes('node_modules')).slice(0, 20).join('\n') + '\n');
      emit('fail', name);
    } else {
      emit('output', name, `${t.status} in vitest\n`);
      emit('skip', name);
    }
  }
}
if (exitCode !== '0' && !(data.numFailedTests > 0 || data.numFailedTestSuites > 0)) {
  // vitest failed without a failed test (no test files, a crash, a type error in the setup).
  emit('output', 'vitest', `vitest exited with ${exitCode} (${counted} tests in its report): see its output above\n`);
  emit('fail', 'vitest');
}

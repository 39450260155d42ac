import { describe, expect, it, vi } from 'vitest';
import { conditionHolds, evaluateExpression } from './condition';

const params = {
  kind: 'service',
  count: 3,
  zero: 0,
  empty: '',
  on: true,
  off: false,
  nothing: null,
  tags: ['go', 'web'],
  repo: { host: 'github.com', owner: 'acme' },
  nested: { list: [{ name: 'first' }] },
};

describe('conditionHolds', () => {
  const table: [string, unknown, boolean][] = [
    ['absent', undefined, true],
    ['boolean true', true, true],
    ['boolean false', false, false],
    ['equality', "${{ parameters.kind == 'service' }}", true],
    ['equality false', '${{ parameters.kind == "website" }}', false],
    ['strict inequality', '${{ parameters.count !== 3 }}', false],
    ['loose number/string', "${{ parameters.count == '3' }}", true],
    ['strict number/string', "${{ parameters.count === '3' }}", false],
    ['not equal', "${{ parameters.kind != 'website' }}", true],
    ['nested path', "${{ parameters.repo.host == 'github.com' }}", true],
    ['bracket path', "${{ parameters['repo']['owner'] == 'acme' }}", true],
    ['array index', "${{ parameters.nested.list[0].name == 'first' }}", true],
    ['missing path is undefined', '${{ parameters.nope.deeper }}', false],
    ['bare truthy', '${{ parameters.on }}', true],
    ['bare false', '${{ parameters.off }}', false],
    ['zero is false', '${{ parameters.zero }}', false],
    ['empty string is false', '${{ parameters.empty }}', false],
    ['null is false', '${{ parameters.nothing }}', false],
    ['null literal', '${{ parameters.nothing == null }}', true],
    ['and words', "${{ parameters.on and parameters.kind == 'service' }}", true],
    ['and symbols', '${{ parameters.on && parameters.off }}', false],
    ['or words', '${{ parameters.off or parameters.count }}', true],
    ['or symbols', '${{ parameters.off || parameters.zero }}', false],
    ['not word', '${{ not parameters.off }}', true],
    ['bang', '${{ !parameters.on }}', false],
    ['parentheses', "${{ (parameters.off or parameters.on) and not (parameters.kind == 'x') }}", true],
    ['in array', "${{ 'go' in parameters.tags }}", true],
    ['in array false', "${{ 'rust' in parameters.tags }}", false],
    ['in string', "${{ 'serv' in parameters.kind }}", true],
    ['not in', "${{ 'rust' not in parameters.tags }}", true],
    ['number compare', '${{ parameters.count > 2 }}', true],
    ['plain non-empty string', 'yes', true],
    ['plain empty string', '', false],
    // Unparseable or hostile: shown (true), and nothing runs.
    ['syntax error shows the page', '${{ parameters.kind == }}', true],
    ['constructor call', "${{ constructor.constructor('x')() }}", true],
    ['call through parameters', "${{ parameters.kind.constructor.constructor('return 1')() }}", true],
    ['unknown global', '${{ window.alert }}', true],
  ];
  for (const [name, cond, want] of table) {
    it(name, () => {
      const warn = vi.spyOn(console, 'warn').mockImplementation(() => {});
      expect(conditionHolds(cond as string, params)).toBe(want);
      warn.mockRestore();
    });
  }

  it('warns when it cannot parse', () => {
    const warn = vi.spyOn(console, 'warn').mockImplementation(() => {});
    expect(conditionHolds('${{ parameters.a === }}', {})).toBe(true);
    expect(warn).toHaveBeenCalledTimes(1);
    warn.mockRestore();
  });

  it('never executes code in malicious strings', () => {
    const warn = vi.spyOn(console, 'warn').mockImplementation(() => {});
    const g = globalThis as unknown as { pwned?: boolean };
    delete g.pwned;
    for (const src of [
      "${{ constructor.constructor('globalThis.pwned = true')() }}",
      "${{ parameters.constructor.constructor('globalThis.pwned = true')() }}",
      "${{ parameters['constructor']['constructor']('globalThis.pwned = true')() }}",
      "${{ parameters.__proto__.polluted = 1 }}",
      '${{ `${globalThis.pwned = true}` }}',
    ]) {
      conditionHolds(src, { a: 1 });
    }
    expect(g.pwned).toBeUndefined();
    expect(({} as Record<string, unknown>).polluted).toBeUndefined();
    warn.mockRestore();
  });

  it('reads only own properties', () => {
    expect(evaluateExpression('parameters.constructor', {})).toBeUndefined();
    expect(evaluateExpression('parameters.__proto__', {})).toBeUndefined();
    expect(evaluateExpression("parameters.kind['toString']", { kind: 'x' })).toBeUndefined();
    expect(evaluateExpression('parameters.tags.length', { tags: [1, 2] })).toBe(2);
  });

  it('never throws and always answers a boolean for random input (a small fuzz)', () => {
    const warn = vi.spyOn(console, 'warn').mockImplementation(() => {});
    const parts = ['parameters', '.', 'a', '[', ']', '(', ')', "'x'", '"y"', '1', '0.5', '==', '!=', '===', '!==', '<', '>=', 'and', 'or', 'not', '&&', '||', '!', 'in', 'true', 'null', 'constructor', '__proto__', '`', '${', '}', '\\', ',', ';'];
    let seed = 42;
    const rnd = (n: number) => { seed = (seed * 1103515245 + 12345) % 2147483648; return seed % n; };
    for (let i = 0; i < 3000; i++) {
      const n = 1 + rnd(9);
      const expr = Array.from({ length: n }, () => parts[rnd(parts.length)]).join(rnd(2) ? ' ' : '');
      const got = conditionHolds('${{ ' + expr + ' }}', { a: [1, 'x'], x: { y: 1 } });
      expect(typeof got).toBe('boolean');
    }
    warn.mockRestore();
  });
});

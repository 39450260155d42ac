// The `if` of a parameters page: a boolean, or a `${{ expression }}` over
// `parameters` (the values entered so far). Expressions are parsed and
// interpreted here, never handed to eval or Function: the grammar knows
// `parameters.a.b` / `parameters["a"][0]`, string, number, boolean and null
// literals, == != === !== < <= > >=, `in`, and/or/not, && || !, and
// parentheses. Anything else is a syntax error, and a page whose condition
// cannot be parsed is shown (with a console warning) rather than silently
// hidden. Property lookups only see a value's own keys, so names such as
// `constructor` or `__proto__` read as undefined.

export type Condition = boolean | string | undefined;

type Tok =
  | { t: 'num'; v: number }
  | { t: 'str'; v: string }
  | { t: 'id'; v: string }
  | { t: 'op'; v: string };

const OPS = ['===', '!==', '==', '!=', '<=', '>=', '&&', '||', '<', '>', '!', '(', ')', '[', ']', '.'];

function tokenize(src: string): Tok[] {
  const out: Tok[] = [];
  let i = 0;
  while (i < src.length) {
    const c = src[i];
    if (/\s/.test(c)) { i++; continue; }
    if (c === '"' || c === "'") {
      let s = '';
      i++;
      for (;;) {
        if (i >= src.length) throw new SyntaxError('unterminated string');
        const d = src[i++];
        if (d === c) break;
        if (d === '\\') {
          const e = src[i++];
          s += e === 'n' ? '\n' : e === 't' ? '\t' : e ?? '';
        } else s += d;
      }
      out.push({ t: 'str', v: s });
      continue;
    }
    const num = /^(?:\d+\.?\d*|\.\d+)(?:[eE][+-]?\d+)?/.exec(src.slice(i));
    if (num && !(c === '.' && out.length && out[out.length - 1].t === 'id')) {
      out.push({ t: 'num', v: Number(num[0]) });
      i += num[0].length;
      continue;
    }
    const id = /^[A-Za-z_$][\w$]*/.exec(src.slice(i));
    if (id) {
      out.push({ t: 'id', v: id[0] });
      i += id[0].length;
      continue;
    }
    const op = OPS.find((o) => src.startsWith(o, i));
    if (!op) throw new SyntaxError(`unexpected character ${JSON.stringify(c)}`);
    out.push({ t: 'op', v: op });
    i += op.length;
  }
  return out;
}

const own = (o: unknown, k: string | number): unknown => {
  if (o === null || typeof o !== 'object') {
    if (typeof o === 'string' && (k === 'length' || typeof k === 'number')) return k === 'length' ? o.length : o[k];
    return undefined;
  }
  if (Array.isArray(o) && k === 'length') return o.length;
  return Object.prototype.hasOwnProperty.call(o, k) ? (o as Record<string | number, unknown>)[k] : undefined;
};

const isPrim = (v: unknown) => v === null || v === undefined || typeof v !== 'object';

function looseEq(a: unknown, b: unknown): boolean {
  // Loose equality only between primitives; objects compare by identity.
  // eslint-disable-next-line eqeqeq
  return isPrim(a) && isPrim(b) ? a == b : a === b;
}

function contains(hay: unknown, needle: unknown): boolean {
  if (Array.isArray(hay)) return hay.some((x) => looseEq(x, needle) || x === needle);
  if (typeof hay === 'string') return hay.includes(String(needle));
  if (hay && typeof hay === 'object' && (typeof needle === 'string' || typeof needle === 'number')) return Object.prototype.hasOwnProperty.call(hay, needle);
  return false;
}

function compare(a: unknown, b: unknown, op: string): boolean {
  if (!isPrim(a) || !isPrim(b)) return false;
  const x = a as number, y = b as number;
  switch (op) {
    case '<': return x < y;
    case '<=': return x <= y;
    case '>': return x > y;
    default: return x >= y;
  }
}

/** A tiny recursive-descent interpreter over the tokens. */
class Parser {
  private i = 0;
  constructor(private toks: Tok[], private params: unknown) {}

  run(): unknown {
    const v = this.or();
    if (this.i < this.toks.length) throw new SyntaxError(`unexpected ${this.toks[this.i].v}`);
    return v;
  }
  private peek(): Tok | undefined { return this.toks[this.i]; }
  private is(v: string): boolean {
    const t = this.peek();
    return !!t && (t.t === 'op' || t.t === 'id') && t.v === v;
  }
  private eat(v: string) {
    if (!this.is(v)) throw new SyntaxError(`expected ${v}`);
    this.i++;
  }
  private or(): unknown {
    let l = this.and();
    while (this.is('or') || this.is('||')) {
      this.i++;
      const r = this.and();
      l = truthy(l) ? l : r;
    }
    return l;
  }
  private and(): unknown {
    let l = this.not();
    while (this.is('and') || this.is('&&')) {
      this.i++;
      const r = this.not();
      l = truthy(l) ? r : l;
    }
    return l;
  }
  private not(): unknown {
    if (this.is('not') || this.is('!')) {
      this.i++;
      return !truthy(this.not());
    }
    return this.cmp();
  }
  private cmp(): unknown {
    let l = this.primary();
    for (;;) {
      const t = this.peek();
      if (!t) return l;
      if (t.t === 'op' && ['==', '!=', '===', '!==', '<', '<=', '>', '>='].includes(t.v)) {
        this.i++;
        const r = this.primary();
        switch (t.v) {
          case '==': l = looseEq(l, r); break;
          case '!=': l = !looseEq(l, r); break;
          case '===': l = l === r; break;
          case '!==': l = l !== r; break;
          default: l = compare(l, r, t.v);
        }
      } else if (t.t === 'id' && t.v === 'in') {
        this.i++;
        l = contains(this.primary(), l);
      } else if (t.t === 'id' && t.v === 'not' && this.toks[this.i + 1]?.t === 'id' && this.toks[this.i + 1].v === 'in') {
        this.i += 2;
        l = !contains(this.primary(), l);
      } else return l;
    }
  }
  private primary(): unknown {
    const t = this.peek();
    if (!t) throw new SyntaxError('unexpected end');
    this.i++;
    if (t.t === 'num' || t.t === 'str') return t.v;
    if (t.t === 'op' && t.v === '(') {
      const v = this.or();
      this.eat(')');
      return v;
    }
    if (t.t === 'id') {
      switch (t.v) {
        case 'true': case 'True': return true;
        case 'false': case 'False': return false;
        case 'null': case 'none': case 'None': return null;
        case 'undefined': return undefined;
        case 'parameters': return this.members(this.params);
      }
      throw new SyntaxError(`unknown name ${t.v}: only parameters.* may be read`);
    }
    throw new SyntaxError(`unexpected ${t.v}`);
  }
  private members(v: unknown): unknown {
    for (;;) {
      if (this.is('.')) {
        this.i++;
        const t = this.peek();
        if (!t || t.t !== 'id') throw new SyntaxError('expected a name after .');
        this.i++;
        v = own(v, t.v);
      } else if (this.is('[')) {
        this.i++;
        const k = this.or();
        this.eat(']');
        if (typeof k !== 'string' && typeof k !== 'number') throw new SyntaxError('index must be a string or number');
        v = own(v, k);
      } else if (this.is('(')) {
        throw new SyntaxError('calls are not allowed');
      } else return v;
    }
  }
}

/** JavaScript/nunjucks truthiness; an empty array is false, like nunjucks' if. */
/** JavaScript truthiness, as the server's page conditions use (an empty array is true). */
export function truthy(v: unknown): boolean {
  return !!v;
}

const TEMPLATE = /^\s*\$\{\{([\s\S]*)\}\}\s*$/;

/** Evaluates expr (the inside of `${{ }}`) over parameters; throws SyntaxError when it cannot be parsed. */
export function evaluateExpression(expr: string, parameters: Record<string, unknown>): unknown {
  return new Parser(tokenize(expr), parameters).run();
}

/**
 * Whether a page with this `if` is shown, given the values so far. An
 * absent condition shows the page; a plain string (no `${{ }}`) counts by
 * its truthiness; an expression that cannot be parsed shows the page and
 * warns on the console.
 */
export function conditionHolds(cond: Condition, parameters: Record<string, unknown>): boolean {
  if (cond === undefined || cond === null) return true;
  if (typeof cond === 'boolean') return cond;
  if (typeof cond !== 'string') return true;
  const m = TEMPLATE.exec(cond);
  if (!m) return truthy(cond.trim());
  try {
    return truthy(evaluateExpression(m[1], parameters));
  } catch (e) {
    console.warn(`rigger: cannot evaluate the page condition ${JSON.stringify(cond)} (${(e as Error).message}); showing the page`);
    return true;
  }
}

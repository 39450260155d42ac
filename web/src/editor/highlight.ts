// A small YAML highlighter for the template editor: one line at a time,
// it marks keys, strings, comments, ${{ }} expressions, list dashes and
// plain scalars (numbers, booleans, null). Good enough to read a template,
// not a YAML parser: a multi-line string's later lines are plain text.
export type TokenKind = 'key' | 'string' | 'comment' | 'expr' | 'dash' | 'number' | 'bool' | 'punct' | 'text';
export interface Token { kind: TokenKind; text: string }

const SCALAR_NUMBER = /^[-+]?(\d[\d_]*(\.\d*)?([eE][-+]?\d+)?|\.inf|\.nan|0x[0-9a-fA-F]+)$/;
const SCALAR_BOOL = /^(true|false|null|~|yes|no|on|off)$/i;

function push(out: Token[], kind: TokenKind, text: string) {
  if (!text) return;
  const last = out[out.length - 1];
  if (last && last.kind === kind && kind === 'text') last.text += text;
  else out.push({ kind, text });
}

/** Splits text (a value, not a key) into strings, expressions, comments and plain text. */
function value(out: Token[], s: string) {
  // Flow indicators only mean something in a value that starts as a flow collection.
  const flow = /^\s*[[{]/.test(s);
  let i = 0;
  let plain = '';
  const flush = () => {
    if (!plain) return;
    const m = /^(\s*)(.*?)(\s*)$/.exec(plain)!;
    push(out, 'text', m[1]);
    if (SCALAR_NUMBER.test(m[2])) push(out, 'number', m[2]);
    else if (SCALAR_BOOL.test(m[2])) push(out, 'bool', m[2]);
    else push(out, 'text', m[2]);
    push(out, 'text', m[3]);
    plain = '';
  };
  while (i < s.length) {
    const c = s[i];
    if (s.startsWith('${{', i)) {
      const end = s.indexOf('}}', i + 3);
      const stop = end < 0 ? s.length : end + 2;
      flush();
      push(out, 'expr', s.slice(i, stop));
      i = stop;
      continue;
    }
    if (c === '#' && (i === 0 || /\s/.test(s[i - 1]))) {
      flush();
      push(out, 'comment', s.slice(i));
      return;
    }
    if ((c === '"' || c === "'") && /^\s*$|[\s:[{,]$/.test(s.slice(0, i).slice(-1) || ' ')) {
      // A quoted string; expressions inside stay marked.
      let j = i + 1;
      while (j < s.length) {
        if (c === '"' && s[j] === '\\') { j += 2; continue; }
        if (s[j] === c) {
          if (c === "'" && s[j + 1] === "'") { j += 2; continue; }
          break;
        }
        j++;
      }
      const stop = Math.min(j + 1, s.length);
      flush();
      const str = s.slice(i, stop);
      let k = 0;
      for (let e = str.indexOf('${{'); e >= 0; e = str.indexOf('${{', k)) {
        push(out, 'string', str.slice(k, e));
        const end = str.indexOf('}}', e + 3);
        const st = end < 0 ? str.length : end + 2;
        push(out, 'expr', str.slice(e, st));
        k = st;
      }
      push(out, 'string', str.slice(k));
      i = stop;
      continue;
    }
    if (flow && '[]{},'.includes(c)) {
      flush();
      push(out, 'punct', c);
      i++;
      continue;
    }
    plain += c;
    i++;
  }
  flush();
}

/** The tokens of one line; their texts joined are the line. */
export function tokenizeLine(line: string): Token[] {
  const out: Token[] = [];
  let rest = line;
  const indent = /^\s*/.exec(rest)![0];
  push(out, 'text', indent);
  rest = rest.slice(indent.length);
  if (rest.startsWith('#')) { push(out, 'comment', rest); return out; }
  // List dashes, possibly several ("- - a").
  for (let m = /^-(\s+|$)/.exec(rest); m; m = /^-(\s+|$)/.exec(rest)) {
    push(out, 'dash', '-');
    push(out, 'text', m[1]);
    rest = rest.slice(m[0].length);
  }
  if (rest === '---' || rest === '...') { push(out, 'punct', rest); return out; }
  // A key: plain or quoted, up to ": " or a final ":".
  const key = /^("(?:[^"\\]|\\.)*"|'(?:[^']|'')*'|[^\s#'"{[][^#]*?)(\s*):(\s|$)/.exec(rest);
  if (key && !key[1].includes('${{')) {
    push(out, 'key', key[1]);
    push(out, 'text', key[2]);
    push(out, 'punct', ':');
    rest = rest.slice(key[0].length - key[3].length);
  }
  value(out, rest);
  return out;
}

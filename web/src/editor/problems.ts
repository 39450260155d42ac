// Where a template's problems are: YAML syntax errors found in the browser
// (the yaml package gives their line), and the server's findings from
// POST /v2/validate-template (rigger template validate, with lines).
import { LineCounter, parseDocument } from 'yaml';
import { request } from '../api';

export interface Problem {
  line: number; // 1-based; 0 = the whole file
  column: number;
  message: string;
  severity: 'error' | 'warning';
  path?: string;
  source: 'yaml' | 'server';
}

export interface Parsed { value?: unknown; problems: Problem[] }

/** Parses YAML text; a syntax error becomes a problem at its line. */
export function parseYaml(text: string): Parsed {
  const lineCounter = new LineCounter();
  const doc = parseDocument(text, { lineCounter, prettyErrors: true, uniqueKeys: true });
  const problems: Problem[] = [];
  for (const e of doc.errors) {
    const pos = e.linePos?.[0] ?? lineCounter.linePos(e.pos[0]);
    problems.push({ line: pos.line, column: pos.col, message: e.message.split('\n')[0], severity: 'error', source: 'yaml' });
  }
  for (const w of doc.warnings) {
    const pos = w.linePos?.[0] ?? lineCounter.linePos(w.pos[0]);
    problems.push({ line: pos.line, column: pos.col, message: w.message.split('\n')[0], severity: 'warning', source: 'yaml' });
  }
  if (problems.some((p) => p.severity === 'error')) return { problems };
  return { value: doc.toJS({ maxAliasCount: 100 }), problems };
}

interface ServerProblem { line: number; column: number; severity: string; path?: string; message: string }

/** The server's findings for a template text, each at its line. */
export async function validateOnServer(text: string, signal?: AbortSignal): Promise<Problem[]> {
  const r = await request<{ errors: ServerProblem[] }>('/api/scaffolder/v2/validate-template', { method: 'POST', json: { yaml: text }, signal });
  return (r.errors ?? []).map((p) => ({
    line: p.line || 0, column: p.column || 0, message: p.message, path: p.path || undefined,
    severity: p.severity === 'warning' ? 'warning' : 'error', source: 'server',
  }));
}

/** The caret offset of a 1-based line and column in text. */
export function offsetOf(text: string, line: number, column = 1): number {
  let off = 0;
  for (let l = 1; l < line; l++) {
    const nl = text.indexOf('\n', off);
    if (nl < 0) return text.length;
    off = nl + 1;
  }
  const end = text.indexOf('\n', off);
  const lineLen = (end < 0 ? text.length : end) - off;
  return off + Math.min(Math.max(column - 1, 0), lineLen);
}

// The template editor's text box: a plain <textarea> (so typing, undo,
// selection and screen readers behave as everywhere) over a highlighted
// <pre> that scrolls with it, with line numbers and problem markers in a
// gutter.
import { forwardRef, useImperativeHandle, useMemo, useRef, useState, type KeyboardEvent } from 'react';
import { tokenizeLine } from './highlight';
import { offsetOf, type Problem } from './problems';

export interface CodeEditorHandle { goto: (line: number, column?: number) => void }

/**
 * Tab and Shift+Tab on text: the new text and selection. Without a
 * selection Tab inserts two spaces; with lines selected both indent or
 * outdent every selected line by two.
 */
export function indent(text: string, start: number, end: number, out: boolean): { text: string; start: number; end: number } {
  if (start === end && !out) return { text: text.slice(0, start) + '  ' + text.slice(end), start: start + 2, end: start + 2 };
  const lineStart = text.lastIndexOf('\n', start - 1) + 1;
  const block = text.slice(lineStart, end);
  const lines = block.split('\n');
  let first = 0;
  let total = 0;
  const changed = lines.map((l, i) => {
    if (!out) { if (i === 0) first = 2; total += 2; return '  ' + l; }
    const n = l.startsWith('  ') ? 2 : l.startsWith(' ') ? 1 : 0;
    if (i === 0) first = -n;
    total -= n;
    return l.slice(n);
  });
  const next = text.slice(0, lineStart) + changed.join('\n') + text.slice(end);
  return { text: next, start: Math.max(lineStart, start + first), end: end + total };
}

interface Props {
  value: string;
  onChange: (v: string) => void;
  problems: Problem[];
  label: string;
  describedBy?: string;
}

export const CodeEditor = forwardRef<CodeEditorHandle, Props>(function CodeEditor({ value, onChange, problems, label, describedBy }, ref) {
  const ta = useRef<HTMLTextAreaElement>(null);
  const pre = useRef<HTMLPreElement>(null);
  const gutter = useRef<HTMLDivElement>(null);
  const lines = useMemo(() => value.split('\n'), [value]);
  // Tab indents; Escape, then Tab, leaves the editor (no keyboard trap).
  const [tabLeaves, setTabLeaves] = useState(false);
  const [caret, setCaret] = useState({ line: 1, column: 1 });
  const trackCaret = () => {
    const t = ta.current;
    if (!t) return;
    const before = t.value.slice(0, t.selectionStart);
    const line = before.split('\n').length;
    setCaret({ line, column: t.selectionStart - before.lastIndexOf('\n') });
  };
  const onKeyDown = (e: KeyboardEvent<HTMLTextAreaElement>) => {
    if (e.key === 'Escape') { setTabLeaves(true); return; }
    if (e.key !== 'Tab' || e.ctrlKey || e.metaKey || e.altKey || tabLeaves) { if (e.key !== 'Tab') setTabLeaves(false); return; }
    e.preventDefault();
    const t = e.currentTarget;
    // At a caret, the browser's own insertion keeps its undo history.
    if (t.selectionStart === t.selectionEnd && !e.shiftKey && typeof document.execCommand === 'function' && document.execCommand('insertText', false, '  ')) return;
    const r = indent(t.value, t.selectionStart, t.selectionEnd, e.shiftKey);
    onChange(r.text);
    requestAnimationFrame(() => { t.setSelectionRange(r.start, r.end); });
  };
  const byLine = useMemo(() => {
    const m = new Map<number, Problem[]>();
    for (const p of problems) if (p.line > 0) m.set(p.line, [...(m.get(p.line) ?? []), p]);
    return m;
  }, [problems]);
  const highlighted = useMemo(
    () => lines.map((l, i) => {
      const ps = byLine.get(i + 1);
      const cls = ps ? (ps.some((p) => p.severity === 'error') ? 'hl-line hl-error' : 'hl-line hl-warning') : 'hl-line';
      return (
        <span key={i} className={cls}>
          {tokenizeLine(l).map((t, j) => (t.kind === 'text' ? t.text : <span key={j} className={`tok-${t.kind}`}>{t.text}</span>))}
          {'\n'}
        </span>
      );
    }),
    [lines, byLine],
  );

  const sync = () => {
    const t = ta.current;
    if (!t) return;
    if (pre.current) { pre.current.scrollTop = t.scrollTop; pre.current.scrollLeft = t.scrollLeft; }
    if (gutter.current) gutter.current.scrollTop = t.scrollTop;
  };

  useImperativeHandle(ref, () => ({
    goto(line, column = 1) {
      const t = ta.current;
      if (!t) return;
      const off = offsetOf(t.value, line, column);
      t.focus();
      t.setSelectionRange(off, off);
      trackCaret();
      const lh = parseFloat(getComputedStyle(t).lineHeight) || 20;
      t.scrollTop = Math.max(0, (line - 4) * lh);
      sync();
    },
  }));

  return (
    <>
    <div className="codeeditor">
      <div className="codegutter" ref={gutter} aria-hidden="true">
        {lines.map((_, i) => {
          const ps = byLine.get(i + 1);
          const err = ps?.some((p) => p.severity === 'error');
          return (
            <div key={i} className={ps ? (err ? 'gl gl-error' : 'gl gl-warning') : 'gl'} title={ps?.map((p) => p.message).join('\n')}>
              {ps ? <span className="glmark">{err ? '✗' : '!'}</span> : null}{i + 1}
            </div>
          );
        })}
      </div>
      <div className="codearea">
        <span id="code-tab-hint" className="sr-only">Tab indents by two spaces; press Escape, then Tab, to leave the editor.</span>
        <pre className="codehl" ref={pre} aria-hidden="true"><code>{highlighted}{'\n'}</code></pre>
        <textarea
          ref={ta}
          className="codeinput"
          aria-label={label}
          aria-describedby={[describedBy, 'code-tab-hint'].filter(Boolean).join(' ')}
          aria-invalid={problems.some((p) => p.severity === 'error') || undefined}
          spellCheck={false}
          autoCapitalize="off"
          autoComplete="off"
          autoCorrect="off"
          wrap="off"
          value={value}
          onChange={(e) => onChange(e.target.value)}
          onKeyDown={onKeyDown}
          onBlur={() => setTabLeaves(false)}
          onKeyUp={trackCaret}
          onMouseUp={trackCaret}
          onSelect={trackCaret}
          onScroll={sync}
        />
      </div>
    </div>
    <p className="caretpos muted" aria-live="off">Line {caret.line}, column {caret.column} · {lines.length} lines</p>
    </>
  );
});

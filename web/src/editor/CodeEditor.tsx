// The template editor's text box: a plain <textarea> (so typing, undo,
// selection and screen readers behave as everywhere) over a highlighted
// <pre> that scrolls with it, with line numbers and problem markers in a
// gutter.
import { forwardRef, useImperativeHandle, useMemo, useRef } from 'react';
import { tokenizeLine } from './highlight';
import { offsetOf, type Problem } from './problems';

export interface CodeEditorHandle { goto: (line: number, column?: number) => void }

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
      const lh = parseFloat(getComputedStyle(t).lineHeight) || 20;
      t.scrollTop = Math.max(0, (line - 4) * lh);
      sync();
    },
  }));

  return (
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
        <pre className="codehl" ref={pre} aria-hidden="true"><code>{highlighted}{'\n'}</code></pre>
        <textarea
          ref={ta}
          className="codeinput"
          aria-label={label}
          aria-describedby={describedBy}
          aria-invalid={problems.some((p) => p.severity === 'error') || undefined}
          spellCheck={false}
          autoCapitalize="off"
          autoComplete="off"
          autoCorrect="off"
          wrap="off"
          value={value}
          onChange={(e) => onChange(e.target.value)}
          onScroll={sync}
        />
      </div>
    </div>
  );
});

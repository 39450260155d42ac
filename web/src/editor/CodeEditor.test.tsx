import { fireEvent, render, screen } from '@testing-library/react';
import { useState } from 'react';
import { CodeEditor, indent } from './CodeEditor';

describe('indent', () => {
  it('inserts two spaces at the caret', () => {
    expect(indent('ab', 1, 1, false)).toEqual({ text: 'a  b', start: 3, end: 3 });
  });
  it('indents and outdents every selected line', () => {
    const t = 'a:\n  b: 1\n  c: 2\n';
    const s = t.indexOf('b'), e = t.indexOf('2') + 1;
    const r = indent(t, s, e, false);
    expect(r.text).toBe('a:\n    b: 1\n    c: 2\n');
    expect(r.text.slice(r.start, r.end)).toBe('b: 1\n    c: 2');
    const back = indent(r.text, r.start, r.end, true);
    expect(back.text).toBe(t);
    expect(indent('x\n y', 0, 4, true).text).toBe('x\ny');
  });
});

function Harness() {
  const [v, setV] = useState('a: 1');
  return <CodeEditor value={v} onChange={setV} problems={[]} label="YAML" />;
}

describe('CodeEditor', () => {
  it('Tab indents; Escape then Tab leaves the text alone for the browser to move focus', () => {
    render(<Harness />);
    const ta = screen.getByLabelText('YAML') as HTMLTextAreaElement;
    ta.setSelectionRange(0, 0);
    expect(fireEvent.keyDown(ta, { key: 'Tab' })).toBe(false); // default prevented
    expect(ta.value).toBe('  a: 1');
    fireEvent.keyDown(ta, { key: 'Escape' });
    expect(fireEvent.keyDown(ta, { key: 'Tab' })).toBe(true); // not prevented: focus moves on
    expect(ta.value).toBe('  a: 1');
  });
});

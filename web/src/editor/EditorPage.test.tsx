import { fireEvent, render, screen, waitFor, within } from '@testing-library/react';
import userEvent from '@testing-library/user-event';
import { MemoryRouter } from 'react-router-dom';
import EditorPage, { STARTER, parameterSteps } from '../pages/EditorPage';
import { offsetOf, parseYaml } from './problems';
import { bytesToBase64, decodeText, treeRows } from './files';
import { json, stubFetch } from '../tasks/testutil';

beforeEach(() => localStorage.clear());
afterEach(() => { vi.unstubAllGlobals(); });

const b64 = (s: string) => bytesToBase64(new TextEncoder().encode(s));

describe('problems', () => {
  it('puts a YAML syntax error at its line', () => {
    const text = 'a: 1\nb:\n  c: [1, 2\nd: 3\n';
    const p = parseYaml(text);
    expect(p.value).toBeUndefined();
    expect(p.problems.length).toBeGreaterThan(0);
    expect(p.problems[0].line).toBeGreaterThanOrEqual(3);
    expect(p.problems[0].line).toBeLessThanOrEqual(4);
    expect(parseYaml('a: 1\na: 2\n').problems[0]).toMatchObject({ line: 2, severity: 'error' });
  });
  it('finds the offset of a line and column', () => {
    expect(offsetOf('ab\ncd\nef', 2, 2)).toBe(4);
    expect(offsetOf('ab\ncd', 9, 1)).toBe(5);
    expect(offsetOf('ab\ncd', 1, 99)).toBe(2);
  });
  it('decodes files and lists them as a tree', () => {
    expect(decodeText(b64('héllo ✓'))).toBe('héllo ✓');
    expect(decodeText(bytesToBase64(new Uint8Array([0, 1, 2])))).toBeUndefined();
    expect(treeRows(['b/c.txt', 'a.txt', 'b/d/e.go']).map((r) => `${r.depth}${r.dir ? 'd' : 'f'}:${r.name}`)).toEqual(['0f:a.txt', '0d:b', '1f:c.txt', '1d:d', '2f:e.go']);
  });
  it('takes the preview steps from spec.parameters', () => {
    expect(parameterSteps(parseYaml(STARTER).value).map((s) => s.title)).toEqual(['Basics']);
    expect(parameterSteps({ spec: { parameters: { title: 'One', if: '${{ x }}' } } })).toEqual([{ title: 'One', description: undefined, schema: { title: 'One', if: '${{ x }}' }, if: '${{ x }}' }]);
  });
});

function setup(validate: (yaml: string) => unknown) {
  return stubFetch({
    'GET /api/catalog/entities/by-query': () => json({ items: [], totalItems: 0, pageInfo: {} }),
    'POST /api/scaffolder/v2/validate-template': (_u, init) => json(validate(JSON.parse(String(init.body)).yaml)),
    'POST /api/scaffolder/v2/dry-run': () => json({
      status: 'completed', log: [{ body: { message: 'wrote README.md', stepId: 'write' } }],
      steps: [{ id: 'write', name: 'Write a file', action: 'fs:write', status: 'completed' }],
      output: { text: [{ title: 'Done', content: 'ok' }] },
      directoryContents: [{ path: 'README.md', base64Content: b64('# démo\n') }, { path: 'src/main.go', base64Content: b64('package main\n') }],
    }),
    'GET /api/scaffolder/v2/actions': () => json([{ id: 'fs:write', description: 'Writes a file', schema: { input: { type: 'object', required: ['path'], properties: { path: { type: 'string', description: 'Where' }, content: { type: 'string' } } } } }]),
  });
}

const gutterErrors = (c: HTMLElement) => Array.from(c.querySelectorAll('.gl-error')).map((g) => g.textContent?.replace(/\D/g, ''));

describe('EditorPage', () => {
  it('shows a YAML syntax error at its line, then the server error at its line, and moves the caret there', async () => {
    const { calls } = setup((yaml) => (yaml.includes('fs:nope')
      ? { valid: false, errors: [{ line: 21, column: 7, severity: 'error', path: 'steps[0] (id "write").action', message: 'unknown action "fs:nope"' }] }
      : { valid: true, errors: [] }));
    const { container } = render(<MemoryRouter><EditorPage /></MemoryRouter>);
    const ta = screen.getByLabelText('Template YAML') as HTMLTextAreaElement;
    await waitFor(() => expect(screen.getByText('✓ Valid template')).toBeTruthy());

    // A YAML syntax error: the browser finds it, the server is not asked.
    const before = calls.filter((c) => c.url.includes('validate-template')).length;
    fireEvent.change(ta, { target: { value: STARTER.replace('type: service', 'type: [service') } });
    await waitFor(() => expect(screen.getByText('✗ 1 error')).toBeTruthy(), { timeout: 2000 });
    const problems = screen.getByRole('list', { name: 'Problems' });
    const brokenLine = STARTER.split('\n').findIndex((l) => l.includes('type: service')) + 1;
    const lineBtn = within(problems).getAllByRole('button')[0];
    const reported = Number(lineBtn.textContent!.replace(/\D/g, ''));
    expect(reported).toBeGreaterThanOrEqual(brokenLine);
    expect(reported).toBeLessThanOrEqual(brokenLine + 1);
    expect(gutterErrors(container)).toEqual([String(reported)]);
    expect(calls.filter((c) => c.url.includes('validate-template')).length).toBe(before);

    // A server error: at the line the server says, and clicking it moves the caret.
    const withBadAction = STARTER.replace('fs:write', 'fs:nope');
    fireEvent.change(ta, { target: { value: withBadAction } });
    await waitFor(() => expect(screen.getByText(/unknown action "fs:nope"/)).toBeTruthy(), { timeout: 2000 });
    expect(gutterErrors(container)).toEqual(['21']);
    await userEvent.click(within(screen.getByRole('list', { name: 'Problems' })).getByRole('button', { name: /Line 21/ }));
    expect(document.activeElement).toBe(ta);
    expect(ta.selectionStart).toBe(offsetOf(withBadAction, 21, 7));
    expect(screen.getByText(/^Line 21, column 7/)).toBeTruthy();
    expect(withBadAction.slice(ta.selectionStart, ta.selectionStart + 15)).toBe('action: fs:nope');
  });

  it('dry-runs the template and shows the decoded files, the log and the output', async () => {
    const { calls } = setup(() => ({ valid: true, errors: [] }));
    render(<MemoryRouter><EditorPage /></MemoryRouter>);
    await waitFor(() => expect(screen.getByText('✓ Valid template')).toBeTruthy());
    await userEvent.click(screen.getByRole('tab', { name: 'Dry run' }));
    fireEvent.change(screen.getByLabelText('Values as JSON'), { target: { value: '{"name": "demo"}' } });
    await userEvent.click(screen.getByRole('button', { name: 'Run a dry run' }));
    expect((await screen.findByLabelText('Contents of README.md')).textContent).toBe('# démo\n');
    const body = JSON.parse(calls.find((c) => c.url.includes('dry-run'))!.body!);
    expect(body.template.metadata.name).toBe('my-template');
    expect(body.directoryContents).toEqual([]);
    expect(body.values).toEqual({ name: 'demo' });
    await userEvent.click(screen.getByRole('button', { name: 'main.go' }));
    expect(screen.getByLabelText('Contents of src/main.go').textContent).toBe('package main\n');
    await userEvent.click(screen.getByRole('tab', { name: /Log/ }));
    expect(screen.getByRole('log', { name: 'Dry run log' }).textContent).toContain('wrote README.md');
    await userEvent.click(screen.getByRole('tab', { name: 'Output' }));
    expect(screen.getByRole('heading', { name: 'Done' })).toBeTruthy();

    await userEvent.click(screen.getByRole('tab', { name: 'Actions' }));
    expect((await screen.findByText('— Writes a file')).closest('summary')?.textContent).toContain('fs:write');
    await userEvent.click(screen.getByText('— Writes a file'));
    const table = screen.getByRole('table', { name: 'Input of fs:write' });
    expect(within(table).getByText('path').closest('tr')?.textContent).toContain('(required)');
  });
});

describe('editor sources', () => {
  it('reads a folder: its template.yaml as the text, the other files as base64 relative to it', async () => {
    const file = (path: string, body: string | Uint8Array) => {
      const f = new File([body as BlobPart], path.split('/').pop()!);
      Object.defineProperty(f, 'webkitRelativePath', { value: path });
      return f;
    };
    const { readFolder } = await import('./files');
    const f = await readFolder([
      file('repo/tpl/template.yaml', 'kind: Template\n'),
      file('repo/tpl/skeleton/README.md', '# ${{ values.name }}\n'),
      file('repo/tpl/skeleton/bin.dat', new Uint8Array([0, 255, 1])),
      file('repo/tpl/.git/HEAD', 'ref'),
      file('repo/other/x.txt', 'x'),
    ]);
    expect(f.template).toEqual({ name: 'repo/tpl/template.yaml', text: 'kind: Template\n' });
    expect(f.files.map((x) => x.path)).toEqual(['skeleton/README.md', 'skeleton/bin.dat']);
    expect(decodeText(f.files[0].base64Content)).toBe('# ${{ values.name }}\n');
    expect(f.files[1].base64Content).toBe('AP8B');
    expect(f.skipped.sort()).toEqual(['repo/other/x.txt', 'repo/tpl/.git/HEAD']);
  });

  it('turns a catalog entity into template YAML without what the catalog added', async () => {
    const { entityYaml } = await import('../pages/EditorPage');
    const y = entityYaml({
      apiVersion: 'scaffolder.backstage.io/v1beta3', kind: 'Template',
      metadata: { name: 't', uid: 'u-1', etag: 'e-1', annotations: { a: 'b', 'backstage.io/managed-by-location': 'file:/x' } },
      spec: { type: 'service', steps: [{ name: 'N', action: 'debug:log', id: 's' }], owner: 'me' }, relations: [{ type: 'ownedBy', targetRef: 'group:default/x' }],
    });
    const back = parseYaml(y).value as Record<string, any>;
    expect(back.metadata).toEqual({ name: 't', annotations: { a: 'b' } });
    expect(back.relations).toBeUndefined();
    expect(back.kind).toBe('Template');
    expect(Object.keys(back)).toEqual(['apiVersion', 'kind', 'metadata', 'spec']);
    expect(Object.keys(back.spec)).toEqual(['owner', 'type', 'steps']);
    expect(Object.keys(back.spec.steps[0])).toEqual(['id', 'name', 'action']);
  });

  it('keeps the text in this browser and restores it', async () => {
    localStorage.clear();
    setup(() => ({ valid: true, errors: [] }));
    const first = render(<MemoryRouter><EditorPage /></MemoryRouter>);
    fireEvent.change(screen.getByLabelText('Template YAML'), { target: { value: STARTER.replace('my-template', 'kept') } });
    await waitFor(() => expect(localStorage.getItem('rigger.templateEditor.draft')).toContain('kept'), { timeout: 2000 });
    first.unmount();
    render(<MemoryRouter><EditorPage /></MemoryRouter>);
    expect((screen.getByLabelText('Template YAML') as HTMLTextAreaElement).value).toContain('name: kept');
    expect(screen.getByText(/restored from this browser/)).toBeTruthy();
    localStorage.clear();
  });
});

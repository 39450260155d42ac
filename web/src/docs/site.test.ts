import { describe, expect, test, vi } from 'vitest';
import { editUrl, pageFile, syncDocs } from './site';
import { findPage } from './DocsReader';
import { searchMkDocsIndex, sitePathOf } from './SiteSearch';
import { svgDataUrl, withStyle } from './mermaid';

const entity = { namespace: 'default', kind: 'Component', name: 'developer-docs' };

describe('edit link', () => {
  test('repo_url + edit_uri + source', () => {
    expect(editUrl({ repo_url: 'https://github.com/acme/developer-docs', edit_uri: 'edit/main/docs/' }, 'architecture.md'))
      .toBe('https://github.com/acme/developer-docs/edit/main/docs/architecture.md');
    expect(editUrl({ repo_url: 'https://github.com/acme/d/', edit_uri: 'edit/main/docs' }, 'runbooks/on-call.md'))
      .toBe('https://github.com/acme/d/edit/main/docs/runbooks/on-call.md');
  });
  test('an absolute edit_uri stands alone', () => {
    expect(editUrl({ repo_url: 'https://github.com/acme/d', edit_uri: 'https://git.example/acme/d/-/edit/main/docs/' }, 'a.md'))
      .toBe('https://git.example/acme/d/-/edit/main/docs/a.md');
  });
  test('only http(s)', () => {
    expect(editUrl({ repo_url: 'javascript:alert(1)//', edit_uri: 'x/' }, 'a.md')).toBeUndefined();
    expect(editUrl({ edit_uri: 'javascript:alert(1)//' }, 'a.md')).toBeUndefined();
    expect(editUrl({ repo_url: 'https://github.com/acme/d' }, 'a.md')).toBeUndefined();
  });
});

test('pages and their files', () => {
  expect(pageFile('')).toBe('index.html');
  expect(pageFile('guide/')).toBe('guide/index.html');
  const meta = { site_name: 's', pages: [{ path: '', source: 'index.md', title: 'Home' }, { path: 'guide/', source: 'guide.md', title: 'Guide' }] };
  expect(findPage(meta, '')?.title).toBe('Home');
  expect(findPage(meta, 'guide')?.title).toBe('Guide');
  expect(findPage(meta, 'guide/')?.title).toBe('Guide');
  expect(findPage(meta, 'guide/index.html')?.title).toBe('Guide');
  expect(findPage(meta, 'nope/')).toBeUndefined();
});

describe('sync', () => {
  const stream = (chunks: string[]) => new Response(new ReadableStream({
    start(c) { for (const x of chunks) c.enqueue(new TextEncoder().encode(x)); c.close(); },
  }), { status: 200, headers: { 'Content-Type': 'text/event-stream' } });

  test('reads log lines as they come, then finish', async () => {
    const fetchImpl = vi.fn(async () => stream(['event: log\ndata: "Building"\n\n', 'event: log\nda', 'ta: "page index.md"\n\nevent: finish\ndata: {"updated":true}\n\n']));
    const lines: string[] = [];
    const out = await syncDocs(entity, { onLog: (l) => lines.push(l), signal: new AbortController().signal, fetchImpl });
    expect(out).toEqual({ updated: true });
    expect(lines).toEqual(['Building', 'page index.md']);
    expect((fetchImpl.mock.calls[0] as unknown[])[0]).toBe('/api/techdocs/sync/default/component/developer-docs');
    expect((fetchImpl.mock.calls[0] as unknown as [string, RequestInit])[1].headers).toMatchObject({ Accept: 'text/event-stream' });
  });
  test('an error event', async () => {
    const fetchImpl = vi.fn(async () => stream(['event: error\ndata: "the docs build failed: no mkdocs.yml"\n\n']));
    expect(await syncDocs(entity, { onLog: () => {}, signal: new AbortController().signal, fetchImpl })).toEqual({ error: 'the docs build failed: no mkdocs.yml' });
  });
  test('a refusal', async () => {
    const fetchImpl = vi.fn(async () => new Response(JSON.stringify({ error: { name: 'NotFoundError', message: 'no entity' } }), { status: 404 }));
    expect(await syncDocs(entity, { onLog: () => {}, signal: new AbortController().signal, fetchImpl })).toEqual({ error: 'no entity' });
  });
});

test('site search over the MkDocs index', () => {
  const index = { docs: [
    { location: '', title: 'Home', text: 'Everything you need' },
    { location: 'runbooks/on-call/', title: 'On call', text: 'Acknowledge the page. Escalation: page the lead.' },
    { location: 'runbooks/on-call/#escalation', title: 'Escalation', text: 'page the lead' },
  ] };
  const hits = searchMkDocsIndex(index, 'escalation');
  expect(hits.map((h) => h.path)).toEqual(['runbooks/on-call/#escalation', 'runbooks/on-call/']);
  expect(searchMkDocsIndex(index, '  ')).toEqual([]);
  expect(sitePathOf({ location: '/docs/default/component/developer-docs/guide/#a' }, entity)).toBe('guide/#a');
  expect(sitePathOf({ location: '/docs/x', path: 'p/' }, entity)).toBe('p/');
});

test('mermaid SVG: rules go inside the svg, as an image URL', () => {
  const svg = withStyle('<svg id="m" xmlns="http://www.w3.org/2000/svg"><g/></svg>', '#m .node{fill:red} a > b {}');
  expect(svg).toBe('<svg id="m" xmlns="http://www.w3.org/2000/svg"><style><![CDATA[#m .node{fill:red} a > b {}]]></style><g/></svg>');
  expect(withStyle('<svg><g/></svg>', 'x]]><script>{}')).toBe('<svg><style><![CDATA[x<script>{}]]></style><g/></svg>');
  // The stand-ins used while mermaid rendered are undone.
  expect(withStyle('<svg><rigger-mermaid-style></rigger-mermaid-style><g data-rigger-style="fill: red"/></svg>', ''))
    .toBe('<svg><g style="fill: red"/></svg>');
  expect(svgDataUrl('<svg>#</svg>')).toBe('data:image/svg+xml;charset=utf-8,%3Csvg%3E%23%3C%2Fsvg%3E');
});

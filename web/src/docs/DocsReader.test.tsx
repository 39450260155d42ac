import { screen, waitFor, within } from '@testing-library/react';
import userEvent from '@testing-library/user-event';
import { afterEach, expect, test, vi } from 'vitest';
import { renderAt, stubFetch } from '../catalog/testing';
import DocsPage from '../pages/DocsPage';

const meta = {
  site_name: 'Acme developer docs',
  repo_url: 'https://github.com/acme/developer-docs',
  edit_uri: 'edit/main/docs/',
  nav: [
    { title: 'Home' },
    { title: 'Architecture', path: 'architecture/' },
    { title: 'Runbooks', children: [{ title: 'On call', path: 'runbooks/on-call/' }] },
    { title: 'Status page', url: 'https://status.example.com/' },
  ],
  pages: [
    { path: '', source: 'index.md', title: 'Home', toc: [{ level: 1, id: 'home', title: 'Home' }] },
    { path: 'architecture/', source: 'architecture.md', title: 'Architecture', toc: [{ level: 1, id: 'architecture', title: 'Architecture' }, { level: 2, id: 'data-stores', title: 'Data stores' }] },
    { path: 'runbooks/on-call/', source: 'runbooks/on-call.md', title: 'On call', toc: [] },
  ],
};
const pages: Record<string, string> = {
  'index.html': '<html><body><article><h1 id="home">Home</h1><p>See <a href="architecture/">Architecture</a>.</p><script>window.ran = 1</script></article></body></html>',
  'architecture/index.html': '<html><body><article><h1 id="architecture">Architecture</h1><p><img src="../img/x.png" alt="X" onerror="window.ran = 2"></p><h2 id="data-stores">Data stores</h2></article></body></html>',
};

function docsServer(opts: { build?: object; metaStatus?: number } = {}) {
  const base = '/api/techdocs/static/docs/default/component/developer-docs/';
  const json = stubFetch((c) => {
    const p = c.url.pathname;
    if (p === '/api/techdocs/metadata/techdocs/default/component/developer-docs') {
      return opts.metaStatus ? { status: opts.metaStatus, body: { error: { name: 'NotFoundError', message: 'not built yet' } } } : { body: meta };
    }
    if (p === '/api/techdocs/build/default/component/developer-docs') return { body: opts.build ?? { status: 'ok', log: [] } };
    return undefined;
  });
  const inner = json.spy.getMockImplementation()!;
  json.spy.mockImplementation(async (input: RequestInfo | URL, init?: RequestInit) => {
    const url = new URL(String(input), 'http://rigger.test');
    if (url.pathname.startsWith(base)) {
      const html = pages[decodeURIComponent(url.pathname.slice(base.length))];
      return html ? new Response(html, { status: 200, headers: { 'Content-Type': 'text/html' } }) : new Response('{}', { status: 404 });
    }
    if (url.pathname === '/api/techdocs/sync/default/component/developer-docs') {
      return new Response('event: log\ndata: "Building the docs"\n\nevent: finish\ndata: {"updated":false}\n\n', { status: 200, headers: { 'Content-Type': 'text/event-stream' } });
    }
    return inner(input, init);
  });
  return json;
}

const routes = [{ path: '/docs/:namespace/:kind/:name/*', element: <DocsPage /> }];

// jsdom has no scrolling.
window.scrollTo = (() => undefined) as typeof window.scrollTo;
afterEach(() => vi.restoreAllMocks());

test('the reader shows the nav, the page without its script, and links that stay in the app', async () => {
  docsServer();
  renderAt('/docs/default/component/developer-docs/', routes);
  const nav = await screen.findByRole('navigation', { name: 'Site navigation' });
  expect(within(nav).getByRole('link', { name: 'Home' }).getAttribute('aria-current')).toBe('page');
  expect(within(nav).getByText('Runbooks')).toBeTruthy();
  expect(within(nav).getByRole('link', { name: /Status page/ }).getAttribute('rel')).toBe('noopener noreferrer');
  expect(await screen.findByRole('heading', { name: 'Home', level: 1 })).toBeTruthy();
  expect(document.querySelector('.docs-article script')).toBeNull();
  expect((window as unknown as { ran?: number }).ran).toBeUndefined();
  expect(screen.getByRole('link', { name: /Edit this page/ }).getAttribute('href')).toBe('https://github.com/acme/developer-docs/edit/main/docs/index.md');

  await userEvent.click(within(document.querySelector('.docs-article') as HTMLElement).getByRole('link', { name: 'Architecture' }));
  expect(await screen.findByRole('heading', { name: 'Architecture', level: 1 })).toBeTruthy();
  expect(screen.getByTestId('location').textContent).toBe('/docs/default/component/developer-docs/architecture/');
  const img = screen.getByRole('img', { name: 'X' });
  expect(img.getAttribute('src')).toBe('/api/techdocs/static/docs/default/component/developer-docs/img/x.png');
  expect(img.hasAttribute('onerror')).toBe(false);
  const toc = screen.getByRole('navigation', { name: 'On this page' });
  expect(within(toc).getByRole('link', { name: 'Data stores' }).getAttribute('href')).toBe('/docs/default/component/developer-docs/architecture/#data-stores');
});

test('a failed last build is a warning above the last good site', async () => {
  docsServer({ build: { status: 'failed', lastError: 'mkdocs.yml: nav names missing.md', builtAt: '2026-12-04T10:00:00Z', log: [] } });
  renderAt('/docs/default/component/developer-docs/', routes);
  const alert = await screen.findByRole('alert');
  expect(alert.textContent).toContain('The last docs build failed');
  expect(alert.textContent).toContain('mkdocs.yml: nav names missing.md');
  expect(await screen.findByRole('heading', { name: 'Home', level: 1 })).toBeTruthy();
});

test('docs never built: the sync log shows, not a bare 404', async () => {
  docsServer({ metaStatus: 404 });
  renderAt('/docs/default/component/developer-docs/', routes);
  expect(await screen.findByRole('heading', { name: 'Docs not built yet' })).toBeTruthy();
  await waitFor(() => expect(screen.getByRole('log', { name: 'Build log' }).textContent).toContain('Building the docs'));
});

test('a page the site does not have', async () => {
  docsServer();
  renderAt('/docs/default/component/developer-docs/nope/', routes);
  expect(await screen.findByRole('heading', { name: 'No page “nope/” in these docs' })).toBeTruthy();
});

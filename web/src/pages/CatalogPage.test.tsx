import { afterEach, describe, expect, it, vi } from 'vitest';
import { fireEvent, screen, waitFor, within } from '@testing-library/react';
import userEvent from '@testing-library/user-event';
import { CatalogPage } from './CatalogPage';
import { renderAt, stubFetch, type Call } from '../catalog/testing';

const component = (name: string, extra: Record<string, any> = {}) => ({
  apiVersion: 'backstage.io/v1alpha1',
  kind: 'Component',
  metadata: { name, namespace: 'default', description: `The ${name}`, tags: ['go'], ...(extra.metadata ?? {}) },
  spec: { type: 'service', lifecycle: 'production', owner: 'payments-team', system: 'payments', ...(extra.spec ?? {}) },
});

const facets = {
  facets: {
    'relations.ownedBy': [{ value: 'group:default/payments-team', count: 2 }, { value: 'group:default/web-team', count: 1 }],
    'spec.type': [{ value: 'service', count: 2 }, { value: 'website', count: 1 }],
    'spec.lifecycle': [{ value: 'production', count: 3 }],
    'metadata.tags': [{ value: 'go', count: 2 }],
    'metadata.namespace': [{ value: 'default', count: 3 }],
  },
};
const kinds = { facets: { kind: [{ value: 'API', count: 4 }, { value: 'Component', count: 3 }, { value: 'Group', count: 2 }] } };

/** The server: facets, and by-query pages keyed by cursor (first page: no cursor). */
function server(pages: Record<string, { items: any[]; next?: string; prev?: string; total?: number }> = {}) {
  return (c: Call) => {
    if (c.url.pathname === '/api/catalog/entity-facets') {
      const want = c.url.searchParams.getAll('facet');
      const all: Record<string, any> = { ...kinds.facets, ...facets.facets };
      return { body: { facets: Object.fromEntries(want.map((k) => [k, all[k] ?? []])) } };
    }
    if (c.url.pathname === '/api/catalog/entities/by-query') {
      const p = pages[c.url.searchParams.get('cursor') ?? ''] ?? { items: [component('payments-service'), component('web-shop', { spec: { type: 'website', owner: 'web-team' } })] };
      return { body: { items: p.items, totalItems: p.total ?? p.items.length, pageInfo: { nextCursor: p.next, prevCursor: p.prev } } };
    }
    return undefined;
  };
}

const loc = () => new URL(screen.getByTestId('location').textContent!, 'http://x');
const route = [{ path: '/catalog', element: <CatalogPage /> }];

afterEach(() => {
  vi.restoreAllMocks();
  localStorage.clear();
});

describe('CatalogPage', () => {
  it('asks by-query for components by name with only the fields it shows, and lists them with facet counts', async () => {
    const f = stubFetch(server());
    renderAt('/catalog', route);
    expect(await screen.findByRole('link', { name: 'payments-service' })).toHaveProperty('pathname', '/catalog/default/component/payments-service');
    const q = f.last('/api/catalog/entities/by-query')!.url.searchParams;
    expect(q.getAll('filter')).toEqual(['kind=component']);
    expect(q.get('orderField')).toBe('metadata.name,asc');
    expect(q.get('limit')).toBe('25');
    expect(q.getAll('fields')).toContain('spec.owner');
    expect(q.getAll('fields')).not.toContain('spec.definition');
    expect(screen.getByRole('heading', { name: '2 components' })).toBeTruthy();
    const row = screen.getByRole('link', { name: 'web-shop' }).closest('tr')!;
    expect(within(row).getByRole('link', { name: 'web-team' }).getAttribute('href')).toBe('/catalog/default/group/web-team');
    expect(within(row).getByText('website')).toBeTruthy();
    await waitFor(() => expect(screen.getByRole('option', { name: 'service (2)' })).toBeTruthy());
    expect(screen.getByRole('option', { name: 'payments-team (2)' })).toBeTruthy();
    expect(f.last('/api/catalog/entity-facets')).toBeTruthy();
  });

  it('puts a chosen filter in the URL and in the by-query filter, and the back button undoes it', async () => {
    const f = stubFetch(server());
    renderAt('/catalog', route);
    await screen.findByRole('option', { name: 'service (2)' });
    fireEvent.change(screen.getByLabelText('Type'), { target: { value: 'service' } });
    await waitFor(() => expect(loc().searchParams.get('type')).toBe('service'));
    await waitFor(() => expect(f.last('/api/catalog/entities/by-query')!.url.searchParams.getAll('filter')).toEqual(['kind=component,spec.type=service']));
    fireEvent.change(screen.getByLabelText('Owner'), { target: { value: 'group:default/web-team' } });
    await waitFor(() => expect(f.last('/api/catalog/entities/by-query')!.url.searchParams.getAll('filter'))
      .toEqual(['kind=component,spec.type=service,relations.ownedBy=group:default/web-team']));
    expect(loc().searchParams.get('owner')).toBe('group:default/web-team');
  });

  it('filters by text after typing settles and honours the header search (?text=)', async () => {
    const f = stubFetch(server());
    renderAt('/catalog?text=pay', route);
    await screen.findByRole('link', { name: 'payments-service' });
    expect(f.last('/api/catalog/entities/by-query')!.url.searchParams.get('fullTextFilterTerm')).toBe('pay');
    const box = screen.getByLabelText('Search components') as HTMLInputElement;
    expect(box.value).toBe('pay');
    await userEvent.clear(box);
    await userEvent.type(box, 'web');
    await waitFor(() => expect(loc().searchParams.get('text')).toBe('web'));
    await waitFor(() => expect(f.last('/api/catalog/entities/by-query')!.url.searchParams.get('fullTextFilterTerm')).toBe('web'));
    // Every keystroke did not become a request: the box is debounced.
    const texts = f.calls.filter((c) => c.url.pathname === '/api/catalog/entities/by-query').map((c) => c.url.searchParams.get('fullTextFilterTerm'));
    expect(texts).not.toContain('w');
  });

  it('pages with the cursors by-query returns, and changes page size', async () => {
    const f = stubFetch(server({
      '': { items: [component('a-one')], next: 'CUR2', total: 2 },
      CUR2: { items: [component('b-two')], prev: 'CUR1', total: 2 },
      CUR1: { items: [component('a-one')], next: 'CUR2', total: 2 },
    }));
    renderAt('/catalog?type=service', route);
    await screen.findByRole('link', { name: 'a-one' });
    expect(screen.getByRole('button', { name: '← Previous' })).toHaveProperty('disabled', true);
    await userEvent.click(screen.getByRole('button', { name: 'Next →' }));
    await screen.findByRole('link', { name: 'b-two' });
    expect(loc().searchParams.get('cursor')).toBe('CUR2');
    expect(loc().searchParams.get('type')).toBe('service');
    const q = f.last('/api/catalog/entities/by-query')!.url.searchParams;
    expect(q.get('cursor')).toBe('CUR2');
    expect(q.getAll('filter')).toEqual([]); // the cursor carries the filter
    await userEvent.click(screen.getByRole('button', { name: '← Previous' }));
    await screen.findByRole('link', { name: 'a-one' });
    expect(loc().searchParams.get('cursor')).toBe('CUR1');
    fireEvent.change(screen.getByLabelText('Per page'), { target: { value: '50' } });
    await waitFor(() => expect(loc().searchParams.get('limit')).toBe('50'));
    expect(loc().searchParams.get('cursor')).toBeNull(); // a new page size starts again
    await waitFor(() => expect(f.last('/api/catalog/entities/by-query')!.url.searchParams.get('limit')).toBe('50'));
  });

  it('"Owned by me" filters by every ownership ref of the session', async () => {
    const user = { ref: 'user:default/alice', ent: ['user:default/alice', 'group:default/payments-team'] };
    const f = stubFetch(server(), user);
    renderAt('/catalog', route);
    await screen.findByRole('link', { name: 'payments-service' });
    await userEvent.click(screen.getByRole('checkbox', { name: 'Owned by me' }));
    await waitFor(() => expect(f.last('/api/catalog/entities/by-query')!.url.searchParams.getAll('filter'))
      .toEqual(['kind=component,relations.ownedBy=user:default/alice,relations.ownedBy=group:default/payments-team']));
    expect(loc().searchParams.get('mine')).toBe('1');
  });

  it('stars a row (aria-pressed, kept in localStorage) and filters by the starred ones', async () => {
    const f = stubFetch(server());
    renderAt('/catalog', route);
    await screen.findByRole('link', { name: 'web-shop' });
    const star = screen.getByRole('button', { name: 'Star web-shop' });
    expect(star.getAttribute('aria-pressed')).toBe('false');
    await userEvent.click(star);
    expect(star.getAttribute('aria-pressed')).toBe('true');
    expect(JSON.parse(localStorage.getItem('rigger.catalog.starred')!)).toEqual(['component:default/web-shop']);
    await userEvent.click(screen.getByRole('checkbox', { name: 'Starred' }));
    await waitFor(() => expect(f.last('/api/catalog/entities/by-query')!.url.searchParams.getAll('filter'))
      .toEqual(['kind=component,metadata.namespace=default,metadata.name=web-shop']));
    expect(loc().searchParams.get('starred')).toBe('1');
  });

  it('switches kind with the kinds the catalog has, and shows that kind\'s columns', async () => {
    const f = stubFetch((c) => {
      if (c.url.pathname === '/api/catalog/entities/by-query' && c.url.searchParams.get('filter') === 'kind=group') {
        return { body: { items: [{ kind: 'Group', metadata: { name: 'web-team', namespace: 'default' }, spec: { type: 'team', parent: 'engineering' } }], totalItems: 1, pageInfo: {} } };
      }
      if (c.url.pathname === '/api/catalog/entity-facets' && c.url.searchParams.get('facet') === 'relations.memberOf') {
        expect(c.url.searchParams.get('filter')).toBe('kind=user');
        return { body: { facets: { 'relations.memberOf': [{ value: 'group:default/web-team', count: 2 }, { value: 'group:default/other', count: 7 }] } } };
      }
      return server()(c);
    });
    renderAt('/catalog', route);
    await screen.findByRole('option', { name: 'Group (2)' });
    fireEvent.change(screen.getByLabelText('Kind'), { target: { value: 'group' } });
    await screen.findByRole('link', { name: 'web-team' });
    expect(loc().searchParams.get('kind')).toBe('group');
    expect(screen.getByRole('columnheader', { name: 'Members' })).toBeTruthy();
    expect(screen.getByRole('link', { name: 'engineering' }).getAttribute('href')).toBe('/catalog/default/group/engineering');
    expect(await screen.findByRole('cell', { name: '2' })).toBeTruthy();
    expect(f.last('/api/catalog/entities/by-query')!.url.searchParams.getAll('fields')).not.toContain('relations');
    const typeFacet = f.calls.filter((c) => c.url.pathname === '/api/catalog/entity-facets' && c.url.searchParams.get('facet') === 'spec.type').pop()!;
    expect(typeFacet.url.searchParams.get('filter')).toBe('kind=group');
  });

  it('shows the server\'s error and request id', async () => {
    stubFetch((c) => (c.url.pathname === '/api/catalog/entities/by-query'
      ? { status: 400, body: { error: { name: 'InputError', message: 'malformed cursor' } }, requestId: 'abc-123' }
      : server()(c)));
    renderAt('/catalog?cursor=bad', route);
    const alert = await screen.findByRole('alert');
    expect(alert.textContent).toContain('malformed cursor');
    expect(alert.textContent).toContain('abc-123');
  });

  it('says so when nothing matches', async () => {
    stubFetch(server({ '': { items: [] } }));
    renderAt('/catalog?lifecycle=retired', route);
    expect(await screen.findByText('No components match these filters.')).toBeTruthy();
  });
});

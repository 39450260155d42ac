import { describe, expect, it, vi } from 'vitest';
import { render, screen, within } from '@testing-library/react';
import userEvent from '@testing-library/user-event';
import { MemoryRouter, Route, Routes, useLocation } from 'react-router-dom';
import { CreatePage } from './CreatePage';

function tpl(name: string, title: string, type: string, tags: string[], owner = 'group:default/platform') {
  return {
    apiVersion: 'scaffolder.backstage.io/v1beta3', kind: 'Template',
    metadata: { name, namespace: 'default', title, description: `${title} description`, tags },
    spec: { type, owner }, relations: [{ type: 'ownedBy', targetRef: owner }],
  };
}
const ITEMS = [tpl('go-service', 'Go service', 'service', ['go', 'recommended']), tpl('docs-site', 'Docs site', 'documentation', ['docs']), tpl('web', 'Web app', 'website', ['web', 'recommended'], 'group:default/team-a')];

function Where() {
  const l = useLocation();
  return <output data-testid="where">{l.pathname + l.search}</output>;
}

function renderAt(url: string, items: unknown[] = ITEMS, status = 200) {
  const calls: string[] = [];
  vi.stubGlobal('fetch', vi.fn(async (input: string) => {
    calls.push(input);
    if (status !== 200) return new Response(JSON.stringify({ error: { name: 'ForbiddenError', message: 'not allowed' } }), { status, headers: { 'X-Request-Id': 'rq-1' } });
    return new Response(JSON.stringify({ items, totalItems: items.length, pageInfo: {} }), { status: 200 });
  }));
  render(
    <MemoryRouter initialEntries={[url]}>
      <Routes><Route path="*" element={<><CreatePage /><Where /></>} /></Routes>
    </MemoryRouter>,
  );
  return calls;
}

const cards = () => screen.queryAllByRole('heading', { level: 2 }).map((h) => h.textContent);

describe('CreatePage', () => {
  it('lists templates as cards with owner, type, tags and a Choose link', async () => {
    const calls = renderAt('/create');
    expect(await screen.findByRole('heading', { name: 'Go service' })).toBeTruthy();
    expect(calls[0]).toContain('filter=kind=template');
    const card = screen.getByRole('heading', { name: 'Web app' }).closest('li')!;
    expect(within(card).getByRole('link', { name: 'team-a' }).getAttribute('href')).toBe('/catalog/default/group/team-a');
    expect(within(card).getByRole('link', { name: 'Choose Web app' }).getAttribute('href')).toBe('/create/templates/default/web');
    expect(within(card).getByText('website')).toBeTruthy();
    expect(screen.getByRole('link', { name: 'Template editor' }).getAttribute('href')).toBe('/create/edit');
  });

  it('filters by tag, type and text, and keeps the filters in the URL', async () => {
    renderAt('/create?tag=recommended');
    await screen.findByRole('heading', { name: 'Go service' });
    expect(cards()).toEqual(['Go service', 'Web app']);
    await userEvent.selectOptions(screen.getByLabelText('Type'), 'website');
    expect(cards()).toEqual(['Web app']);
    expect(screen.getByTestId('where').textContent).toBe('/create?tag=recommended&type=website');
    await userEvent.click(screen.getByRole('button', { name: 'Clear filters' }));
    await userEvent.type(screen.getByLabelText('Search templates'), 'docs');
    expect(await screen.findByText('1 of 3 templates')).toBeTruthy();
    expect(cards()).toEqual(['Docs site']);
    expect(screen.getByTestId('where').textContent).toBe('/create?q=docs');
  });

  it('links an owner written as a bare name to the group', async () => {
    const bare = { ...tpl('x', 'Bare owner', 'service', []), relations: undefined, spec: { type: 'service', owner: 'team-b' } };
    renderAt('/create', [bare]);
    const card = (await screen.findByRole('heading', { name: 'Bare owner' })).closest('li')!;
    expect(within(card).getByRole('link', { name: 'team-b' }).getAttribute('href')).toBe('/catalog/default/group/team-b');
  });

  it('has empty and error states', async () => {
    renderAt('/create', []);
    expect(await screen.findByText(/No templates yet/)).toBeTruthy();
  });

  it('shows the server error with its request id', async () => {
    renderAt('/create', [], 403);
    expect(await screen.findByText('Could not load the templates')).toBeTruthy();
    expect(screen.getByText('rq-1')).toBeTruthy();
  });
});

import { beforeEach, describe, expect, it, vi } from 'vitest';
import { fireEvent, render, screen, waitFor } from '@testing-library/react';
import userEvent from '@testing-library/user-event';
import { TemplateForm, type ParameterStep } from '../form/TemplateForm';

const session = vi.hoisted(() => ({ user: undefined as undefined | { ref: string; ent?: string[] } }));
vi.mock('../session', () => ({ useSession: () => ({ loading: false, dev: false, user: session.user, signOut: async () => {} }) }));

interface Call { url: URL }
let calls: Call[] = [];

function entity(kind: string, name: string, title?: string) {
  return { apiVersion: 'backstage.io/v1alpha1', kind, metadata: { name, namespace: 'default', title } };
}

const CATALOG = [
  entity('Component', 'abc-service', 'ABC service'),
  entity('Component', 'abd-web'),
  entity('Group', 'team-a', 'Team A'),
  entity('User', 'ann'),
];

/** A fake by-query: full-text over names, pages of `limit`, a cursor for the rest. */
function stubServer(extra?: (u: URL) => unknown) {
  calls = [];
  vi.stubGlobal('fetch', vi.fn(async (input: string) => {
    const url = new URL(input, 'http://ui.test');
    calls.push({ url });
    const custom = extra?.(url);
    if (custom !== undefined) return new Response(JSON.stringify(custom), { status: 200 });
    if (url.pathname === '/api/catalog/entities/by-query') {
      const cursor = url.searchParams.get('cursor');
      const term = (url.searchParams.get('fullTextFilterTerm') ?? '').toLowerCase();
      const kinds = url.searchParams.getAll('filter').flatMap((f) => f.split(',').filter((p) => p.startsWith('kind=')).map((p) => p.slice(5).toLowerCase()));
      let items = CATALOG.filter((e) => e.metadata.name.includes(term) && (!kinds.length || kinds.includes(e.kind.toLowerCase())));
      if (cursor === 'page2') items = [entity('Component', 'abz-more')];
      return new Response(JSON.stringify({ items, totalItems: items.length, pageInfo: {} }), { status: 200 });
    }
    return new Response(JSON.stringify({ error: { name: 'NotFoundError', message: 'no' } }), { status: 404 });
  }));
}

function oneField(name: string, prop: Record<string, unknown>, required = false): ParameterStep[] {
  return [{ title: 'Page', schema: { type: 'object', required: required ? [name] : [], properties: { [name]: prop } } as never }];
}

async function submitted(onSubmit: ReturnType<typeof vi.fn>) {
  await userEvent.click(screen.getByRole('button', { name: 'Next' }));
  await userEvent.click(await screen.findByRole('button', { name: 'Create' }));
  await waitFor(() => expect(onSubmit).toHaveBeenCalled());
  return onSubmit.mock.calls[0][0] as Record<string, unknown>;
}

const searchCalls = () => calls.filter((c) => c.url.pathname === '/api/catalog/entities/by-query');
const terms = () => searchCalls().map((c) => c.url.searchParams.get('fullTextFilterTerm'));

beforeEach(() => {
  localStorage.clear();
  session.user = undefined;
  stubServer();
});

describe('EntityPicker', () => {
  it('queries the server as you type, debounced, and stores the picked ref', async () => {
    const onSubmit = vi.fn();
    render(<TemplateForm steps={oneField('entity', { type: 'string', title: 'Entity', 'ui:field': 'EntityPicker', 'ui:options': { catalogFilter: { kind: 'Component' } } })} onSubmit={onSubmit} />);
    const input = screen.getByRole('combobox', { name: /Entity/ });
    expect(input.getAttribute('aria-expanded')).toBe('false');
    await userEvent.type(input, 'abc');
    expect(input.getAttribute('aria-expanded')).toBe('true');
    // One request for the settled term, none per keystroke.
    await waitFor(() => expect(terms()).toContain('abc'));
    expect(terms()).not.toContain('a');
    expect(terms()).not.toContain('ab');
    await waitFor(() => expect(screen.queryByRole('option', { name: /abd-web/ })).toBeNull());
    await screen.findByRole('option', { name: /ABC service/ });
    const last = searchCalls().at(-1)!.url.searchParams;
    expect(last.getAll('filter')).toEqual(['kind=Component']);
    expect(last.get('limit')).toBe('20');
    expect(last.get('fields')).toBe('kind,metadata.name,metadata.namespace,metadata.title');
    // ARIA: listbox controlled, active descendant follows the arrow keys.
    const listbox = document.getElementById(input.getAttribute('aria-controls')!)!;
    expect(listbox.getAttribute('role')).toBe('listbox');
    await userEvent.keyboard('{ArrowDown}');
    const active = input.getAttribute('aria-activedescendant')!;
    expect(document.getElementById(active)?.textContent).toContain('ABC service');
    await userEvent.keyboard('{Enter}');
    expect((input as HTMLInputElement).value).toBe('component:default/abc-service');
    expect(input.getAttribute('aria-expanded')).toBe('false');
    expect(await submitted(onSubmit)).toEqual({ entity: 'component:default/abc-service' });
  });

  it('Enter never picks a result of an older term', async () => {
    let release: () => void = () => {};
    const gate = new Promise<void>((r) => { release = r; });
    stubServer();
    const plain = globalThis.fetch as unknown as (i: string) => Promise<Response>;
    vi.stubGlobal('fetch', vi.fn(async (input: string) => {
      // Answers for a term are held back until released.
      if (new URL(input, 'http://ui.test').searchParams.get('fullTextFilterTerm')) await gate;
      return plain(input);
    }));
    const onSubmit = vi.fn();
    render(<TemplateForm steps={oneField('entity', { type: 'string', title: 'Entity', 'ui:field': 'EntityPicker' })} onSubmit={onSubmit} />);
    const input = screen.getByRole('combobox', { name: /Entity/ });
    await userEvent.click(input);
    await screen.findByRole('option', { name: /ABC service/ });
    await userEvent.type(input, 'team');
    expect(screen.queryByRole('option')).toBeNull();
    await userEvent.keyboard('{ArrowDown}{Enter}');
    expect((input as HTMLInputElement).value).toBe('team');
    release();
    await userEvent.keyboard('{ArrowDown}');
    await screen.findByRole('option', { name: /Team A/ });
  });

  it('Escape closes the list; arbitrary values get the default kind and namespace', async () => {
    const onSubmit = vi.fn();
    render(<TemplateForm steps={oneField('entity', { type: 'string', title: 'Entity', 'ui:field': 'EntityPicker', 'ui:options': { defaultKind: 'System', defaultNamespace: 'ops' } })} onSubmit={onSubmit} />);
    const input = screen.getByRole('combobox', { name: /Entity/ });
    await userEvent.type(input, 'payments');
    expect(input.getAttribute('aria-expanded')).toBe('true');
    await userEvent.keyboard('{Escape}');
    expect(input.getAttribute('aria-expanded')).toBe('false');
    // defaultKind alone filters the search.
    expect(searchCalls().at(-1)!.url.searchParams.getAll('filter')).toEqual(['kind=System']);
    await userEvent.tab();
    expect((input as HTMLInputElement).value).toBe('system:ops/payments');
    expect(await submitted(onSubmit)).toEqual({ entity: 'system:ops/payments' });
  });

  it('allowArbitraryValues: false keeps only picked values', async () => {
    const onSubmit = vi.fn();
    render(<TemplateForm steps={oneField('entity', { type: 'string', title: 'Entity', 'ui:field': 'EntityPicker', 'ui:options': { allowArbitraryValues: false } }, true)} onSubmit={onSubmit} />);
    const input = screen.getByRole('combobox', { name: /Entity/ });
    await userEvent.type(input, 'nothing-like-this');
    await userEvent.tab();
    expect((input as HTMLInputElement).value).toBe('');
    await userEvent.click(screen.getByRole('button', { name: 'Next' }));
    expect(await screen.findByText(/is required/)).toBeTruthy();
    expect(onSubmit).not.toHaveBeenCalled();
  });

  it('an array catalogFilter becomes one filter param per object, asked without a total; More follows the cursor', async () => {
    stubServer((u) => {
      if (u.pathname === '/api/catalog/entities/by-query' && !u.searchParams.get('cursor')) {
        return { items: [entity('Component', 'abc-service')], totalItems: 2, pageInfo: { nextCursor: 'page2' } };
      }
      return undefined;
    });
    render(<TemplateForm steps={oneField('entity', { type: 'string', title: 'Entity', 'ui:field': 'EntityPicker', 'ui:options': { catalogFilter: [{ kind: 'Component', 'spec.type': ['service', 'website'] }, { kind: 'API' }] } })} onSubmit={vi.fn()} />);
    const input = screen.getByRole('combobox', { name: /Entity/ });
    await userEvent.click(input);
    await screen.findByRole('option', { name: /abc-service/ });
    expect(searchCalls()[0].url.searchParams.getAll('filter')).toEqual(['kind=Component,spec.type=service,spec.type=website', 'kind=API']);
    // Pickers show no count: the server is told not to make one.
    expect(searchCalls()[0].url.searchParams.get('totalItems')).toBe('exclude');
    fireEvent.mouseDown(screen.getByRole('button', { name: 'More results' }));
    await screen.findByRole('option', { name: /abz-more/ });
    expect(searchCalls().at(-1)!.url.searchParams.get('cursor')).toBe('page2');
    expect(screen.getAllByRole('option')).toHaveLength(2);
  });
});

describe('OwnerPicker', () => {
  it('offers groups and users by default and stores a ref', async () => {
    const onSubmit = vi.fn();
    render(<TemplateForm steps={oneField('owner', { type: 'string', title: 'Owner', 'ui:field': 'OwnerPicker' })} onSubmit={onSubmit} />);
    const input = screen.getByRole('combobox', { name: /Owner/ });
    await userEvent.type(input, 'team');
    await userEvent.click(await screen.findByRole('option', { name: /Team A/ }));
    expect(searchCalls().at(-1)!.url.searchParams.getAll('filter')).toEqual(['kind=Group,kind=User']);
    expect(await submitted(onSubmit)).toEqual({ owner: 'group:default/team-a' });
  });

  it('catalogFilter overrides the default kinds', async () => {
    render(<TemplateForm steps={oneField('owner', { type: 'string', title: 'Owner', 'ui:field': 'OwnerPicker', 'ui:options': { catalogFilter: { kind: 'Group', 'spec.type': 'team' } } })} onSubmit={vi.fn()} />);
    await userEvent.click(screen.getByRole('combobox', { name: /Owner/ }));
    await waitFor(() => expect(searchCalls().length).toBeGreaterThan(0));
    expect(searchCalls()[0].url.searchParams.getAll('filter')).toEqual(['kind=Group,spec.type=team']);
  });
});

describe('MultiEntityPicker', () => {
  it('collects several refs as an array, removable', async () => {
    const onSubmit = vi.fn();
    render(<TemplateForm steps={oneField('deps', { type: 'array', items: { type: 'string' }, title: 'Depends on', 'ui:field': 'MultiEntityPicker', 'ui:options': { catalogFilter: { kind: 'Component' } } })} onSubmit={onSubmit} />);
    const input = screen.getByRole('combobox', { name: /Depends on/ });
    await userEvent.type(input, 'abc');
    await userEvent.click(await screen.findByRole('option', { name: /ABC service/ }));
    await userEvent.type(input, 'abd');
    await userEvent.click(await screen.findByRole('option', { name: /abd-web/ }));
    await userEvent.type(input, 'component:default/typed{Enter}');
    await userEvent.click(screen.getByRole('button', { name: 'Remove component:default/abd-web' }));
    expect(await submitted(onSubmit)).toEqual({ deps: ['component:default/abc-service', 'component:default/typed'] });
  });
});

describe('OwnedEntityPicker and MyGroupsPicker', () => {
  it('OwnedEntityPicker asks for entities owned by the session refs', async () => {
    session.user = { ref: 'user:default/ann', ent: ['user:default/ann', 'group:default/team-a'] };
    render(<TemplateForm steps={oneField('mine', { type: 'string', title: 'Mine', 'ui:field': 'OwnedEntityPicker', 'ui:options': { catalogFilter: { kind: 'Component' } } })} onSubmit={vi.fn()} />);
    await userEvent.click(screen.getByRole('combobox', { name: /Mine/ }));
    await waitFor(() => expect(searchCalls().length).toBeGreaterThan(0));
    expect(searchCalls()[0].url.searchParams.getAll('filter')).toEqual(['kind=Component,relations.ownedBy=user:default/ann,relations.ownedBy=group:default/team-a']);
  });

  it('MyGroupsPicker asks for the groups the user is a member of', async () => {
    session.user = { ref: 'user:default/ann', ent: ['user:default/ann'] };
    const onSubmit = vi.fn();
    render(<TemplateForm steps={oneField('group', { type: 'string', title: 'Group', 'ui:field': 'MyGroupsPicker' })} onSubmit={onSubmit} />);
    await userEvent.type(screen.getByRole('combobox', { name: /Group/ }), 'team');
    await userEvent.click(await screen.findByRole('option', { name: /Team A/ }));
    expect(searchCalls().at(-1)!.url.searchParams.getAll('filter')).toEqual(['kind=group,relations.hasMember=user:default/ann']);
    expect(await submitted(onSubmit)).toEqual({ group: 'group:default/team-a' });
  });
});

describe('RepoUrlPicker', () => {
  it('builds host?owner=&repo= with github.com by default', async () => {
    const onSubmit = vi.fn();
    render(<TemplateForm steps={oneField('repoUrl', { type: 'string', title: 'Repository', 'ui:field': 'RepoUrlPicker' }, true)} onSubmit={onSubmit} />);
    expect((screen.getByLabelText('Host') as HTMLSelectElement).value).toBe('github.com');
    await userEvent.type(screen.getByLabelText('Owner'), 'acme');
    await userEvent.type(screen.getByLabelText('Repository'), 'web-app');
    expect(await submitted(onSubmit)).toEqual({ repoUrl: 'github.com?owner=acme&repo=web-app' });
  });

  it('allowedHosts, allowedOwners and allowedRepos become selects; an incomplete value is refused', async () => {
    const onSubmit = vi.fn();
    render(<TemplateForm steps={oneField('repoUrl', { type: 'string', title: 'Repository', 'ui:field': 'RepoUrlPicker', 'ui:options': { allowedHosts: ['gitlab.example.com', 'github.com'], allowedOwners: ['acme', 'beta'], allowedRepos: ['one', 'two'] } }, true)} onSubmit={onSubmit} />);
    expect((screen.getByLabelText('Host') as HTMLSelectElement).value).toBe('gitlab.example.com');
    await userEvent.selectOptions(screen.getByLabelText('Owner'), 'beta');
    await userEvent.click(screen.getByRole('button', { name: 'Next' }));
    expect(await screen.findByText(/enter the repository name/)).toBeTruthy();
    await userEvent.selectOptions(screen.getByLabelText('Repository'), 'two');
    expect(await submitted(onSubmit)).toEqual({ repoUrl: 'gitlab.example.com?owner=beta&repo=two' });
  });
});

describe('EntityNamePicker, RepoBranchPicker, Secret', () => {
  it('EntityNamePicker accepts a DNS-like name and flags others inline', async () => {
    const onSubmit = vi.fn();
    render(<TemplateForm steps={oneField('name', { type: 'string', title: 'Name', 'ui:field': 'EntityNamePicker' })} onSubmit={onSubmit} />);
    const input = screen.getByLabelText(/^Name/);
    await userEvent.type(input, 'my_Service');
    expect(input.getAttribute('aria-invalid')).toBe('true');
    expect(screen.getByText(/The name must be lower-case/)).toBeTruthy();
    await userEvent.clear(input);
    await userEvent.type(input, 'a'.repeat(64));
    expect(screen.getByText(/at most 63/)).toBeTruthy();
    await userEvent.clear(input);
    await userEvent.type(input, 'my-service.v2');
    expect(input.getAttribute('aria-invalid')).toBeNull();
    expect(await submitted(onSubmit)).toEqual({ name: 'my-service.v2' });
  });

  it('RepoBranchPicker is free text', async () => {
    const onSubmit = vi.fn();
    render(<TemplateForm steps={oneField('branch', { type: 'string', title: 'Branch', 'ui:field': 'RepoBranchPicker' })} onSubmit={onSubmit} />);
    await userEvent.type(screen.getByLabelText('Branch'), 'release/1.2');
    expect(await submitted(onSubmit)).toEqual({ branch: 'release/1.2' });
  });

  it('Secret is a password input whose value goes to secrets', async () => {
    const onSubmit = vi.fn();
    render(<TemplateForm steps={oneField('token', { type: 'string', title: 'Token', 'ui:field': 'Secret' })} onSubmit={onSubmit} />);
    const input = screen.getByLabelText('Token');
    expect(input.getAttribute('type')).toBe('password');
    await userEvent.type(input, 'tok');
    expect(await submitted(onSubmit)).toEqual({});
    expect(onSubmit.mock.calls[0][1]).toEqual({ token: 'tok' });
  });
});

describe('EntityTagsPicker', () => {
  it('suggests tags in use (for the given kinds), adds typed tags, refuses bad ones', async () => {
    stubServer((u) => (u.pathname === '/api/catalog/entity-facets' ? { facets: { 'metadata.tags': [{ value: 'go', count: 3 }, { value: 'golden', count: 1 }, { value: 'java', count: 2 }] } } : undefined));
    const onSubmit = vi.fn();
    render(<TemplateForm steps={oneField('tags', { type: 'array', items: { type: 'string' }, title: 'Tags', 'ui:field': 'EntityTagsPicker', 'ui:options': { kinds: ['Component'] } })} onSubmit={onSubmit} />);
    const input = screen.getByRole('combobox', { name: /Tags/ });
    await userEvent.type(input, 'go');
    expect(await screen.findByRole('option', { name: 'golden' })).toBeTruthy();
    expect(screen.queryByRole('option', { name: 'java' })).toBeNull();
    const facet = calls.find((c) => c.url.pathname === '/api/catalog/entity-facets')!;
    expect(facet.url.searchParams.get('facet')).toBe('metadata.tags');
    expect(facet.url.searchParams.getAll('filter')).toEqual(['kind=Component']);
    await userEvent.click(screen.getByRole('option', { name: 'golden' }));
    await userEvent.type(input, 'Bad Tag{Enter}');
    expect(screen.getByRole('alert').textContent).toMatch(/lower-case/);
    await userEvent.clear(input);
    await userEvent.type(input, 'web-app{Enter}');
    expect(await submitted(onSubmit)).toEqual({ tags: ['golden', 'web-app'] });
  });
});

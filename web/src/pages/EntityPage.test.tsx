import { afterEach, describe, expect, it, vi } from 'vitest';
import { screen, waitFor, within } from '@testing-library/react';
import userEvent from '@testing-library/user-event';
import { EntityPage } from './EntityPage';
import { renderAt, stubFetch, type Call } from '../catalog/testing';

const payments = {
  apiVersion: 'backstage.io/v1alpha1',
  kind: 'Component',
  metadata: {
    name: 'payments-service',
    namespace: 'default',
    title: 'Payments service',
    description: 'Takes card payments',
    tags: ['go', 'pci'],
    annotations: {
      'backstage.io/source-location': 'url:https://github.com/example/payments-service/tree/main/',
      'backstage.io/view-url': 'https://github.com/example/payments-service/blob/main/catalog-info.yaml',
      'backstage.io/edit-url': 'javascript:alert(1)',
      'backstage.io/techdocs-ref': 'dir:.',
      'backstage.io/source-template': 'template:default/go-service',
    },
    links: [
      { url: 'https://grafana.example.com/d/payments', title: 'Dashboard' },
      { url: "javascript:alert('x')", title: 'Evil link' },
      { url: 'data:text/html,<script>alert(1)</script>', title: 'Data link' },
    ],
  },
  spec: { type: 'service', lifecycle: 'production', owner: 'payments-team', system: 'payments' },
  relations: [
    { type: 'ownedBy', targetRef: 'group:default/payments-team' },
    { type: 'partOf', targetRef: 'system:default/payments' },
    { type: 'providesApi', targetRef: 'api:default/payments-api' },
    { type: 'dependencyOf', targetRef: 'component:default/web-shop' },
  ],
};

const node = (ref: string, relations: { type: string; targetRef: string }[] = []) => {
  const [kind, rest] = ref.split(':');
  const [namespace, name] = rest.split('/');
  return { kind: kind[0].toUpperCase() + kind.slice(1), metadata: { name, namespace }, relations };
};
const neighbours: Record<string, any> = {
  'group:default/payments-team': node('group:default/payments-team', [{ type: 'ownerOf', targetRef: 'component:default/payments-service' }, { type: 'hasMember', targetRef: 'user:default/alice' }]),
  'system:default/payments': node('system:default/payments', [{ type: 'hasPart', targetRef: 'component:default/payments-service' }, { type: 'partOf', targetRef: 'domain:default/commerce' }]),
  'api:default/payments-api': node('api:default/payments-api', [{ type: 'apiProvidedBy', targetRef: 'component:default/payments-service' }]),
  'component:default/web-shop': node('component:default/web-shop', [{ type: 'dependsOn', targetRef: 'component:default/payments-service' }]),
  'user:default/alice': node('user:default/alice', [{ type: 'memberOf', targetRef: 'group:default/payments-team' }]),
  'domain:default/commerce': node('domain:default/commerce', []),
};

const openapi = `openapi: 3.0.3
info: {title: Payments API, version: 1.2.0}
paths:
  /payments:
    get:
      tags: [payments]
      summary: List payments
      parameters:
        - {name: limit, in: query, schema: {type: integer}}
      responses: {'200': {description: A page of payments}}
    post:
      tags: [payments]
      summary: Create a payment
      responses: {'201': {description: Created}}
  /refunds/{id}:
    parameters: [{name: id, in: path, required: true, schema: {type: string}}]
    delete:
      tags: [refunds]
      summary: Cancel a refund
      responses: {'204': {description: Cancelled}}
`;
const paymentsApi = {
  apiVersion: 'backstage.io/v1alpha1', kind: 'API',
  metadata: { name: 'payments-api', namespace: 'default' },
  spec: { type: 'openapi', lifecycle: 'production', owner: 'payments-team', definition: openapi },
  relations: [{ type: 'ownedBy', targetRef: 'group:default/payments-team' }],
};
const ordersEvents = {
  apiVersion: 'backstage.io/v1alpha1', kind: 'API',
  metadata: { name: 'orders-events', namespace: 'default' },
  spec: { type: 'asyncapi', lifecycle: 'production', owner: 'web-team', definition: 'asyncapi: 2.6.0\ninfo: {title: Orders, version: 1.0.0}\nchannels:\n  orders/created:\n    subscribe:\n      summary: An order was placed\n      message: {name: OrderCreated}\n' },
  relations: [],
};

function server(c: Call) {
  const p = c.url.pathname;
  if (p === '/api/catalog/entities/by-name/component/default/payments-service') return { body: payments };
  if (p === '/api/catalog/entities/by-name/api/default/payments-api') return { body: paymentsApi };
  if (p === '/api/catalog/entities/by-name/api/default/orders-events') return { body: ordersEvents };
  if (p === '/api/catalog/entities/by-name/component/default/web-shop') {
    return { body: { ...neighbours['component:default/web-shop'], apiVersion: 'backstage.io/v1alpha1', metadata: { name: 'web-shop', namespace: 'default', title: 'Web shop' }, spec: { type: 'website' } } };
  }
  if (p === '/api/catalog/entities/by-refs') return { body: { items: c.body.entityRefs.map((r: string) => neighbours[r] ?? null) } };
  if (p === '/api/scaffolder/v2/tasks') {
    return { body: { totalTasks: 3, tasks: [
      { id: 'task-made-it', status: 'completed', createdAt: '2026-12-01T10:00:00Z', createdBy: 'user:default/alice', spec: { templateInfo: { entityRef: 'template:default/go-service' } }, output: { entityRef: 'component:default/payments-service', links: [] } },
      { id: 'task-other-run', status: 'failed', createdAt: '2026-12-02T10:00:00Z', spec: { templateInfo: { entityRef: 'template:default/go-service' } }, output: {} },
      { id: 'task-unrelated', status: 'completed', createdAt: '2026-12-03T10:00:00Z', spec: { templateInfo: { entityRef: 'template:default/docs' } }, output: { entityRef: 'component:default/other' } },
    ] } };
  }
  if (p === '/api/catalog/locations/by-entity/component/default/payments-service') return { body: { id: 'l1', type: 'url', target: 'https://github.com/example/payments-service/blob/main/catalog-info.yaml' } };
  return undefined;
}

const routes = [
  { path: '/catalog/:namespace/:kind/:name', element: <EntityPage /> },
  { path: '/catalog/:namespace/:kind/:name/:tab', element: <EntityPage /> },
  { path: '/catalog/:namespace/:kind/:name/docs/*', element: <EntityPage tab="docs" /> },
];

afterEach(() => vi.restoreAllMocks());

describe('EntityPage', () => {
  it('shows About with the owner link and only http(s) URLs as links', async () => {
    stubFetch(server);
    renderAt('/catalog/default/component/payments-service', routes);
    expect(await screen.findByRole('heading', { level: 1, name: 'Payments service' })).toBeTruthy();
    const about = screen.getByRole('region', { name: 'About' });
    expect(within(about).getByRole('link', { name: 'payments-team' }).getAttribute('href')).toBe('/catalog/default/group/payments-team');
    expect(within(about).getByRole('link', { name: 'payments' }).getAttribute('href')).toBe('/catalog/default/system/payments');
    expect(within(about).getByRole('link', { name: 'View source' }).getAttribute('href')).toBe('https://github.com/example/payments-service/tree/main/');
    expect(within(about).getByRole('link', { name: 'View' }).getAttribute('href')).toBe('https://github.com/example/payments-service/blob/main/catalog-info.yaml');
    expect(within(about).getByRole('link', { name: 'Dashboard' }).getAttribute('href')).toBe('https://grafana.example.com/d/payments');
    // The javascript: and data: URLs are text, never links.
    expect(within(about).getByText('Evil link')).toBeTruthy();
    expect(within(about).queryByRole('link', { name: /Evil link/ })).toBeNull();
    expect(within(about).queryByRole('link', { name: /Data link/ })).toBeNull();
    expect(within(about).queryByRole('link', { name: /^Edit/ })).toBeNull();
    for (const a of about.querySelectorAll('a')) expect(a.getAttribute('href')).toMatch(/^(https?:|\/|mailto:)/);
    expect(document.querySelector('.chip.kind')!.textContent).toBe('Component');
    expect(screen.getByRole('link', { name: 'Docs' })).toBeTruthy();
    expect(screen.queryByRole('link', { name: 'API definition' })).toBeNull();
  });

  it('draws a graph node per related entity, fetched by refs, and filters by relation type and depth', async () => {
    const f = stubFetch(server);
    renderAt('/catalog/default/component/payments-service', routes);
    const graph = await screen.findByRole('group', { name: /Relations of component:default\/payments-service: 4 related/ });
    const nodes = () => [...graph.querySelectorAll('a[data-ref]')].map((a) => a.getAttribute('data-ref')).sort();
    expect(nodes()).toEqual(['api:default/payments-api', 'component:default/web-shop', 'group:default/payments-team', 'system:default/payments']);
    const team = within(graph).getByRole('link', { name: /group:default\/payments-team/ });
    expect(team.getAttribute('href')).toBe('/catalog/default/group/payments-team');
    expect(f.last('/api/catalog/entities/by-refs')!.body.entityRefs.sort()).toEqual(nodes());
    // The outermost level comes without its relations (a team's may be thousands).
    expect(f.last('/api/catalog/entities/by-refs')!.body.fields).not.toContain('relations');
    expect(graph.querySelector('[data-edge="component:default/payments-service group:default/payments-team"] title')!.textContent).toContain('ownedBy');
    expect([...graph.querySelectorAll('.edge-label')].map((t) => t.textContent).sort()).toEqual(['dependencyOf', 'ownedBy', 'partOf', 'providesApi']);

    await userEvent.click(screen.getByRole('checkbox', { name: /ownedBy \/ ownerOf/ }));
    await waitFor(() => expect(nodes()).toEqual(['api:default/payments-api', 'component:default/web-shop', 'system:default/payments']));

    await userEvent.selectOptions(screen.getByLabelText('Depth'), '2');
    await waitFor(() => expect(nodes()).toContain('domain:default/commerce'));
    expect(nodes()).not.toContain('user:default/alice'); // reached only through the unchecked ownership
    const refsCalls = f.calls.filter((c) => c.url.pathname === '/api/catalog/entities/by-refs').map((c) => c.body);
    // Depth 2: the first level's relations, then only the new level.
    expect(refsCalls[1].entityRefs.sort()).toEqual(['api:default/payments-api', 'component:default/web-shop', 'system:default/payments']);
    expect(refsCalls[1].fields).toContain('relations');
    expect(refsCalls[2].entityRefs).toEqual(['domain:default/commerce']);
    expect(refsCalls).toHaveLength(3);

    // The relations are also a plain table.
    const table = screen.getByRole('table', { name: /Relations of payments-service/ });
    expect(within(table).getAllByRole('row')).toHaveLength(5);
  });

  it('opens a neighbour from its graph node', async () => {
    stubFetch(server);
    renderAt('/catalog/default/component/payments-service', routes);
    const graph = await screen.findByRole('group', { name: /Relations of component:default\/payments-service/ });
    await userEvent.click(within(graph).getByRole('link', { name: /component:default\/web-shop/ }));
    expect(await screen.findByRole('heading', { level: 1, name: 'Web shop' })).toBeTruthy();
    expect(screen.getByTestId('location').textContent).toBe('/catalog/default/component/web-shop');
    expect(await screen.findByRole('group', { name: /Relations of component:default\/web-shop: 1 related/ })).toBeTruthy();
  });

  it('lists OpenAPI operations by tag for an API', async () => {
    stubFetch(server);
    renderAt('/catalog/default/api/payments-api/definition', routes);
    expect(await screen.findByRole('heading', { name: 'payments' })).toBeTruthy();
    expect(screen.getByRole('heading', { name: 'refunds' })).toBeTruthy();
    const ops = [...document.querySelectorAll('details.op summary')].map((s) => s.textContent!.replace(/\s+/g, ' ').trim());
    expect(ops).toEqual(['GET /payments List payments', 'POST /payments Create a payment', 'DELETE /refunds/{id} Cancel a refund']);
    const del = document.querySelectorAll('details.op')[2];
    expect(within(del as HTMLElement).getByText('id')).toBeTruthy(); // path-level parameter
    expect(within(del as HTMLElement).getByText('Cancelled')).toBeTruthy();
    expect(screen.getByRole('link', { name: 'API definition' }).getAttribute('aria-current')).toBe('page');
  });

  it('lists AsyncAPI channels with their operations and messages', async () => {
    stubFetch(server);
    renderAt('/catalog/default/api/orders-events/definition', routes);
    const row = (await screen.findByText('orders/created')).closest('tr')!;
    expect(within(row).getByText('subscribe')).toBeTruthy();
    expect(within(row).getByText('OrderCreated')).toBeTruthy();
  });

  it('shows the raw entity as YAML', async () => {
    stubFetch(server);
    renderAt('/catalog/default/component/payments-service/yaml', routes);
    const pre = await screen.findByLabelText('Entity YAML');
    expect(pre.textContent).toContain('kind: Component');
    expect(pre.textContent).toContain('  name: payments-service');
    expect(screen.getByRole('button', { name: 'Copy YAML' })).toBeTruthy();
  });

  it('shows the template and the tasks that made the entity', async () => {
    stubFetch(server);
    renderAt('/catalog/default/component/payments-service/tasks', routes);
    const made = await screen.findByRole('table', { name: 'Tasks whose output names this entity' });
    expect(within(made).getByRole('link', { name: 'task-made-it' }).getAttribute('href')).toBe('/tasks/task-made-it');
    const others = screen.getByRole('table', { name: 'Other runs of the template' });
    expect(within(others).getByRole('link', { name: 'task-other-run' })).toBeTruthy();
    expect(screen.queryByText('task-unrelate')).toBeNull();
    expect(screen.getByRole('link', { name: 'go-service' }).getAttribute('href')).toBe('/catalog/default/template/go-service');
    expect(screen.getByRole('link', { name: 'launch it' }).getAttribute('href')).toBe('/create/templates/default/go-service');
    expect(await screen.findByRole('link', { name: /catalog-info\.yaml/ })).toBeTruthy();
  });

  it('says docs are not built yet on the Docs tab, with how the build went (no bare 404)', async () => {
    const f = stubFetch(server);
    renderAt('/catalog/default/component/payments-service/docs', routes);
    expect(await screen.findByRole('heading', { name: 'Docs not built yet' })).toBeTruthy();
    await waitFor(() => expect(f.last('/api/techdocs/sync/default/component/payments-service')).toBeTruthy());
    expect(await screen.findByText(/The build failed/)).toBeTruthy();
    expect(screen.getByRole('link', { name: 'Docs' }).getAttribute('aria-current')).toBe('page');
  });

  it('says plainly when there is no such entity', async () => {
    stubFetch(server);
    renderAt('/catalog/default/component/nope', routes);
    expect(await screen.findByRole('heading', { name: 'No entity component:default/nope' })).toBeTruthy();
    expect(screen.getByRole('link', { name: 'Back to the catalog' }).getAttribute('href')).toBe('/catalog');
  });
});

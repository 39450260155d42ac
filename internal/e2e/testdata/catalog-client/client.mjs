// Drives a live rigger with Backstage's own catalog client, unmodified.
// Usage: node client.mjs <rigger base URL> <catalog file to register>
import assert from 'node:assert/strict';
import { CatalogClient } from '@backstage/catalog-client';

const [base, file] = process.argv.slice(2);
const client = new CatalogClient({
  discoveryApi: { getBaseUrl: async () => `${base}/api/catalog` },
});
const step = (name) => console.log(`step: ${name}`);

step('getEntities with filter and fields');
const users = await client.getEntities({
  filter: { kind: 'User' },
  fields: ['kind', 'metadata.name'],
});
assert.equal(users.items.length, 17);
assert.deepEqual(Object.keys(users.items[0]).sort(), ['kind', 'metadata']);
assert.deepEqual(Object.keys(users.items[0].metadata), ['name']);

step('getEntities with OR filters and order');
const groupsOrApis = await client.getEntities({
  filter: [{ kind: 'Group' }, { kind: 'API' }],
  order: { field: 'metadata.name', order: 'desc' },
});
assert.ok(groupsOrApis.items.length >= 11);
const names = groupsOrApis.items.map((e) => e.metadata.name);
assert.deepEqual(names, [...names].sort().reverse());

step('getEntityByRef');
const team = await client.getEntityByRef('group:default/team-a');
assert.equal(team.metadata.name, 'team-a');
assert.ok(team.metadata.uid);
assert.ok(team.relations.some((r) => r.type === 'childOf' && r.targetRef === 'group:default/backstage'));
assert.equal(await client.getEntityByRef('component:default/does-not-exist'), undefined);

step('getEntitiesByRefs');
const byRefs = await client.getEntitiesByRefs({
  entityRefs: ['group:default/team-a', 'component:default/missing', 'user:default/breanna.davison'],
  fields: ['metadata.name'],
});
assert.equal(byRefs.items.length, 3);
assert.equal(byRefs.items[0].metadata.name, 'team-a');
assert.equal(byRefs.items[1], undefined);
assert.equal(byRefs.items[2].metadata.name, 'breanna.davison');

step('queryEntities with cursor paging across several pages');
const seen = [];
let page = await client.queryEntities({
  filter: { kind: 'User' },
  limit: 4,
  orderFields: { field: 'metadata.name', order: 'asc' },
});
assert.equal(page.totalItems, 17);
let pages = 1;
seen.push(...page.items.map((e) => e.metadata.name));
while (page.pageInfo.nextCursor) {
  page = await client.queryEntities({ cursor: page.pageInfo.nextCursor, limit: 4 });
  seen.push(...page.items.map((e) => e.metadata.name));
  pages++;
  assert.ok(pages < 10, 'paging does not end');
}
assert.equal(pages, 5);
assert.equal(seen.length, 17);
assert.ok(page.pageInfo.prevCursor, 'last page has a prevCursor');
const back = await client.queryEntities({ cursor: page.pageInfo.prevCursor, limit: 4 });
assert.deepEqual(back.items.map((e) => e.metadata.name), seen.slice(12, 16));

step('getEntityFacets');
const facets = await client.getEntityFacets({ facets: ['kind', 'spec.type'], filter: { kind: ['Group', 'User'] } });
const kinds = Object.fromEntries(facets.facets.kind.map((f) => [f.value, f.count]));
assert.equal(kinds.User, 17);
assert.equal(kinds.Group, 11);

step('addLocation and removeLocationById');
const added = await client.addLocation({ type: 'file', target: file });
assert.ok(added.location.id);
assert.equal(added.location.target, file);
let found;
for (let i = 0; i < 200 && !found; i++) {
  found = await client.getEntityByRef('component:default/client-made');
  if (!found) await new Promise((r) => setTimeout(r, 50));
}
assert.ok(found, 'entity of the added location never appeared');
const loc = await client.getLocationByEntity('component:default/client-made');
assert.equal(loc.id, added.location.id);
await client.removeLocationById(added.location.id);
assert.equal(await client.getLocationById(added.location.id), undefined);

step('validateEntity');
const ok = await client.validateEntity(found, 'url:https://example.com/x.yaml');
assert.deepEqual(ok, { valid: true });
const bad = await client.validateEntity(
  { apiVersion: 'backstage.io/v1alpha1', kind: 'Component', metadata: { name: 'x' }, spec: { type: 'service' } },
  'url:https://example.com/x.yaml',
);
assert.equal(bad.valid, false);
assert.ok(bad.errors.some((e) => /spec\.owner/.test(e.message)), JSON.stringify(bad.errors));

console.log('catalog-client: all steps passed');

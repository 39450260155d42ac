import { afterEach, describe, expect, it, vi } from 'vitest';
import { stubFetch } from './testing';
import { layout, loadNeighbourhood, MAX_NODES, MAX_ROWS, NODE_H, NODE_W, LABEL_W, RELATION_PAIRS, type GraphNode } from './graph';
import { safeUrl, sourceUrl } from './refs';
import { outputNames } from './TasksTab';
import { filterParams, readFilters, withFilters } from './query';

const all = new Set(RELATION_PAIRS.map(([a]) => a));

function star(n: number): Map<string, GraphNode> {
  const center: GraphNode = { ref: 'api:default/payments-api', kind: 'API', name: 'payments-api', relations: [] };
  const m = new Map([[center.ref, center]]);
  for (let i = 0; i < n; i++) {
    const ref = `component:default/consumer-${i}`;
    center.relations.push({ type: 'apiConsumedBy', targetRef: ref });
    m.set(ref, { ref, kind: 'Component', name: `consumer-${i}`, relations: [{ type: 'consumesApi', targetRef: center.ref }, { type: 'dependsOn', targetRef: `component:default/lib-${i % 5}` }] });
  }
  for (let i = 0; i < 5; i++) {
    const ref = `component:default/lib-${i}`;
    m.set(ref, { ref, kind: 'Component', name: `lib-${i}`, relations: [] });
  }
  return m;
}

const overlap = (a: { x: number; y: number }, b: { x: number; y: number }, w: number, h: number) =>
  a.x < b.x + w && b.x < a.x + w && a.y < b.y + h && b.y < a.y + h;

describe('graph layout', () => {
  it('places 60+ nodes without overlaps, each label in its own free gap', () => {
    const l = layout('api:default/payments-api', star(60), all);
    expect(l.nodes).toHaveLength(66);
    for (let i = 0; i < l.nodes.length; i++) {
      for (let j = i + 1; j < l.nodes.length; j++) expect(overlap(l.nodes[i], l.nodes[j], NODE_W, NODE_H)).toBe(false);
    }
    // Both sides of the center are used, no column is taller than MAX_ROWS.
    const sides = new Set(l.nodes.map((n) => n.side));
    expect(sides).toEqual(new Set([-1, 0, 1]));
    const perColumn = new Map<number, number>();
    for (const n of l.nodes) perColumn.set(n.x, (perColumn.get(n.x) ?? 0) + 1);
    for (const c of perColumn.values()) expect(c).toBeLessThanOrEqual(MAX_ROWS);
    // A label's box (on the center side of its node) never covers another node.
    for (const n of l.nodes.filter((x) => !x.center)) {
      const box = { x: n.side < 0 ? n.x + NODE_W : n.x - LABEL_W, y: n.y };
      for (const o of l.nodes) expect(overlap({ x: box.x + 1, y: box.y }, o, LABEL_W - 2, NODE_H)).toBe(false);
    }
    for (const n of l.nodes) {
      expect(n.x).toBeGreaterThanOrEqual(0);
      expect(n.x + NODE_W).toBeLessThanOrEqual(l.width);
      expect(n.y + NODE_H).toBeLessThanOrEqual(l.height);
    }
    // One edge per pair of entities, named from the center's side, labelled when it is the tree edge.
    const e = l.edges.find((x) => x.to === 'component:default/consumer-7')!;
    expect(e).toMatchObject({ from: 'api:default/payments-api', types: ['apiConsumedBy'], labelled: true });
    // Depth two: the libs sit one layer further out, on their first parent's side.
    const lib = l.nodes.find((n) => n.ref === 'component:default/lib-0')!;
    expect(lib.layer).toBe(2);
  });

  it('leaves out relation types that are not enabled', () => {
    const l = layout('api:default/payments-api', star(3), new Set(['consumesApi']));
    expect(l.nodes.map((n) => n.ref).sort()).toEqual(['api:default/payments-api', 'component:default/consumer-0', 'component:default/consumer-1', 'component:default/consumer-2']);
    expect(layout('api:default/payments-api', star(3), new Set(['ownedBy'])).nodes).toHaveLength(1);
  });
});

describe('safe URLs', () => {
  it('links http(s) only', () => {
    expect(safeUrl('https://example.com/x')).toBe('https://example.com/x');
    expect(safeUrl(' http://example.com ')).toBe('http://example.com/');
    expect(safeUrl('javascript:alert(1)')).toBeUndefined();
    expect(safeUrl('JaVaScRiPt:alert(1)')).toBeUndefined();
    expect(safeUrl('data:text/html,x')).toBeUndefined();
    expect(safeUrl('/relative')).toBeUndefined();
    expect(sourceUrl('url:https://github.com/a/b/tree/main/')).toBe('https://github.com/a/b/tree/main/');
    expect(sourceUrl('url:javascript:alert(1)')).toBeUndefined();
    expect(sourceUrl('dir:.')).toBeUndefined();
  });
});

describe('task outputs', () => {
  it('names an entity by ref or by a link to its page', () => {
    expect(outputNames({ entityRef: 'component:default/x' }, 'component:default/x')).toBe(true);
    expect(outputNames({ links: [{ url: 'http://h/catalog/default/component/x' }] }, 'component:default/x')).toBe(true);
    expect(outputNames({ entityRef: 'component:default/xy' }, 'component:default/x')).toBe(false);
  });
});

describe('catalog query', () => {
  it('drops the cursor when a filter changes, keeps it when paging', () => {
    const p = new URLSearchParams('type=service&cursor=C');
    expect(withFilters(p, { lifecycle: 'production' }).toString()).toBe('type=service&lifecycle=production');
    expect(withFilters(p, { cursor: 'D' }).get('cursor')).toBe('D');
    expect(withFilters(new URLSearchParams('type=service&owner=group:default/a'), { kind: 'api' }).toString()).toBe('kind=api');
    expect(withFilters(new URLSearchParams('owner=group:default/a'), { mine: true }).toString()).toBe('mine=1');
  });
  it('asks for nothing when no starred entity is of the kind', () => {
    const f = readFilters(new URLSearchParams('starred=1'));
    expect(filterParams(f, [], ['api:default/x'])).toBeUndefined();
    expect(filterParams(f, [], ['component:ns/x'])).toEqual(['kind=component,metadata.namespace=ns,metadata.name=x']);
  });
});

describe('neighbourhood', () => {
  afterEach(() => vi.restoreAllMocks());
  it('stops at MAX_NODES and lets the rare relations in before the long tail', async () => {
    const owned = Array.from({ length: 500 }, (_, i) => ({ type: 'ownerOf', targetRef: `component:default/c-${i}` }));
    const team = {
      kind: 'Group', metadata: { name: 'team', namespace: 'default' },
      relations: [...owned, { type: 'childOf', targetRef: 'group:default/parent' }, { type: 'hasMember', targetRef: 'user:default/ann' }],
    };
    const f = stubFetch((c) => ({ body: { items: c.body.entityRefs.map((r: string) => ({ kind: r.split(':')[0], metadata: { name: r.split('/')[1], namespace: 'default' } })) } }));
    const { nodes, truncated } = await loadNeighbourhood(team as any, 1, all, new Map());
    expect(truncated).toBe(true);
    expect(nodes.size).toBe(MAX_NODES);
    expect(nodes.has('group:default/parent')).toBe(true);
    expect(nodes.has('user:default/ann')).toBe(true);
    expect(f.calls).toHaveLength(1);
    expect(f.calls[0].body.entityRefs).toHaveLength(MAX_NODES - 1);
  });
});

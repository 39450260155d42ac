// The relations graph's model: which neighbours to fetch (by refs, level by
// level up to the chosen depth), and a layered layout in which no two
// nodes and no two edge labels overlap. No DOM here: the tests check the
// layout's numbers directly.
import { entityRef, parseRef, post, type Entity, type Relation } from '../api';

/** Relation types in pairs, each with its inverse; one checkbox per pair. */
export const RELATION_PAIRS: [string, string][] = [
  ['ownedBy', 'ownerOf'],
  ['partOf', 'hasPart'],
  ['providesApi', 'apiProvidedBy'],
  ['consumesApi', 'apiConsumedBy'],
  ['dependsOn', 'dependencyOf'],
  ['memberOf', 'hasMember'],
  ['childOf', 'parentOf'],
];

/** The pair a relation type belongs to, named by its first member (unknown types name themselves). */
export function pairOf(type: string): string {
  const p = RELATION_PAIRS.find(([a, b]) => a === type || b === type);
  return p ? p[0] : type;
}

export function pairLabel(pair: string): string {
  const p = RELATION_PAIRS.find(([a]) => a === pair);
  return p ? `${p[0]} / ${p[1]}` : pair;
}

export interface GraphNode {
  ref: string;
  kind: string;
  name: string;
  title?: string;
  type?: string;
  /** The entity was not found (or may not be read): drawn, not linked. */
  missing?: boolean;
  /** Fetched without its relations (it was on the outermost level). */
  partial?: boolean;
  relations: Relation[];
}

const LEAF_FIELDS = ['kind', 'metadata.name', 'metadata.namespace', 'metadata.title', 'spec.type'];
export const NODE_FIELDS = [...LEAF_FIELDS, 'relations'];

export function nodeOf(e: Entity): GraphNode {
  return { ref: entityRef(e), kind: e.kind, name: e.metadata.name, title: e.metadata.title, type: e.spec?.type, relations: e.relations ?? [] };
}

function missingNode(ref: string): GraphNode {
  const p = parseRef(ref);
  return { ref, kind: p.kind, name: p.name, missing: true, relations: [] };
}

/** Keeps the nodes fetched so far, so that changing the depth or filter refetches only what is new. */
export type NodeCache = Map<string, GraphNode>;

export const MAX_NODES = 150;

/**
 * Relations with the rarest types first: when a node has more neighbours
 * than the graph can show (a team owning thousands), its parent, members
 * and system make it in before the long tail of ownerOf.
 */
function byRarity(rels: Relation[]): Relation[] {
  const count = new Map<string, number>();
  for (const r of rels) count.set(r.type, (count.get(r.type) ?? 0) + 1);
  return [...rels].sort((a, b) => count.get(a.type)! - count.get(b.type)! || a.type.localeCompare(b.type));
}

async function fetchNodes(refs: string[], withRelations: boolean, cache: NodeCache) {
  if (refs.length === 0) return;
  const res = await post<{ items: (Entity | null)[] }>('/api/catalog/entities/by-refs', { entityRefs: refs, fields: withRelations ? NODE_FIELDS : LEAF_FIELDS });
  refs.forEach((ref, i) => {
    const e = res.items[i];
    cache.set(ref, e ? { ...nodeOf(e), partial: !withRelations } : missingNode(ref));
  });
}

/**
 * The nodes within `depth` hops of the center over the enabled relation
 * pairs, fetching each level's unknown refs in one POST by-refs. The
 * outermost level comes without relations (a team's may run to thousands);
 * they are fetched when a larger depth expands it. Stops adding nodes at
 * MAX_NODES (truncated true).
 */
export async function loadNeighbourhood(center: Entity, depth: number, enabled: Set<string>, cache: NodeCache): Promise<{ nodes: Map<string, GraphNode>; truncated: boolean }> {
  const root = nodeOf(center);
  cache.set(root.ref, root);
  const nodes = new Map<string, GraphNode>([[root.ref, root]]);
  let frontier = [root];
  let truncated = false;
  for (let level = 1; level <= depth && frontier.length > 0; level++) {
    const partial = frontier.filter((n) => n.partial).map((n) => n.ref);
    if (partial.length > 0) {
      await fetchNodes(partial, true, cache);
      frontier = frontier.map((n) => cache.get(n.ref) ?? n);
      for (const n of frontier) nodes.set(n.ref, n);
    }
    const want: string[] = [];
    for (const n of frontier) {
      for (const r of byRarity(n.relations)) {
        if (!enabled.has(pairOf(r.type)) || nodes.has(r.targetRef) || want.includes(r.targetRef)) continue;
        if (nodes.size + want.length >= MAX_NODES) { truncated = true; break; }
        want.push(r.targetRef);
      }
    }
    await fetchNodes(want.filter((r) => !cache.has(r)), level < depth, cache);
    frontier = [];
    for (const ref of want) {
      const n = cache.get(ref) ?? missingNode(ref);
      nodes.set(ref, n);
      frontier.push(n);
    }
  }
  return { nodes, truncated };
}

export interface PlacedNode extends GraphNode { x: number; y: number; layer: number; center: boolean; /** 1 right of the center, -1 left, 0 the center. */ side: number }
export interface PlacedEdge {
  from: string;
  to: string;
  /** Relation types from `from`'s side, e.g. ["providesApi"]. */
  types: string[];
  /** Tree edges carry a label beside their far node; the others a tooltip only. */
  labelled: boolean;
}
export interface Layout { nodes: PlacedNode[]; edges: PlacedEdge[]; width: number; height: number }

export const NODE_W = 190;
export const NODE_H = 34;
export const ROW = NODE_H + 12;
export const LABEL_W = 130;
export const COL = NODE_W + LABEL_W;
export const MAX_ROWS = 30;
/** A first layer with more nodes than this is split between both sides of the center. */
export const SPLIT_AT = 6;
const PAD = 16;
/** Room left and right for same-column edges' bows. */
export const PADX = 48;

/**
 * Lays the graph out in columns by distance from the center (breadth
 * first over the enabled pairs), on both sides of it when the first layer
 * is big. A column with more than MAX_ROWS nodes wraps into several; each
 * node's label sits in the gap on its center side (one label per node,
 * one node per row), so labels never overlap one another or a node.
 */
export function layout(centerRef: string, all: Map<string, GraphNode>, enabled: Set<string>): Layout {
  const layerOf = new Map<string, number>([[centerRef, 0]]);
  const parentOf = new Map<string, string>();
  const order: string[][] = [[centerRef]];
  let frontier = [centerRef];
  while (frontier.length > 0) {
    const next: string[] = [];
    for (const ref of frontier) {
      const n = all.get(ref);
      if (!n) continue;
      const rels = [...n.relations].sort((a, b) => a.type.localeCompare(b.type) || a.targetRef.localeCompare(b.targetRef));
      for (const r of rels) {
        if (!enabled.has(pairOf(r.type)) || !all.has(r.targetRef) || layerOf.has(r.targetRef)) continue;
        layerOf.set(r.targetRef, layerOf.get(ref)! + 1);
        parentOf.set(r.targetRef, ref);
        next.push(r.targetRef);
      }
    }
    if (next.length > 0) order.push(next);
    frontier = next;
  }

  // Edges: one per pair of nodes and relation pair, from the side nearer the center.
  const edges = new Map<string, PlacedEdge>();
  for (const [ref, n] of all) {
    if (!layerOf.has(ref)) continue;
    for (const r of n.relations) {
      const t = r.targetRef;
      if (!enabled.has(pairOf(r.type)) || !layerOf.has(t) || t === ref) continue;
      const [a, b] = layerOf.get(ref)! <= layerOf.get(t)! ? [ref, t] : [t, ref];
      const key = `${a}\n${b}`;
      const fromA = a === ref;
      let e = edges.get(key);
      if (!e) { e = { from: a, to: b, types: [], labelled: parentOf.get(b) === a }; edges.set(key, e); }
      // Name it from a's side: a's own relation, or the inverse of b's.
      const type = fromA ? r.type : inverse(r.type);
      if (!e.types.includes(type)) e.types.push(type);
    }
  }
  // Drop the inverse duplicates: a relation and its inverse describe one edge.
  for (const e of edges.values()) e.types = e.types.filter((t, i, ts) => ts.findIndex((u) => pairOf(u) === pairOf(t)) === i);

  // Sides: the center in the middle; when the first layer is big, half of
  // it goes to the left; deeper nodes follow their parent's side. Each
  // layer of a side is a column, wrapped outwards past MAX_ROWS nodes.
  const edgeType = (ref: string) => edges.get(`${parentOf.get(ref)}\n${ref}`)?.types[0] ?? '';
  const sideOf = new Map<string, number>([[centerRef, 0]]);
  const columns = new Map<number, string[][]>(); // signed column index → refs (0 = center)
  columns.set(0, [[centerRef]]);
  const sideCols = { [1]: 0, [-1]: 0 } as Record<number, number>;
  order.slice(1).forEach((refs, i) => {
    const layer = i + 1;
    const sorted = [...refs].sort((x, y) => {
      const px = order[layer - 1].indexOf(parentOf.get(x)!);
      const py = order[layer - 1].indexOf(parentOf.get(y)!);
      return px - py || edgeType(x).localeCompare(edgeType(y)) || x.localeCompare(y);
    });
    if (layer === 1) {
      const split = sorted.length > SPLIT_AT ? Math.ceil(sorted.length / 2) : sorted.length;
      sorted.forEach((ref, j) => sideOf.set(ref, j < split ? 1 : -1));
    } else {
      for (const ref of sorted) sideOf.set(ref, sideOf.get(parentOf.get(ref)!) ?? 1);
    }
    order[layer] = sorted;
    for (const side of [1, -1]) {
      const mine = sorted.filter((r) => sideOf.get(r) === side);
      const n = Math.ceil(mine.length / MAX_ROWS);
      const per = Math.ceil(mine.length / Math.max(n, 1));
      for (let k = 0; k < n; k++) {
        sideCols[side]++;
        columns.set(side * sideCols[side], [mine.slice(k * per, (k + 1) * per)]);
      }
    }
  });
  const rows = Math.max(...[...columns.values()].map((c) => c[0].length));
  const height = rows * ROW - (ROW - NODE_H) + 2 * PAD;
  const left = sideCols[-1];
  const placed: PlacedNode[] = [];
  for (const [ci, [refs]] of columns) {
    const top = PAD + ((rows - refs.length) * ROW) / 2;
    refs.forEach((ref, ri) => {
      placed.push({ ...all.get(ref)!, x: PADX + (ci + left) * COL, y: top + ri * ROW, layer: layerOf.get(ref)!, center: ref === centerRef, side: sideOf.get(ref) ?? 0 });
    });
  }
  const width = PADX * 2 + (left + sideCols[1]) * COL + NODE_W;
  return { nodes: placed, edges: [...edges.values()], width, height };
}

export function inverse(type: string): string {
  for (const [a, b] of RELATION_PAIRS) {
    if (type === a) return b;
    if (type === b) return a;
  }
  return type;
}

/** Cuts a label to n characters with an ellipsis (the full text goes in the node's <title>). */
export function truncate(s: string, n: number): string {
  return s.length <= n ? s : `${s.slice(0, n - 1)}…`;
}

// The catalog page's state lives in the URL's query string; this module
// reads it, writes it, and turns it into by-query and entity-facets
// requests. Pure functions, so the tests can check them without a DOM.
import { parseRef } from '../api';

export interface CatalogFilters {
  kind: string;
  owner: string;
  type: string;
  lifecycle: string;
  tag: string;
  namespace: string;
  text: string;
  mine: boolean;
  starred: boolean;
  cursor: string;
  limit: number;
}

export const PAGE_SIZES = [25, 50, 100];

/** The keys a filter change clears the cursor for (every one but cursor itself). */
const FILTER_KEYS = ['kind', 'owner', 'type', 'lifecycle', 'tag', 'namespace', 'text', 'mine', 'starred', 'limit'] as const;

export function readFilters(p: URLSearchParams): CatalogFilters {
  const limit = Number(p.get('limit'));
  return {
    kind: (p.get('kind') || 'component').toLowerCase(),
    owner: p.get('owner') ?? '',
    type: p.get('type') ?? '',
    lifecycle: p.get('lifecycle') ?? '',
    tag: p.get('tag') ?? '',
    namespace: p.get('namespace') ?? '',
    text: p.get('text') ?? '',
    mine: p.get('mine') === '1',
    starred: p.get('starred') === '1',
    cursor: p.get('cursor') ?? '',
    limit: PAGE_SIZES.includes(limit) ? limit : 25,
  };
}

/**
 * The query string after changing some filters: empty values are dropped,
 * and any change but the cursor's starts again at the first page. Owner
 * and "owned by me" exclude each other (both on would mean "owned by me
 * and by X", which is rarely what anyone wants).
 */
export function withFilters(p: URLSearchParams, change: Partial<CatalogFilters>): URLSearchParams {
  const next = new URLSearchParams(p);
  const set = (k: string, v: string | number | boolean | undefined) => {
    if (v === undefined) return;
    if (v === '' || v === false || (k === 'limit' && v === 25) || (k === 'kind' && v === 'component')) next.delete(k);
    else next.set(k, v === true ? '1' : String(v));
  };
  for (const [k, v] of Object.entries(change)) set(k, v as string | number | boolean);
  if (change.owner) next.delete('mine');
  if (change.mine) next.delete('owner');
  if (change.kind !== undefined && change.kind !== (p.get('kind') || 'component')) {
    // Facet values of one kind rarely exist in another.
    for (const k of ['type', 'lifecycle', 'owner', 'tag']) next.delete(k);
  }
  if (FILTER_KEYS.some((k) => k in change)) next.delete('cursor');
  return next;
}

/** The fields each kind's columns need (fields= keeps rows small at 10,000 entities). */
const COMMON = ['kind', 'metadata.name', 'metadata.namespace', 'metadata.title'];
export const KIND_FIELDS: Record<string, string[]> = {
  component: [...COMMON, 'metadata.description', 'metadata.tags', 'spec.type', 'spec.lifecycle', 'spec.owner', 'spec.system'],
  api: [...COMMON, 'metadata.description', 'spec.type', 'spec.lifecycle', 'spec.owner', 'spec.system'],
  group: [...COMMON, 'spec.type', 'spec.parent', 'spec.profile.displayName'],
  user: [...COMMON, 'spec.profile.displayName', 'spec.profile.email'],
  template: [...COMMON, 'metadata.description', 'metadata.tags', 'spec.type', 'spec.owner'],
  system: [...COMMON, 'metadata.description', 'metadata.tags', 'spec.owner', 'spec.domain'],
  domain: [...COMMON, 'metadata.description', 'metadata.tags', 'spec.owner'],
  resource: [...COMMON, 'metadata.description', 'spec.type', 'spec.owner', 'spec.system'],
};
export function fieldsFor(kind: string): string[] {
  return KIND_FIELDS[kind] ?? [...COMMON, 'metadata.description', 'metadata.tags', 'spec.type', 'spec.owner'];
}

/**
 * The filter parameters of a by-query request (each one an alternative,
 * alternatives OR'ed, statements in one AND'ed, a key twice = any of its
 * values). Undefined means the answer is known to be empty (starred on,
 * nothing of this kind starred): no request needed.
 */
export function filterParams(f: CatalogFilters, myRefs: string[], stars: string[]): string[] | undefined {
  const base = [`kind=${f.kind}`];
  if (f.namespace) base.push(`metadata.namespace=${f.namespace}`);
  if (f.type) base.push(`spec.type=${f.type}`);
  if (f.lifecycle) base.push(`spec.lifecycle=${f.lifecycle}`);
  if (f.tag) base.push(`metadata.tags=${f.tag}`);
  if (f.owner) base.push(`relations.ownedBy=${f.owner}`);
  else if (f.mine) {
    if (myRefs.length === 0) return undefined;
    for (const r of myRefs) base.push(`relations.ownedBy=${r}`);
  }
  if (!f.starred) return [base.join(',')];
  const mine = stars.map((s) => parseRef(s)).filter((r) => r.kind === f.kind);
  if (mine.length === 0) return undefined;
  return mine.map((r) => [...base, `metadata.namespace=${r.namespace}`, `metadata.name=${r.name}`].join(','));
}

/** The by-query URL for the filters, or undefined when the answer is empty. */
export function queryUrl(f: CatalogFilters, myRefs: string[], stars: string[]): string | undefined {
  const q = new URLSearchParams();
  q.set('limit', String(f.limit));
  for (const field of fieldsFor(f.kind)) q.append('fields', field);
  if (f.cursor) {
    // The cursor carries the filter, order and text of the first page.
    q.set('cursor', f.cursor);
    return `/api/catalog/entities/by-query?${q}`;
  }
  const filters = filterParams(f, myRefs, stars);
  if (!filters) return undefined;
  for (const p of filters) q.append('filter', p);
  q.set('orderField', 'metadata.name,asc');
  if (f.text.trim()) q.set('fullTextFilterTerm', f.text.trim());
  return `/api/catalog/entities/by-query?${q}`;
}

export const FACETS = ['relations.ownedBy', 'spec.type', 'spec.lifecycle', 'metadata.tags', 'metadata.namespace'] as const;

/**
 * Facet counts for the selects, within the chosen kind: one URL per facet,
 * asked in parallel (the server counts the facets of one request one after
 * the other: at 10,000 entities five in one request take ~0.5 s, each alone
 * ~0.1 s).
 */
export function facetUrls(kind: string): string[] {
  return FACETS.map((f) => `/api/catalog/entity-facets?${new URLSearchParams({ facet: f, filter: `kind=${kind}` })}`);
}

/** Users per group: the Members column of the group table. */
export const MEMBER_COUNTS_URL = `/api/catalog/entity-facets?${new URLSearchParams({ facet: 'relations.memberOf', filter: 'kind=user' })}`;

export interface FacetValue { value: string; count: number }
export interface FacetsResponse { facets: Record<string, FacetValue[]> }

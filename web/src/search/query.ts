// The search API in Backstage's shape (GET /api/search/query): the query
// string a search makes and the answer's types.
import { get } from '../api';

export const TYPE_CATALOG = 'software-catalog';
export const TYPE_DOCS = 'techdocs';

export interface SearchDocument {
  title: string;
  text?: string;
  location: string;
  kind?: string;
  namespace?: string;
  name?: string;
  lifecycle?: string;
  owner?: string;
  type?: string;
  componentType?: string;
  path?: string;
  entityTitle?: string;
}
export interface SearchHighlight { preTag: string; postTag: string; fields: { title?: string; text?: string } }
export interface SearchResult { type: string; document: SearchDocument; highlight?: SearchHighlight; rank?: number }
export interface FacetCount { value: string; count: number }
export interface SearchResponse {
  results: SearchResult[];
  nextPageCursor?: string;
  previousPageCursor?: string;
  numberOfResults?: number;
  /** The count stopped at its cap (Rigger counts at most 1,001 matches): numberOfResults is a floor. */
  numberOfResultsCapped?: boolean;
  facets?: { type?: FacetCount[]; kind?: FacetCount[] };
}

/** "1 result", "42 results", or "1,000+ results" when the server's count stopped at its cap. */
export function resultCount(r: Pick<SearchResponse, 'numberOfResults' | 'numberOfResultsCapped' | 'results'>): string {
  const n = r.numberOfResults ?? r.results.length;
  const shown = r.numberOfResultsCapped ? `${Math.max(n - 1, 0).toLocaleString('en-US')}+` : n.toLocaleString('en-US');
  return `${shown} result${n === 1 && !r.numberOfResultsCapped ? '' : 's'}`;
}

export interface SearchParams {
  term: string;
  /** Document types; empty = all. */
  types?: string[];
  /** filters[key]=value (kind, namespace, name, lifecycle, owner, …). */
  filters?: Record<string, string | undefined>;
  pageCursor?: string;
  pageLimit?: number;
}

/** The API's query string for a search. */
export function searchQueryString(p: SearchParams): string {
  const q = new URLSearchParams();
  q.set('term', p.term);
  for (const t of p.types ?? []) q.append('types[]', t);
  for (const [k, v] of Object.entries(p.filters ?? {}).sort(([a], [b]) => a.localeCompare(b))) {
    if (v) q.append(`filters[${k}]`, v);
  }
  if (p.pageCursor) q.set('pageCursor', p.pageCursor);
  if (p.pageLimit) q.set('pageLimit', String(p.pageLimit));
  return q.toString();
}

export const search = (p: SearchParams, signal?: AbortSignal) => get<SearchResponse>(`/api/search/query?${searchQueryString(p)}`, signal);

/** The search page's state, as its URL holds it (/search?term=&type=&kind=&cursor=). */
export interface PageState { term: string; type?: string; kind?: string; cursor?: string }

export function readPageState(sp: URLSearchParams): PageState {
  return {
    term: sp.get('term') ?? '',
    type: sp.get('type') || undefined,
    kind: sp.get('kind') || undefined,
    cursor: sp.get('cursor') || undefined,
  };
}

export function pageStateQuery(s: PageState): string {
  const q = new URLSearchParams();
  q.set('term', s.term);
  if (s.type) q.set('type', s.type);
  if (s.kind) q.set('kind', s.kind);
  if (s.cursor) q.set('cursor', s.cursor);
  return q.toString();
}

/** The API search the page's state stands for: both types unless one is chosen. */
export function pageSearch(s: PageState): SearchParams {
  return {
    term: s.term,
    types: s.type ? [s.type] : [TYPE_CATALOG, TYPE_DOCS],
    filters: { kind: s.kind },
    pageCursor: s.cursor,
  };
}

/** The UI route a result opens: the API gives /catalog/... and /docs/... locations; anything else stays in the app's root. */
export function resultRoute(d: SearchDocument): string {
  const loc = d.location ?? '';
  if (loc.startsWith('/') && !loc.startsWith('//')) return loc;
  return '/search';
}

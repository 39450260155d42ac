// How the pickers ask the catalog: one by-query request per settled
// keystroke (a page of 20, only the fields a picker shows, no count of
// every match: totalItems=exclude), more pages through the cursor. Never
// the whole catalog.
import { useEffect, useRef, useState } from 'react';
import { get, entityRef, type Entity, type QueryResponse } from '../api';
import { useDebounced } from '../ui';

export const PAGE = 20;
export const FIELDS = 'kind,metadata.name,metadata.namespace,metadata.title';
/** What a typed text is matched against: what an option shows (as Backstage's pickers do). */
export const SEARCH_FIELDS = 'metadata.name,metadata.title,spec.profile.displayName';
/**
 * How long a picker waits after a keystroke before it asks: short enough
 * that results follow typing (the target is 150 ms from key to results),
 * long enough that a burst of keys sends one request; a request still
 * running when the text changes is aborted, so the server answers only the
 * latest text.
 */
export const DEBOUNCE_MS = 50;

/** A catalogFilter value: Backstage allows a string, a list of strings, or {exists: true}. */
type FilterValue = string | string[] | { exists: boolean } | number | boolean;
export type CatalogFilter = Record<string, FilterValue>;

/** Turns catalogFilter (object or array of objects) into by-query `filter` params (one per object; OR between them). */
export function filterParams(cf: CatalogFilter | CatalogFilter[] | undefined): string[] {
  if (!cf) return [];
  const list = Array.isArray(cf) ? cf : [cf];
  return list
    .map((f) => {
      const parts: string[] = [];
      for (const [k, v] of Object.entries(f)) {
        if (v && typeof v === 'object' && !Array.isArray(v)) {
          if ((v as { exists: boolean }).exists) parts.push(k);
          continue;
        }
        for (const one of Array.isArray(v) ? v : [v]) parts.push(`${k}=${String(one)}`);
      }
      return parts.join(',');
    })
    .filter((s) => s !== '');
}

/** Adds conditions to every filter (AND); with no filters, the conditions alone. */
export function andFilters(filters: string[], extra: string): string[] {
  if (!extra) return filters;
  return filters.length ? filters.map((f) => `${f},${extra}`) : [extra];
}

export function queryUrl(filters: string[], term: string): string {
  const q = new URLSearchParams();
  for (const f of filters) q.append('filter', f);
  if (term.trim()) {
    q.set('fullTextFilterTerm', term.trim());
    q.set('fullTextFilterFields', SEARCH_FIELDS);
  }
  q.set('limit', String(PAGE));
  q.set('fields', FIELDS);
  q.set('orderField', 'metadata.name,asc');
  // A picker shows no count; counting every entity a broad text matches
  // ("s" at 100,000 entities) cost the server more than the page itself.
  q.set('totalItems', 'exclude');
  return `/api/catalog/entities/by-query?${q}`;
}

export function moreUrl(cursor: string): string {
  const q = new URLSearchParams({ cursor, limit: String(PAGE), fields: FIELDS });
  return `/api/catalog/entities/by-query?${q}`;
}

/** A picker's answer: asked with totalItems=exclude, it has no totalItems. */
type PickerResponse = Omit<QueryResponse, 'totalItems'>;

export interface Option { value: string; label: string; detail?: string }

export function entityOption(e: Entity): Option {
  return { value: entityRef(e), label: e.metadata.title || e.metadata.name, detail: entityRef(e) };
}

export interface Search { options: Option[]; loading: boolean; error?: unknown; more?: () => void }

/**
 * Searches the catalog for term (debounced) while active; a new term
 * aborts the request before it. filters is compared by value.
 */
export function useEntitySearch(filters: string[], term: string, active: boolean): Search {
  const settled = useDebounced(term, DEBOUNCE_MS);
  const key = filters.join('\n');
  const [state, setState] = useState<{ options: Option[]; loading: boolean; error?: unknown; cursor?: string; term?: string; key?: string }>({ options: [], loading: false });
  const moreCtl = useRef<AbortController>();
  useEffect(() => {
    if (!active) return;
    const ctl = new AbortController();
    setState((s) => ({ ...s, loading: true, error: undefined }));
    get<PickerResponse>(queryUrl(filters, settled), ctl.signal).then(
      (r) => { if (!ctl.signal.aborted) setState({ options: r.items.map(entityOption), loading: false, cursor: r.pageInfo?.nextCursor, term: settled, key }); },
      (error) => { if (!ctl.signal.aborted) setState({ options: [], loading: false, error, term: settled, key }); },
    );
    return () => { ctl.abort(); moreCtl.current?.abort(); };
    // eslint-disable-next-line react-hooks/exhaustive-deps
  }, [key, settled, active]);
  const more = state.cursor
    ? () => {
        const cursor = state.cursor!;
        moreCtl.current?.abort();
        const ctl = (moreCtl.current = new AbortController());
        setState((s) => ({ ...s, loading: true }));
        get<PickerResponse>(moreUrl(cursor), ctl.signal).then(
          (r) => { if (!ctl.signal.aborted) setState((s) => ({ ...s, options: [...s.options, ...r.items.map(entityOption)], loading: false, cursor: r.pageInfo?.nextCursor })); },
          (error) => { if (!ctl.signal.aborted) setState((s) => ({ ...s, loading: false, error })); },
        );
      }
    : undefined;
  // Results of an older term are not offered: Enter must not pick a stale match.
  const stale = state.term !== term || state.key !== key;
  if (stale) return { options: [], loading: active, error: undefined, more: undefined };
  return { options: state.options, loading: state.loading, error: state.error, more };
}

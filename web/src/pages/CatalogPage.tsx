// The catalog: a table of one kind's entities with filters, every one of
// them in the URL (shareable; the back button undoes a filter).
import { useEffect, useMemo, useState } from 'react';
import { useSearchParams } from 'react-router-dom';
import { entityRef, get, humanRef, type QueryResponse } from '../api';
import { useSession } from '../session';
import { Empty, ErrorBox, Loading, useAsync, useDebounced, useTitle } from '../ui';
import { columnsFor } from '../catalog/columns';
import { facetUrls, MEMBER_COUNTS_URL, PAGE_SIZES, queryUrl, readFilters, withFilters, type CatalogFilters, type FacetsResponse, type FacetValue } from '../catalog/query';
import { useStars } from '../catalog/stars';

const KNOWN_KINDS = ['Component', 'API', 'System', 'Domain', 'Resource', 'Group', 'User', 'Template', 'Location'];

function plural(kind: string, n: number): string {
  const k = kind.toLowerCase();
  if (n === 1) return k === 'api' ? 'API' : k;
  return k === 'api' ? 'APIs' : `${k}s`;
}

function FacetSelect({ id, label, value, values, onChange, show = (v) => v }: {
  id: string; label: string; value: string; values: FacetValue[] | undefined; onChange: (v: string) => void; show?: (v: string) => string;
}) {
  // Keep a chosen value selectable even when the facets do not list it (yet).
  const list = values ?? [];
  const has = !value || list.some((v) => v.value === value);
  // Nothing to choose (no entity of this kind has the field): no select.
  if (values && list.length === 0 && !value) return null;
  return (
    <div className="field">
      <label htmlFor={id}>{label}</label>
      <select id={id} value={value} onChange={(e) => onChange(e.target.value)}>
        <option value="">All</option>
        {!has ? <option value={value}>{show(value)}</option> : null}
        {list.map((v) => (
          <option key={v.value} value={v.value}>{show(v.value)} ({v.count})</option>
        ))}
      </select>
    </div>
  );
}

export function CatalogPage() {
  const [params, setParams] = useSearchParams();
  const f = readFilters(params);
  const session = useSession();
  const { stars, isStarred, toggle } = useStars();
  const myRefs = useMemo(() => {
    const u = session.user;
    if (!u) return [];
    return u.ent && u.ent.length > 0 ? u.ent : [u.ref];
  }, [session.user]);

  const update = (change: Partial<CatalogFilters>, replace = false) => setParams(withFilters(params, change), { replace });

  // The text box: typed freely, written to the URL once typing settles.
  const [text, setText] = useState(f.text);
  const settled = useDebounced(text, 250);
  useEffect(() => {
    if (settled !== f.text) update({ text: settled }, true);
    // eslint-disable-next-line react-hooks/exhaustive-deps
  }, [settled]);
  useEffect(() => { setText(f.text); }, [f.text]);

  const url = queryUrl(f, myRefs, f.starred ? stars : []);
  // The answer remembers its kind: while another kind loads, the old rows
  // keep their own columns.
  const list = useAsync(
    async (signal) => ({
      kind: f.kind,
      page: url ? await get<QueryResponse>(url, signal) : ({ items: [], totalItems: 0, pageInfo: {} } as QueryResponse),
    }),
    [url],
  );
  // The table comes first: the counts wait for it (on SQLite their queries
  // would otherwise queue beside the page's and slow the first render).
  const listReady = !!(list.data || list.error);
  const kinds = useAsync(
    (signal) => (listReady ? get<FacetsResponse>('/api/catalog/entity-facets?facet=kind', signal) : Promise.resolve(undefined)),
    [listReady],
  );
  const facets = useAsync(
    async (signal) => {
      if (!listReady) return undefined;
      const all = await Promise.all(facetUrls(f.kind).map((u) => get<FacetsResponse>(u, signal)));
      return { facets: Object.assign({}, ...all.map((r) => r.facets)) } as FacetsResponse;
    },
    [f.kind, listReady],
  );
  const members = useAsync(
    (signal) => (listReady && f.kind === 'group' ? get<FacetsResponse>(MEMBER_COUNTS_URL, signal) : Promise.resolve(undefined)),
    [f.kind, listReady],
  );
  const cellContext = useMemo(() => {
    const counts = members.data?.facets['relations.memberOf'];
    return { memberCounts: counts ? new Map(counts.map((c) => [c.value.toLowerCase(), c.count])) : undefined };
  }, [members.data]);

  const kindLabel = (kinds.data?.facets.kind ?? []).find((k) => k.value.toLowerCase() === f.kind)?.value
    ?? KNOWN_KINDS.find((k) => k.toLowerCase() === f.kind) ?? f.kind;
  useTitle(`Catalog · ${plural(kindLabel, 2)}`);

  const kindOptions = useMemo(() => {
    // Until the catalog's own kinds arrive, offer the usual ones.
    const found = kinds.data?.facets.kind ?? KNOWN_KINDS.map((value) => ({ value, count: 0 }));
    const out = [...found];
    if (!out.some((k) => k.value.toLowerCase() === f.kind)) out.push({ value: kindLabel, count: 0 });
    return out.sort((a, b) => a.value.localeCompare(b.value));
  }, [kinds.data, f.kind, kindLabel]);

  const fv = facets.data?.facets ?? {};
  const cols = columnsFor(list.data?.kind ?? f.kind);
  const filtered = !!(f.owner || f.type || f.lifecycle || f.tag || f.namespace || f.text || f.mine || f.starred);
  const data = list.data?.page;

  return (
    <div className="catalog">
      <div className="catalog-head">
        <h1>Catalog</h1>
        <div className="field inline">
          <label htmlFor="cat-kind">Kind</label>
          <select id="cat-kind" value={f.kind} onChange={(e) => update({ kind: e.target.value.toLowerCase() })}>
            {kindOptions.map((k) => (
              <option key={k.value} value={k.value.toLowerCase()}>{k.value}{k.count ? ` (${k.count})` : ''}</option>
            ))}
          </select>
        </div>
      </div>
      {kinds.error ? <ErrorBox error={kinds.error} title="Could not load the kinds" /> : null}
      <div className="catalog-layout">
        <form className="catalog-filters" aria-label="Filters" role="search" onSubmit={(e) => e.preventDefault()}>
          <div className="field">
            <label htmlFor="cat-text">Search {plural(kindLabel, 2)}</label>
            <input id="cat-text" type="search" value={text} onChange={(e) => setText(e.target.value)} placeholder="Name, title, tag…" />
          </div>
          <fieldset className="checks">
            <legend className="sr-only">Personal filters</legend>
            <label className="check">
              <input type="checkbox" checked={f.mine} onChange={(e) => update({ mine: e.target.checked })} /> Owned by me
            </label>
            <label className="check">
              <input type="checkbox" checked={f.starred} onChange={(e) => update({ starred: e.target.checked })} /> Starred
            </label>
          </fieldset>
          <FacetSelect id="cat-owner" label="Owner" value={f.owner} values={fv['relations.ownedBy']} onChange={(v) => update({ owner: v })} show={(v) => humanRef(v, 'group')} />
          <FacetSelect id="cat-type" label="Type" value={f.type} values={fv['spec.type']} onChange={(v) => update({ type: v })} />
          <FacetSelect id="cat-lifecycle" label="Lifecycle" value={f.lifecycle} values={fv['spec.lifecycle']} onChange={(v) => update({ lifecycle: v })} />
          <FacetSelect id="cat-tag" label="Tag" value={f.tag} values={fv['metadata.tags']} onChange={(v) => update({ tag: v })} />
          <FacetSelect id="cat-namespace" label="Namespace" value={f.namespace} values={fv['metadata.namespace']} onChange={(v) => update({ namespace: v })} />
          {facets.error ? <p className="muted small" role="alert">Filter counts unavailable: {(facets.error as Error).message}</p> : null}
          {filtered ? (
            <button type="button" onClick={() => { setText(''); setParams(f.kind === 'component' ? {} : { kind: f.kind }); }}>Clear filters</button>
          ) : null}
        </form>
        <section className="catalog-results" aria-labelledby="cat-count">
          <div className="catalog-bar">
            <h2 id="cat-count" aria-live="polite">
              {data ? `${data.totalItems} ${plural(kindLabel, data.totalItems)}` : plural(kindLabel, 2)}
              {list.loading && data ? <span className="spinner small-spin" aria-label="Updating" /> : null}
            </h2>
            <div className="field inline">
              <label htmlFor="cat-limit">Per page</label>
              <select id="cat-limit" value={f.limit} onChange={(e) => update({ limit: Number(e.target.value) })}>
                {PAGE_SIZES.map((n) => <option key={n} value={n}>{n}</option>)}
              </select>
            </div>
          </div>
          {list.error ? <ErrorBox error={list.error} title="Could not load the catalog" /> : null}
          {!data && list.loading ? <Loading what={plural(kindLabel, 2)} /> : null}
          {data && data.items.length === 0 && !list.error ? (
            <Empty>
              {f.starred && !url ? `No starred ${plural(kindLabel, 2)} yet: use the ☆ button in a row to star one.`
                : f.mine && !url ? 'You are signed in without an identity that can own entities.'
                  : f.mine && !f.text && !f.type && !f.lifecycle && !f.tag && !f.namespace && !f.starred
                    ? `No ${plural(kindLabel, 2)} are owned by you (${myRefs.map((r) => humanRef(r)).join(', ')}).`
                    : filtered ? `No ${plural(kindLabel, 2)} match these filters.` : `No ${plural(kindLabel, 2)} in the catalog yet.`}
            </Empty>
          ) : null}
          {data && data.items.length > 0 ? (
            <div className="table-wrap">
              <table className={list.loading ? 'catalog-table stale' : 'catalog-table'} aria-busy={list.loading}>
                <thead>
                  <tr>
                    <th scope="col"><span className="sr-only">Starred</span></th>
                    {cols.map((c) => <th scope="col" key={c.header} className={c.className}>{c.header}</th>)}
                  </tr>
                </thead>
                <tbody>
                  {data.items.map((e) => {
                    const ref = entityRef(e);
                    const on = isStarred(ref);
                    return (
                      <tr key={ref}>
                        <td className="star-cell">
                          <button type="button" className={on ? 'star on' : 'star'} aria-pressed={on} aria-label={`Star ${humanRef(ref, f.kind)}`} title={on ? 'Unstar' : 'Star'} onClick={() => toggle(ref)}>
                            <span aria-hidden="true">{on ? '★' : '☆'}</span>
                          </button>
                        </td>
                        {cols.map((c) => <td key={c.header} className={c.className}>{c.cell(e, cellContext)}</td>)}
                      </tr>
                    );
                  })}
                </tbody>
              </table>
            </div>
          ) : null}
          {data && (data.pageInfo.prevCursor || data.pageInfo.nextCursor) ? (
            <nav className="pager" aria-label="Pages">
              <button type="button" disabled={!data.pageInfo.prevCursor} onClick={() => update({ cursor: data.pageInfo.prevCursor })}>← Previous</button>
              <button type="button" disabled={!data.pageInfo.nextCursor} onClick={() => update({ cursor: data.pageInfo.nextCursor })}>Next →</button>
            </nav>
          ) : null}
        </section>
      </div>
    </div>
  );
}

// /search?term=… — one search over the catalog and the docs (the search
// API, Backstage's shape): results with a type chip, a highlighted
// snippet and the entity's owner, kind and lifecycle; filters by type and
// kind (the API's facets), paging by cursor. The URL holds it all.
import { useEffect, useState, type FormEvent } from 'react';
import { Link, useSearchParams } from 'react-router-dom';
import { humanRef } from '../api';
import { Empty, ErrorBox, Loading, useAsync, useTitle } from '../ui';
import { Highlighted } from '../search/Highlighted';
import {
  pageSearch, pageStateQuery, readPageState, resultCount, resultRoute, search, TYPE_CATALOG, TYPE_DOCS,
  type PageState, type SearchResult,
} from '../search/query';

const typeLabel = (t: string) => (t === TYPE_CATALOG ? 'Catalog' : t === TYPE_DOCS ? 'Docs' : t);

function Result({ r }: { r: SearchResult }) {
  const d = r.document;
  const hl = r.highlight;
  const meta: string[] = [];
  if (d.kind) meta.push(d.kind);
  if (d.owner) meta.push(`owner ${humanRef(d.owner, 'group')}`);
  if (d.lifecycle) meta.push(d.lifecycle);
  if (r.type === TYPE_DOCS && (d.entityTitle || d.name)) meta.push(`docs of ${d.entityTitle || d.name}`);
  return (
    <li className="search-result">
      <span className={`chip type-${r.type === TYPE_DOCS ? 'docs' : 'catalog'}`}>{typeLabel(r.type)}</span>{' '}
      <Link to={resultRoute(d)} className="search-title">
        <Highlighted value={hl?.fields.title || d.title} preTag={hl?.preTag} postTag={hl?.postTag} />
      </Link>
      {hl?.fields.text || d.text ? (
        <p className="search-snippet"><Highlighted value={hl?.fields.text || d.text || ''} preTag={hl?.preTag} postTag={hl?.postTag} /></p>
      ) : null}
      {meta.length ? <p className="small muted">{meta.join(' · ')}</p> : null}
    </li>
  );
}

export default function SearchPage() {
  const [sp, setSp] = useSearchParams();
  const state = readPageState(sp);
  const [draft, setDraft] = useState(state.term);
  useEffect(() => setDraft(state.term), [state.term]);
  useTitle(state.term ? `Search: ${state.term}` : 'Search');
  const query = pageStateQuery(state);
  const res = useAsync((signal) => (state.term.trim() ? search(pageSearch(state), signal) : Promise.resolve(undefined)), [query]);
  const go = (next: PageState) => setSp(new URLSearchParams(pageStateQuery(next)));
  const submit = (e: FormEvent) => {
    e.preventDefault();
    go({ ...state, term: draft.trim(), cursor: undefined });
  };
  const data = res.data;
  const typeFacets = data?.facets?.type ?? [];
  const kindFacets = data?.facets?.kind ?? [];
  return (
    <div className="search-page">
      <h1>Search</h1>
      <form role="search" className="search-form" onSubmit={submit}>
        <label htmlFor="search-term" className="sr-only">Search the catalog and the docs</label>
        <input id="search-term" type="search" value={draft} onChange={(e) => setDraft(e.target.value)} placeholder="Search the catalog and the docs" />
        <button type="submit" className="primary">Search</button>
      </form>
      <div className="search-layout">
        <div className="search-filters">
          <fieldset>
            <legend>Type</legend>
            {[['', 'All'], [TYPE_CATALOG, 'Catalog'], [TYPE_DOCS, 'Docs']].map(([v, label]) => {
              const n = v ? typeFacets.find((f) => f.value === v)?.count : undefined;
              return (
                <label key={v} className="check">
                  <input type="radio" name="search-type" checked={(state.type ?? '') === v} onChange={() => go({ ...state, type: v || undefined, cursor: undefined })} />
                  {label}{n !== undefined ? <span className="muted small"> ({n})</span> : null}
                </label>
              );
            })}
          </fieldset>
          <label className="field">
            Kind
            <select value={state.kind ?? ''} onChange={(e) => go({ ...state, kind: e.target.value || undefined, cursor: undefined })}>
              <option value="">Any kind</option>
              {state.kind && !kindFacets.some((f) => f.value.toLowerCase() === state.kind?.toLowerCase()) ? <option value={state.kind}>{state.kind}</option> : null}
              {kindFacets.map((f) => <option key={f.value} value={f.value.toLowerCase()}>{f.value} ({f.count})</option>)}
            </select>
          </label>
        </div>
        <section className="search-results" aria-label="Results">
          {!state.term.trim() ? (
            <Empty><p>Type a name, a word of a description or a docs heading to search the catalog and the docs.</p></Empty>
          ) : res.error ? (
            <ErrorBox error={res.error} title="Search failed" />
          ) : !data ? (
            <Loading what="results" />
          ) : data.results.length === 0 ? (
            <Empty><p>Nothing matches “{state.term}”{state.type || state.kind ? ' with these filters' : ''}.</p></Empty>
          ) : (
            <>
              <p className="muted small" role="status">
                {resultCount(data)} for “{state.term}”
                {res.loading ? ' (updating…)' : ''}
              </p>
              <ol className="search-list">
                {data.results.map((r, i) => <Result key={`${r.document.location}-${i}`} r={r} />)}
              </ol>
              <div className="pager">
                <button type="button" disabled={!data.previousPageCursor} onClick={() => go({ ...state, cursor: data.previousPageCursor })}>Previous</button>
                <button type="button" disabled={!data.nextPageCursor} onClick={() => go({ ...state, cursor: data.nextPageCursor })}>Next</button>
              </div>
            </>
          )}
        </section>
      </div>
    </div>
  );
}

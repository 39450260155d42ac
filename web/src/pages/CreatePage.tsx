// The template gallery: every template the caller may see, as cards,
// filtered by text, tag and type; the filters live in the URL.
import { useMemo } from 'react';
import { Link, useSearchParams } from 'react-router-dom';
import { entityPath, get, humanRef, parseRef, type Entity, type QueryResponse } from '../api';
import { Empty, ErrorBox, Loading, useAsync, useDebounced, useTitle } from '../ui';

const PAGE = 200;

async function loadTemplates(signal: AbortSignal): Promise<Entity[]> {
  const out: Entity[] = [];
  let url = `/api/catalog/entities/by-query?filter=kind=template&limit=${PAGE}&orderField=metadata.title,asc`;
  // Templates are few; follow the cursor a bounded number of times.
  for (let i = 0; i < 10; i++) {
    const r = await get<QueryResponse>(url, signal);
    out.push(...r.items);
    const next = r.pageInfo?.nextCursor;
    if (!next) break;
    url = `/api/catalog/entities/by-query?cursor=${encodeURIComponent(next)}&limit=${PAGE}`;
  }
  return out;
}

/** The template's owner as a full ref (spec.owner may say just "team-a", a group). */
function owner(e: Entity): string | undefined {
  const ref = e.relations?.find((r) => r.type === 'ownedBy')?.targetRef ?? (typeof e.spec?.owner === 'string' ? e.spec.owner : undefined);
  if (!ref) return undefined;
  const p = parseRef(ref, 'group');
  return `${p.kind}:${p.namespace}/${p.name}`;
}

export function matches(e: Entity, q: string, tag: string, type: string): boolean {
  if (tag && !(e.metadata.tags ?? []).includes(tag)) return false;
  if (type && e.spec?.type !== type) return false;
  if (q) {
    const hay = [e.metadata.name, e.metadata.title, e.metadata.description, ...(e.metadata.tags ?? [])].join(' ').toLowerCase();
    if (!q.toLowerCase().split(/\s+/).filter(Boolean).every((w) => hay.includes(w))) return false;
  }
  return true;
}

export function CreatePage() {
  useTitle('Create');
  const [sp, setSp] = useSearchParams();
  const q = sp.get('q') ?? '';
  const tag = sp.get('tag') ?? '';
  const type = sp.get('type') ?? '';
  const settledQ = useDebounced(q, 150);
  const list = useAsync(loadTemplates, []);
  const set = (k: string, v: string) => {
    const next = new URLSearchParams(sp);
    if (v) next.set(k, v);
    else next.delete(k);
    setSp(next, { replace: true });
  };
  const all = list.data ?? [];
  const tags = useMemo(() => [...new Set(all.flatMap((e) => e.metadata.tags ?? []))].sort(), [all]);
  const types = useMemo(() => [...new Set(all.map((e) => e.spec?.type).filter((t): t is string => typeof t === 'string'))].sort(), [all]);
  const shown = all.filter((e) => matches(e, settledQ, tag, type));

  return (
    <div className="create-page">
      <div className="create-head">
        <h1>Create</h1>
        <Link to="/create/edit" className="button">Template editor</Link>
      </div>
      <p className="muted">Pick a template, fill in its form, and Rigger runs it for you.</p>
      <form className="gallery-filters" role="search" onSubmit={(e) => e.preventDefault()}>
        <div>
          <label htmlFor="tpl-q">Search templates</label>
          <input id="tpl-q" type="search" value={q} onChange={(e) => set('q', e.target.value)} placeholder="Name, description or tag" />
        </div>
        <div>
          <label htmlFor="tpl-type">Type</label>
          <select id="tpl-type" value={type} onChange={(e) => set('type', e.target.value)}>
            <option value="">All types</option>
            {types.map((t) => <option key={t} value={t}>{t}</option>)}
          </select>
        </div>
        <div>
          <label htmlFor="tpl-tag">Tag</label>
          <select id="tpl-tag" value={tag} onChange={(e) => set('tag', e.target.value)}>
            <option value="">All tags</option>
            {tags.map((t) => <option key={t} value={t}>{t}</option>)}
          </select>
        </div>
        {q || tag || type ? (
          <button type="button" onClick={() => setSp(new URLSearchParams(), { replace: true })}>Clear filters</button>
        ) : null}
      </form>
      {list.loading && !list.data ? <Loading what="templates" /> : null}
      {list.error ? <ErrorBox error={list.error} title="Could not load the templates" /> : null}
      {list.data && all.length === 0 ? (
        <Empty>
          No templates yet. Register a <code>template.yaml</code> in the catalog, or write one in the{' '}
          <Link to="/create/edit">template editor</Link>.
        </Empty>
      ) : null}
      {list.data && all.length > 0 && shown.length === 0 ? (
        <Empty>No template matches these filters. <button type="button" className="link" onClick={() => setSp(new URLSearchParams(), { replace: true })}>Clear filters</button></Empty>
      ) : null}
      {shown.length ? (
        <>
          <p className="muted" aria-live="polite">{shown.length === all.length ? `${all.length} templates` : `${shown.length} of ${all.length} templates`}</p>
          <ul className="cards template-cards">
            {shown.map((e) => {
              const ns = e.metadata.namespace ?? 'default';
              const o = owner(e);
              const title = e.metadata.title || e.metadata.name;
              return (
                <li key={`${ns}/${e.metadata.name}`} className="card template-card">
                  <div className="template-card-head">
                    <h2>{title}</h2>
                    {e.spec?.type ? <span className="template-type">{String(e.spec.type)}</span> : null}
                  </div>
                  <p>{e.metadata.description || <span className="muted">No description.</span>}</p>
                  {e.metadata.tags?.length ? (
                    <ul className="chips" aria-label="Tags">
                      {e.metadata.tags.map((t) => (
                        <li key={t}>
                          <button type="button" className={`chip${t === tag ? ' chip-on' : ''}`} aria-pressed={t === tag} onClick={() => set('tag', t === tag ? '' : t)} title={t === tag ? `Stop filtering by ${t}` : `Show templates tagged ${t}`}>{t}</button>
                        </li>
                      ))}
                    </ul>
                  ) : null}
                  <div className="template-card-foot">
                    {o ? <span className="muted">Owner: <Link to={entityPath(o)}>{humanRef(o, 'group')}</Link></span> : <span className="muted">No owner</span>}
                    <Link className="button primary" to={`/create/templates/${encodeURIComponent(ns)}/${encodeURIComponent(e.metadata.name)}`} aria-label={`Choose ${title}`}>Choose</Link>
                  </div>
                </li>
              );
            })}
          </ul>
        </>
      ) : null}
    </div>
  );
}

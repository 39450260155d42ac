// Search within one docs site. It asks the search API for this entity's
// docs pages (types[]=techdocs, filtered by kind, namespace and name: the
// same typo tolerance and permission checks as the global search); where
// the server has no search API (404) it searches the site's own MkDocs
// index (search/search_index.json) in the browser instead.
import { useEffect, useId, useState } from 'react';
import { Link } from 'react-router-dom';
import { ApiError } from '../api';
import { useDebounced } from '../ui';
import { Highlighted } from '../search/Highlighted';
import { search, TYPE_DOCS } from '../search/query';
import { fetchText, staticUrl, type DocsEntity } from './site';

export interface SiteHit { path: string; title: string; text: string; pre?: string; post?: string; titleHl?: string; textHl?: string }

interface MkDocsIndex { docs?: { location: string; title: string; text: string }[] }

/** Searches a site's MkDocs index: every word of the term must appear in the title or text. */
export function searchMkDocsIndex(index: MkDocsIndex, term: string, limit = 10): SiteHit[] {
  const words = term.toLowerCase().split(/\s+/).filter(Boolean);
  if (words.length === 0) return [];
  const hits: (SiteHit & { score: number })[] = [];
  for (const d of index.docs ?? []) {
    const title = d.title.toLowerCase();
    const text = d.text.toLowerCase();
    if (!words.every((w) => title.includes(w) || text.includes(w))) continue;
    const score = words.filter((w) => title.includes(w)).length * 10 + (d.location.includes('#') ? 0 : 1);
    const at = Math.max(0, text.indexOf(words[0]) - 40);
    hits.push({ path: d.location, title: d.title, text: (at > 0 ? '…' : '') + d.text.slice(at, at + 160), score });
  }
  return hits.sort((a, b) => b.score - a.score).slice(0, limit);
}

/** A docs result's path within its site, from the API's document. */
export function sitePathOf(doc: { path?: string; location: string }, entity: DocsEntity): string {
  if (doc.path !== undefined) return doc.path;
  const prefix = `/docs/${encodeURIComponent(entity.namespace)}/${encodeURIComponent(entity.kind.toLowerCase())}/${encodeURIComponent(entity.name)}/`;
  return doc.location.startsWith(prefix) ? doc.location.slice(prefix.length) : '';
}

async function searchSite(entity: DocsEntity, term: string, signal: AbortSignal): Promise<SiteHit[]> {
  try {
    const r = await search({ term, types: [TYPE_DOCS], filters: { kind: entity.kind.toLowerCase(), namespace: entity.namespace, name: entity.name }, pageLimit: 10 }, signal);
    return r.results.map((x) => ({
      path: sitePathOf(x.document, entity),
      title: x.document.title,
      text: x.document.text ?? '',
      pre: x.highlight?.preTag,
      post: x.highlight?.postTag,
      titleHl: x.highlight?.fields.title,
      textHl: x.highlight?.fields.text,
    }));
  } catch (e) {
    if ((e as ApiError).status !== 404) throw e;
    const index = JSON.parse(await fetchText(staticUrl(entity, 'search/search_index.json'), signal)) as MkDocsIndex;
    return searchMkDocsIndex(index, term);
  }
}

export function SiteSearch({ entity, routeBase }: { entity: DocsEntity; routeBase: string }) {
  const id = useId();
  const [term, setTerm] = useState('');
  const q = useDebounced(term.trim(), 200);
  const [res, setRes] = useState<{ hits?: SiteHit[]; error?: string; loading?: boolean }>({});
  useEffect(() => {
    if (!q) { setRes({}); return; }
    const ctl = new AbortController();
    setRes((r) => ({ ...r, loading: true }));
    searchSite(entity, q, ctl.signal).then(
      (hits) => { if (!ctl.signal.aborted) setRes({ hits }); },
      (e) => { if (!ctl.signal.aborted) setRes({ error: (e as Error).message }); },
    );
    return () => ctl.abort();
    // eslint-disable-next-line react-hooks/exhaustive-deps
  }, [q, entity.namespace, entity.kind, entity.name]);
  return (
    <div className="site-search" role="search">
      <label htmlFor={id} className="sr-only">Search these docs</label>
      <input id={id} type="search" placeholder="Search these docs" value={term} onChange={(e) => setTerm(e.target.value)} />
      {q && term.trim() ? (
        <div className="site-search-results" aria-live="polite">
          {res.error ? <p className="small">Search failed: {res.error}</p> : null}
          {res.hits && res.hits.length === 0 ? <p className="small muted">No page matches “{q}”.</p> : null}
          {res.hits?.length ? (
            <ul>
              {res.hits.map((h, i) => (
                <li key={`${h.path}-${i}`}>
                  <Link to={`${routeBase}/${h.path}`} onClick={() => setTerm('')}>
                    <Highlighted value={h.titleHl || h.title} preTag={h.pre} postTag={h.post} />
                  </Link>
                  {h.text || h.textHl ? (
                    <p className="small muted"><Highlighted value={h.textHl || h.text} preTag={h.pre} postTag={h.post} /></p>
                  ) : null}
                </li>
              ))}
            </ul>
          ) : null}
        </div>
      ) : null}
    </div>
  );
}

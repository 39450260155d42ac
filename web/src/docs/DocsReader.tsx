// The TechDocs reader: the site's nav on the left, the page in the
// middle, its table of contents on the right; above them the site's name,
// an "Edit this page" link and how the last build went. Opening it syncs
// the site (as Backstage's reader does) and reloads the page when the
// build changed it; a site never built yet shows the build's log until
// its first page can be shown.
import { useEffect, useMemo, useRef, useState, type MouseEvent, type KeyboardEvent } from 'react';
import { Link, useLocation, useNavigate } from 'react-router-dom';
import { ApiError } from '../api';
import { ErrorBox, Loading, useAsync } from '../ui';
import { CONTENT_ID_PREFIX, prepareArticle, selectTab } from './article';
import { renderDiagrams } from './mermaid';
import { SiteSearch } from './SiteSearch';
import {
  editUrl, fetchBuild, fetchImageDataUrl, fetchMetadata, fetchText, imagesNeedToken, pageFile, staticUrl, syncDocs,
  type DocsEntity, type NavItem, type SiteMetadata, type SitePage,
} from './site';

export interface ReaderProps {
  entity: DocsEntity;
  /** The page's path in the site, from the route ("" = index). */
  path: string;
  /** The reader's route for the site's root (no trailing slash). */
  routeBase: string;
  /** Shown inside the entity page (a link to the full page instead of the site's title as h1). */
  embedded?: boolean;
}

const normal = (p: string) => p.replace(/^\/+/, '').replace(/\/+$/, '');

/** The page of the site a route path names. */
export function findPage(meta: SiteMetadata, path: string): SitePage | undefined {
  const want = normal(path).replace(/\/index\.html$|^index\.html$/, '');
  return meta.pages?.find((p) => normal(p.path) === want);
}

type Sync = { state: 'running' | 'done' | 'failed'; log: string[]; error?: string };

function useSync(entity: DocsEntity, onUpdated: () => void): Sync {
  const [s, setS] = useState<Sync>({ state: 'running', log: [] });
  const key = `${entity.namespace}/${entity.kind}/${entity.name}`;
  useEffect(() => {
    const ctl = new AbortController();
    setS({ state: 'running', log: [] });
    syncDocs(entity, { signal: ctl.signal, onLog: (line) => setS((p) => ({ ...p, log: [...p.log, line] })) }).then(
      (out) => {
        if (ctl.signal.aborted) return;
        if ('error' in out) setS((p) => ({ ...p, state: 'failed', error: out.error }));
        else {
          setS((p) => ({ ...p, state: 'done' }));
          if (out.updated) onUpdated();
        }
      },
      (e) => { if (!ctl.signal.aborted) setS((p) => ({ ...p, state: 'failed', error: (e as Error).message })); },
    );
    return () => ctl.abort();
    // eslint-disable-next-line react-hooks/exhaustive-deps
  }, [key]);
  return s;
}

function SiteNav({ items, current, routeBase }: { items: NavItem[]; current: string; routeBase: string }) {
  return (
    <ul>
      {items.map((it, i) => (
        <li key={`${i}-${it.title}`}>
          {it.url ? (
            <a href={it.url} target="_blank" rel="noopener noreferrer" className="external">
              {it.title} <span aria-hidden="true">↗</span><span className="sr-only"> (external link)</span>
            </a>
          ) : it.children && it.path === undefined ? (
            <span className="nav-group">{it.title}</span>
          ) : (
            <Link
              to={`${routeBase}/${it.path ?? ''}`}
              className={normal(it.path ?? '') === normal(current) ? 'active' : undefined}
              aria-current={normal(it.path ?? '') === normal(current) ? 'page' : undefined}
            >
              {it.title}
            </Link>
          )}
          {it.children?.length ? <SiteNav items={it.children} current={current} routeBase={routeBase} /> : null}
        </li>
      ))}
    </ul>
  );
}

function Article({ html, page, props }: { html: string; page: SitePage; props: ReaderProps }) {
  const ref = useRef<HTMLDivElement>(null);
  const nav = useNavigate();
  const loc = useLocation();
  const [ready, setReady] = useState(0);
  const entityKey = `${props.entity.namespace}/${props.entity.kind}/${props.entity.name}`;
  useEffect(() => {
    const el = ref.current;
    if (!el) return;
    const ctl = new AbortController();
    const frag = prepareArticle(html, { entity: props.entity, pagePath: page.path, routeBase: props.routeBase, deferImages: imagesNeedToken() });
    el.replaceChildren(...(frag ? [frag] : []));
    el.querySelectorAll<HTMLImageElement>('img[data-src]').forEach((img) => {
      fetchImageDataUrl(img.dataset.src ?? '', ctl.signal).then((u) => { img.src = u; }, () => { img.alt = `${img.alt} (could not be loaded)`; });
    });
    const dark = window.matchMedia?.('(prefers-color-scheme: dark)').matches ?? false;
    renderDiagrams(el, dark).catch(() => undefined).finally(() => { if (!ctl.signal.aborted) setReady((n) => n + 1); });
    setReady((n) => n + 1);
    return () => ctl.abort();
    // eslint-disable-next-line react-hooks/exhaustive-deps
  }, [html, page.path, entityKey, props.routeBase]);
  // Scroll to the URL's anchor once the article (and its diagrams) are in place.
  useEffect(() => {
    if (!loc.hash) return;
    let id = loc.hash.slice(1);
    try { id = decodeURIComponent(id); } catch { /* keep as is */ }
    ref.current?.querySelector(`[id="${CONTENT_ID_PREFIX}${id.replace(/["\\]/g, '')}"]`)?.scrollIntoView();
  }, [loc.hash, ready]);

  const onClick = (e: MouseEvent) => {
    const t = e.target as Element;
    const tab = t.closest('[role="tab"]');
    if (tab) { selectTab(tab); return; }
    const a = t.closest('a[data-link]') as HTMLAnchorElement | null;
    if (!a || e.defaultPrevented || e.button !== 0 || e.metaKey || e.ctrlKey || e.shiftKey || e.altKey) return;
    const kind = a.dataset.link;
    if (kind !== 'page' && kind !== 'anchor') return;
    e.preventDefault();
    const href = a.getAttribute('href') ?? '';
    nav(href);
  };
  const onKey = (e: KeyboardEvent) => {
    const t = e.target as Element;
    if (t.getAttribute('role') !== 'tab' || (e.key !== 'ArrowRight' && e.key !== 'ArrowLeft')) return;
    const tabs = Array.from(t.parentElement?.querySelectorAll<HTMLElement>('[role="tab"]') ?? []);
    const i = tabs.indexOf(t as HTMLElement);
    const next = tabs[(i + (e.key === 'ArrowRight' ? 1 : tabs.length - 1)) % tabs.length];
    if (next) { selectTab(next); next.focus(); e.preventDefault(); }
  };
  return <div ref={ref} className="md-typeset docs-article" onClick={onClick} onKeyDown={onKey} />;
}

export function DocsReader(props: ReaderProps) {
  const { entity, path, routeBase, embedded } = props;
  const [version, setVersion] = useState(0);
  const key = `${entity.namespace}/${entity.kind}/${entity.name}`;
  const sync = useSync(entity, () => setVersion((v) => v + 1));
  const meta = useAsync((s) => fetchMetadata(entity, s), [key, version]);
  // How the last build went, asked once the sync has settled it.
  const build = useAsync((s) => (sync.state === 'running' ? Promise.resolve(undefined) : fetchBuild(entity, s)), [key, version, sync.state]);
  const m = meta.data;
  const page = useMemo(() => (m ? findPage(m, path) : undefined), [m, path]);
  const html = useAsync(
    (s) => (page ? fetchText(staticUrl(entity, pageFile(page.path)), s) : Promise.resolve('')),
    [key, page?.path, version],
  );
  const loc = useLocation();
  useEffect(() => {
    if (!embedded && !loc.hash) window.scrollTo?.(0, 0);
  }, [page?.path, embedded, loc.hash]);

  const notBuilt = meta.error && (meta.error as ApiError).status === 404;
  if (meta.error && !notBuilt) return <ErrorBox error={meta.error} title="Could not load the docs" />;
  if (notBuilt) {
    return (
      <div className="state docs-building" role="status">
        <h2>Docs not built yet</h2>
        {sync.state === 'running' ? (
          <p><span className="spinner" aria-hidden="true" /> Building them now; the page appears here as soon as the build finishes.</p>
        ) : sync.state === 'failed' ? (
          <p className="docs-build-failed">The build failed: {sync.error}</p>
        ) : (
          <p>The build finished without a site. {build.data?.lastError ? `Its error: ${build.data.lastError}` : ''}</p>
        )}
        {sync.log.length ? (
          <pre className="docs-log" role="log" aria-label="Build log">{sync.log.join('\n')}</pre>
        ) : null}
        {sync.state !== 'running' ? <button type="button" onClick={() => setVersion((v) => v + 1)}>Try again</button> : null}
      </div>
    );
  }
  if (!m) return <Loading what="the docs" />;

  const edit = page ? editUrl(m, page.source) : undefined;
  const toc = (page?.toc ?? []).filter((t) => t.level === 2 || t.level === 3);
  const failed = build.data?.status === 'failed';
  const fullPage = `/docs/${encodeURIComponent(entity.namespace)}/${encodeURIComponent(entity.kind.toLowerCase())}/${encodeURIComponent(entity.name)}/${page?.path ?? ''}`;

  return (
    <div className="docs">
      <div className="docs-head">
        {embedded ? <h2>{m.site_name}</h2> : <h1>{m.site_name}</h1>}
        {m.site_description ? <p className="muted">{m.site_description}</p> : null}
        <div className="docs-actions small">
          {edit ? <a href={edit} target="_blank" rel="noopener noreferrer" className="external">Edit this page <span aria-hidden="true">↗</span></a> : null}
          {embedded ? <Link to={fullPage}>Open in the docs reader</Link> : null}
          {sync.state === 'running' ? <span className="muted" role="status"><span className="spinner small-spin" aria-hidden="true" /> Checking for updates…</span> : null}
        </div>
      </div>
      {failed ? (
        <div className="docs-banner warn" role="alert">
          <strong>The last docs build failed</strong>
          {build.data?.builtAt ? <> — showing the last good build, from {new Date(build.data.builtAt).toLocaleString()}.</> : null}
          {build.data?.lastError ? <pre>{build.data.lastError}</pre> : null}
        </div>
      ) : null}
      <div className="docs-layout">
        <div className="docs-side">
          <SiteSearch entity={entity} routeBase={routeBase} />
          <nav aria-label="Site navigation" className="docs-nav">
            <SiteNav items={m.nav?.length ? m.nav : (m.pages ?? []).map((p) => ({ title: p.title, path: p.path }))} current={page?.path ?? normal(path)} routeBase={routeBase} />
          </nav>
        </div>
        <div className="docs-main">
          {!page ? (
            <div className="state empty" role="alert">
              <h2>No page “{path}” in these docs</h2>
              <p><Link to={`${routeBase}/`}>Go to the docs' home page</Link></p>
            </div>
          ) : html.error ? (
            <ErrorBox error={html.error} title={`Could not load the page ${page.title}`} />
          ) : html.data === undefined || html.loading ? (
            <Loading what={page.title} />
          ) : (
            <Article html={html.data} page={page} props={props} />
          )}
        </div>
        {toc.length ? (
          <nav className="docs-toc" aria-label="On this page">
            <h2 className="small">On this page</h2>
            <ul>
              {toc.map((t) => (
                <li key={t.id} className={`toc-l${t.level}`}>
                  <Link to={`${routeBase}/${page?.path ?? ''}#${encodeURIComponent(t.id)}`}>{t.title}</Link>
                </li>
              ))}
            </ul>
          </nav>
        ) : null}
      </div>
    </div>
  );
}
export default DocsReader;

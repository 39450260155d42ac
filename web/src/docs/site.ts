// An entity's TechDocs site as the server serves it on Backstage's paths:
// its metadata (nav, pages, table of contents), its files, how its last
// build went, and the sync that builds it when a reader opens it.
import { authHeaders, get, renewToken, signedIn, toError } from '../api';
import { sseEvents } from '../tasks/sse';

export interface NavItem {
  title: string;
  /** The page's directory URL ("" or absent: the index). */
  path?: string;
  /** An external link. */
  url?: string;
  children?: NavItem[];
}
export interface TocEntry { level: number; id: string; title: string }
export interface SitePage { path: string; source: string; title: string; toc?: TocEntry[] }
export interface SiteMetadata {
  site_name: string;
  site_description?: string;
  repo_url?: string;
  edit_uri?: string;
  nav?: NavItem[];
  pages?: SitePage[];
  build_timestamp?: number;
  etag?: string;
  files?: string[];
}
export interface BuildStatus {
  status: 'ok' | 'failed' | string;
  lastError?: string;
  builtAt?: string;
  attemptedAt?: string;
  storage?: string;
  log: string[];
}

/** The entity whose docs are read. */
export interface DocsEntity { namespace: string; kind: string; name: string }

const seg = (e: DocsEntity) => `${encodeURIComponent(e.namespace)}/${encodeURIComponent(e.kind.toLowerCase())}/${encodeURIComponent(e.name)}`;

/** Where a file of the site is served ("" = the site's root). */
export function staticUrl(e: DocsEntity, file: string): string {
  return `/api/techdocs/static/docs/${seg(e)}/${file.split('/').map(encodeURIComponent).join('/')}`;
}

/** The HTML file that holds a page: directory URLs end in index.html. */
export function pageFile(path: string): string {
  if (path === '' || path.endsWith('/')) return `${path}index.html`;
  return path;
}

export const metadataUrl = (e: DocsEntity) => `/api/techdocs/metadata/techdocs/${seg(e)}`;
export const buildUrl = (e: DocsEntity) => `/api/techdocs/build/${seg(e)}`;
export const syncUrl = (e: DocsEntity) => `/api/techdocs/sync/${seg(e)}`;

export const fetchMetadata = (e: DocsEntity, signal?: AbortSignal) => get<SiteMetadata>(metadataUrl(e), signal);
export const fetchBuild = (e: DocsEntity, signal?: AbortSignal) => get<BuildStatus>(buildUrl(e), signal);

/** A text file of the site, with the session's credentials. */
export async function fetchText(url: string, signal?: AbortSignal): Promise<string> {
  const r = await fetch(url, { headers: { Accept: 'text/html, */*', ...(await authHeaders()) }, credentials: 'same-origin', signal });
  if (!r.ok) throw await toError(r);
  return r.text();
}

/**
 * An image of the site as a data: URL, fetched with the session's token
 * (an <img src> cannot send it, and the app's CSP allows data: images but
 * not blob: ones).
 */
export async function fetchImageDataUrl(url: string, signal?: AbortSignal): Promise<string> {
  const r = await fetch(url, { headers: await authHeaders(), credentials: 'same-origin', signal });
  if (!r.ok) throw new Error(`HTTP ${r.status}`);
  const blob = await r.blob();
  return new Promise((resolve, reject) => {
    const fr = new FileReader();
    fr.onload = () => resolve(String(fr.result));
    fr.onerror = () => reject(fr.error);
    fr.readAsDataURL(blob);
  });
}

/** Images need fetching by script when requests carry a bearer token. */
export const imagesNeedToken = () => signedIn();

/**
 * The "Edit this page" URL: repo_url + edit_uri + the page's source, only
 * when the result is http(s).
 */
export function editUrl(meta: Pick<SiteMetadata, 'repo_url' | 'edit_uri'>, source: string | undefined): string | undefined {
  if (!source || !meta.edit_uri) return undefined;
  let base: URL;
  try {
    // edit_uri may be absolute; otherwise it is relative to repo_url.
    const repo = meta.repo_url ? (meta.repo_url.endsWith('/') ? meta.repo_url : `${meta.repo_url}/`) : undefined;
    base = new URL(meta.edit_uri.endsWith('/') ? meta.edit_uri : `${meta.edit_uri}/`, repo);
  } catch {
    return undefined;
  }
  if (base.protocol !== 'https:' && base.protocol !== 'http:') return undefined;
  const url = new URL(source.split('/').map(encodeURIComponent).join('/'), base);
  return url.href;
}

export interface SyncHandlers {
  onLog: (line: string) => void;
  signal: AbortSignal;
  fetchImpl?: typeof fetch;
}
export type SyncOutcome = { updated: boolean } | { error: string };

/**
 * Asks the server to bring the site up to date, as Backstage's reader does
 * when a page opens: reads the `log` events as they come and resolves with
 * the `finish` ({updated}) or `error` event.
 */
export async function syncDocs(e: DocsEntity, h: SyncHandlers): Promise<SyncOutcome> {
  const doFetch = h.fetchImpl ?? ((...a: Parameters<typeof fetch>) => fetch(...a));
  const send = async () =>
    doFetch(syncUrl(e), { method: 'GET', headers: { Accept: 'text/event-stream', ...(await authHeaders()) }, credentials: 'same-origin', signal: h.signal });
  let r = await send();
  if (r.status === 401 && signedIn() && (await renewToken())) r = await send();
  if (!r.ok || !r.body) return { error: (await toError(r)).message };
  for await (const ev of sseEvents(r.body)) {
    let data: unknown;
    try { data = JSON.parse(ev.data); } catch { data = ev.data; }
    if (ev.event === 'log') h.onLog(String(data));
    else if (ev.event === 'finish') return { updated: !!(data as { updated?: boolean })?.updated };
    else if (ev.event === 'error') return { error: String(data) };
  }
  return { error: 'the sync stream ended before the build finished' };
}

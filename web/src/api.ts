// The one way the UI talks to the server. Every request goes through
// request(): it adds the access token when there is one (renewed from the
// session cookie shortly before it expires) and turns an error response
// into an ApiError that carries the server's message and request id.

export class ApiError extends Error {
  status: number;
  name: string;
  requestId?: string;
  constructor(status: number, name: string, message: string, requestId?: string) {
    super(message);
    this.status = status;
    this.name = name;
    this.requestId = requestId;
  }
}

let accessToken: string | undefined;
let accessExpires = 0;
let renewing: Promise<void> | undefined;

/** Renews the access token from the HttpOnly session cookie; no session = no token (dev guest or signed out). */
export async function renewToken(): Promise<boolean> {
  if (!renewing) {
    renewing = (async () => {
      try {
        const r = await fetch('/api/auth/refresh', { method: 'POST', credentials: 'same-origin', headers: { Accept: 'application/json' } });
        if (!r.ok) { accessToken = undefined; accessExpires = 0; return; }
        const body = await r.json();
        accessToken = body.accessToken;
        accessExpires = Date.parse(body.expiresAt) || Date.now() + 5 * 60_000;
      } catch {
        accessToken = undefined;
      }
    })().finally(() => { renewing = undefined; });
  }
  await renewing;
  return !!accessToken;
}

export function signedIn(): boolean {
  return !!accessToken;
}

export async function authHeaders(): Promise<Record<string, string>> {
  if (accessToken && accessExpires - Date.now() < 60_000) await renewToken();
  return accessToken ? { Authorization: `Bearer ${accessToken}` } : {};
}

/** The ApiError an error response stands for: the server's name, message and request id. */
export async function toError(r: Response): Promise<ApiError> {
  const requestId = r.headers.get('X-Request-Id') ?? undefined;
  let name = `HTTP ${r.status}`;
  let message = r.statusText || 'request failed';
  try {
    const body = await r.json();
    if (body?.error) {
      name = body.error.name ?? name;
      message = body.error.message ?? message;
    }
  } catch {
    /* not JSON: keep the status line */
  }
  return new ApiError(r.status, name, message, requestId);
}

export async function request<T>(path: string, init: RequestInit & { json?: unknown } = {}): Promise<T> {
  const headers: Record<string, string> = { Accept: 'application/json', ...(await authHeaders()), ...(init.headers as Record<string, string> | undefined) };
  let body = init.body;
  if (init.json !== undefined) {
    headers['Content-Type'] = 'application/json';
    body = JSON.stringify(init.json);
  }
  let r: Response;
  try {
    r = await fetch(path, { ...init, headers, body, credentials: 'same-origin' });
  } catch (e) {
    throw new ApiError(0, 'NetworkError', `could not reach the server: ${(e as Error).message}`);
  }
  if (r.status === 401 && accessToken) {
    // The token may have been rotated away; one renewal, one retry.
    if (await renewToken()) return request<T>(path, init);
  }
  if (!r.ok) throw await toError(r);
  if (r.status === 204) return undefined as T;
  return (await r.json()) as T;
}

export const get = <T,>(path: string, signal?: AbortSignal) => request<T>(path, { signal });
export const post = <T,>(path: string, json?: unknown) => request<T>(path, { method: 'POST', json: json ?? {} });

// ---- types shared by the pages ----

export interface EntityMeta {
  name: string;
  namespace?: string;
  title?: string;
  description?: string;
  uid?: string;
  etag?: string;
  labels?: Record<string, string>;
  annotations?: Record<string, string>;
  tags?: string[];
  links?: { url: string; title?: string; icon?: string; type?: string }[];
}
export interface Relation { type: string; targetRef: string }
export interface Entity {
  apiVersion: string;
  kind: string;
  metadata: EntityMeta;
  spec?: Record<string, any>;
  relations?: Relation[];
}

export function entityRef(e: Pick<Entity, 'kind' | 'metadata'>): string {
  return `${e.kind.toLowerCase()}:${e.metadata.namespace ?? 'default'}/${e.metadata.name}`;
}

export interface ParsedRef { kind: string; namespace: string; name: string }
/** Parses kind:namespace/name, with defaults for the missing parts. */
export function parseRef(ref: string, defaultKind = '', defaultNamespace = 'default'): ParsedRef {
  let kind = defaultKind;
  let rest = ref;
  const colon = ref.indexOf(':');
  if (colon > 0) { kind = ref.slice(0, colon); rest = ref.slice(colon + 1); }
  let namespace = defaultNamespace;
  let name = rest;
  const slash = rest.indexOf('/');
  if (slash > 0) { namespace = rest.slice(0, slash); name = rest.slice(slash + 1); }
  return { kind: kind.toLowerCase(), namespace, name };
}

/** The UI path of an entity page. */
export function entityPath(ref: string | ParsedRef): string {
  const p = typeof ref === 'string' ? parseRef(ref) : ref;
  return `/catalog/${encodeURIComponent(p.namespace)}/${encodeURIComponent(p.kind)}/${encodeURIComponent(p.name)}`;
}

/** A short, readable form of a ref: drops default namespace and the given kind. */
export function humanRef(ref: string, hideKind?: string): string {
  const p = parseRef(ref);
  const ns = p.namespace === 'default' ? '' : `${p.namespace}/`;
  const kind = hideKind && p.kind === hideKind.toLowerCase() ? '' : `${p.kind}:`;
  return `${kind}${ns}${p.name}`;
}

export interface QueryResponse { items: Entity[]; totalItems: number; pageInfo: { nextCursor?: string; prevCursor?: string } }

export interface Whoami { ref: string; ent?: string[]; service?: boolean; guest?: boolean; scopes?: string[]; via?: string }

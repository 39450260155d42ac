// A fetch stand-in for page tests: routes by method and path to handlers,
// records every call, and makes SSE streams the test writes to.
export type Handler = (url: URL, init: RequestInit) => Response | Promise<Response>;

export function json(body: unknown, status = 200, headers: Record<string, string> = {}): Response {
  return new Response(JSON.stringify(body), { status, headers: { 'Content-Type': 'application/json', ...headers } });
}

export interface SseWriter { response: Response; send: (text: string) => void; close: () => void }

export function sseStream(): SseWriter {
  let ctl!: ReadableStreamDefaultController<Uint8Array>;
  const enc = new TextEncoder();
  const body = new ReadableStream<Uint8Array>({ start(c) { ctl = c; } });
  return {
    response: new Response(body, { status: 200, headers: { 'Content-Type': 'text/event-stream' } }),
    send: (text) => ctl.enqueue(enc.encode(text)),
    close: () => ctl.close(),
  };
}

export function stubFetch(routes: Record<string, Handler>) {
  const calls: { method: string; url: string; body?: string }[] = [];
  const fn = vi.fn(async (input: RequestInfo | URL, init: RequestInit = {}) => {
    const url = new URL(String(input), 'http://localhost');
    const method = (init.method ?? 'GET').toUpperCase();
    calls.push({ method, url: url.pathname + url.search, body: typeof init.body === 'string' ? init.body : undefined });
    const key = Object.keys(routes).find((k) => {
      const [m, p] = k.split(' ');
      return m === method && (p.endsWith('*') ? url.pathname.startsWith(p.slice(0, -1)) : url.pathname === p);
    });
    if (!key) return json({ error: { name: 'NotFoundError', message: `no stub for ${method} ${url.pathname}` } }, 404);
    return routes[key](url, init);
  });
  vi.stubGlobal('fetch', fn);
  return { calls, fn };
}

// Test helpers for the catalog pages: a fetch stub that answers like the
// server (JSON, status, request id) and records every request, and a
// router + session around the page under test. Only the tests import this.
import { render } from '@testing-library/react';
import { vi } from 'vitest';
import type { ReactElement } from 'react';
import { MemoryRouter, Route, Routes, useLocation } from 'react-router-dom';
import { SessionProvider } from '../session';

export interface Call { url: URL; method: string; body?: any }
type Handler = (call: Call) => { status?: number; body: unknown; requestId?: string } | undefined;

export const guest = { ref: 'user:default/guest', ent: ['user:default/guest'], via: 'dev-guest' };

/** Stubs fetch: refresh answers 401, whoami the given user, the rest the handler (404 when it has no answer). */
export function stubFetch(handler: Handler, user: object = guest) {
  const calls: Call[] = [];
  const spy = vi.spyOn(globalThis, 'fetch').mockImplementation(async (input: RequestInfo | URL, init?: RequestInit) => {
    const url = new URL(String(input), 'http://rigger.test');
    const call: Call = { url, method: init?.method ?? 'GET', body: typeof init?.body === 'string' ? JSON.parse(init.body) : undefined };
    const json = (status: number, body: unknown, requestId = 'req-1') =>
      new Response(JSON.stringify(body), { status, headers: { 'Content-Type': 'application/json', 'X-Request-Id': requestId } });
    if (url.pathname === '/api/auth/refresh') return json(401, { error: { name: 'AuthenticationError', message: 'no session' } });
    if (url.pathname === '/api/auth/whoami') return json(200, user);
    calls.push(call);
    const r = handler(call);
    if (!r) return json(404, { error: { name: 'NotFoundError', message: `no route ${url.pathname}` } });
    return json(r.status ?? 200, r.body, r.requestId);
  });
  return { calls, spy, last: (path: string) => [...calls].reverse().find((c) => c.url.pathname === path) };
}

/** Where the router is now: the tests read the URL from it. */
export function LocationProbe() {
  const loc = useLocation();
  return <output data-testid="location">{loc.pathname + loc.search}</output>;
}

export function renderAt(path: string, routes: { path: string; element: ReactElement }[]) {
  return render(
    <MemoryRouter initialEntries={[path]}>
      <SessionProvider>
        <Routes>
          {routes.map((r) => <Route key={r.path} path={r.path} element={<>{r.element}<LocationProbe /></>} />)}
          <Route path="*" element={<LocationProbe />} />
        </Routes>
      </SessionProvider>
    </MemoryRouter>,
  );
}

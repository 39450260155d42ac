import { render, screen } from '@testing-library/react';
import { MemoryRouter } from 'react-router-dom';
import { afterEach, expect, test, vi } from 'vitest';
import { Layout } from './Layout';
import { SessionProvider } from './session';

// The server as the shell sees it at start: no session cookie to renew,
// and whoami answering as the given caller.
function serverAs(whoami: object) {
  vi.stubGlobal('fetch', vi.fn(async (url: string) => {
    if (url === '/api/auth/whoami') return new Response(JSON.stringify(whoami), { status: 200, headers: { 'Content-Type': 'application/json' } });
    return new Response(JSON.stringify({ error: { name: 'AuthenticationError', message: 'no session' } }), { status: 401 });
  }));
}

function shell() {
  return render(
    <MemoryRouter initialEntries={['/catalog']}>
      <SessionProvider>
        <Layout><p>page body</p></Layout>
      </SessionProvider>
    </MemoryRouter>,
  );
}

afterEach(() => vi.unstubAllGlobals());

test('the shell has the brand, the main navigation and a skip link', async () => {
  serverAs({ ref: 'user:default/guest', guest: true, via: 'dev-guest' });
  shell();
  expect(await screen.findByText(/Dev mode/)).toBeTruthy();
  expect(screen.getByRole('link', { name: 'Rigger home' }).getAttribute('href')).toBe('/');
  const nav = screen.getByRole('navigation', { name: 'Main' });
  for (const [name, href] of [['Catalog', '/catalog'], ['Create', '/create'], ['Tasks', '/tasks']]) {
    const link = screen.getAllByRole('link', { name }).find((a) => nav.contains(a));
    expect(link?.getAttribute('href')).toBe(href);
  }
  expect(screen.getByRole('link', { name: 'Skip to content' }).getAttribute('href')).toBe('#main');
  expect(screen.getByLabelText('Search the catalog and the docs')).toBeTruthy();
  expect(screen.getByText('page body').closest('main')?.id).toBe('main');
});

test('the dev-mode banner shows only for rigger dev\'s guest', async () => {
  serverAs({ ref: 'user:default/alice', via: 'session' });
  shell();
  expect(await screen.findByText('alice')).toBeTruthy();
  expect(screen.queryByText(/Dev mode/)).toBeNull();
});

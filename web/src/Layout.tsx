import { useState, type ReactNode, type FormEvent } from 'react';
import { NavLink, useNavigate } from 'react-router-dom';
import { humanRef } from './api';
import { useSession } from './session';

export function Layout({ children }: { children: ReactNode }) {
  const s = useSession();
  const nav = useNavigate();
  const [q, setQ] = useState('');
  const search = (e: FormEvent) => {
    e.preventDefault();
    nav(`/search?term=${encodeURIComponent(q.trim())}`);
  };
  return (
    <>
      <a className="skip" href="#main">Skip to content</a>
      {/* One banner landmark holds the dev-mode note too (axe: all content in landmarks). */}
      <header>
      {s.dev ? (
        <div className="devbanner" role="note">
          Dev mode: everyone on this machine is the guest <code>user:default/guest</code>. Do not expose <code>rigger dev</code> to a network.
        </div>
      ) : null}
      <div className="topbar">
        <NavLink to="/" className="brand" aria-label="Rigger home">Rigger</NavLink>
        <nav aria-label="Main">
          <NavLink to="/catalog">Catalog</NavLink>
          <NavLink to="/create" end>Create</NavLink>
          <NavLink to="/tasks">Tasks</NavLink>
          <NavLink to="/create/edit">Template editor</NavLink>
        </nav>
        <form role="search" className="globalsearch" onSubmit={search}>
          <label htmlFor="global-search" className="sr-only">Search the catalog and the docs</label>
          <input id="global-search" type="search" placeholder="Search the catalog and docs" value={q} onChange={(e) => setQ(e.target.value)} />
        </form>
        <div className="user">
          {s.user ? <span title={s.user.ref}>{humanRef(s.user.ref, 'user')}</span> : null}
          {s.user && !s.dev && !s.user.guest ? (
            <button type="button" className="link" onClick={() => s.signOut()}>Sign out</button>
          ) : null}
        </div>
      </div>
      </header>
      <main id="main" tabIndex={-1}>{children}</main>
    </>
  );
}

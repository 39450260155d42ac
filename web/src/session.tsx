// Who is using the UI: asked once at start (renewing the session cookie
// first), shared with every page through a context.
import { createContext, useContext, useEffect, useState, type ReactNode } from 'react';
import { ApiError, get, post, renewToken, type Whoami } from './api';

export interface Session {
  loading: boolean;
  user?: Whoami;
  error?: ApiError;
  /** rigger dev's guest: the header shows the dev-mode banner. */
  dev: boolean;
  signOut: () => Promise<void>;
}

const Ctx = createContext<Session>({ loading: true, dev: false, signOut: async () => {} });

export function useSession(): Session {
  return useContext(Ctx);
}

export function SessionProvider({ children }: { children: ReactNode }) {
  const [state, setState] = useState<Omit<Session, 'signOut'>>({ loading: true, dev: false });
  useEffect(() => {
    let live = true;
    (async () => {
      await renewToken();
      try {
        const user = await get<Whoami>('/api/auth/whoami');
        if (live) setState({ loading: false, user, dev: user.via === 'dev-guest' });
      } catch (e) {
        if (live) setState({ loading: false, dev: false, error: e as ApiError });
      }
    })();
    return () => { live = false; };
  }, []);
  const signOut = async () => {
    await post('/api/auth/logout').catch(() => undefined);
    window.location.assign('/');
  };
  return <Ctx.Provider value={{ ...state, signOut }}>{children}</Ctx.Provider>;
}

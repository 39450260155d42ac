import { ApiError, get } from '../api';
import { ErrorBox, Loading, useAsync, useTitle } from '../ui';

interface Providers { items: { id: string; startUrl: string }[] }

export function SignInPage({ error }: { error?: ApiError }) {
  useTitle('Sign in');
  const providers = useAsync((signal) => get<Providers>('/api/auth/providers', signal), []);
  const here = window.location.pathname + window.location.search;
  return (
    <main id="main" className="signin">
      <h1>Sign in to Rigger</h1>
      {error && error.status !== 401 ? <ErrorBox error={error} title="Could not check your session" /> : null}
      {providers.loading ? <Loading what="sign-in providers" /> : null}
      {providers.error ? <ErrorBox error={providers.error} title="Could not list sign-in providers" /> : null}
      {providers.data && providers.data.items.length === 0 ? (
        <p>No sign-in provider is configured. An operator adds one under <code>auth.providers</code>; see the README.</p>
      ) : null}
      <ul className="providers">
        {providers.data?.items.map((p) => (
          <li key={p.id}>
            <a className="button primary" href={`${p.startUrl}?redirect=${encodeURIComponent(here)}`}>Sign in with {p.id}</a>
          </li>
        ))}
      </ul>
    </main>
  );
}

import { lazy, Suspense } from 'react';
import { Route, Routes } from 'react-router-dom';
import { Layout } from './Layout';
import { SessionProvider, useSession } from './session';
import { Loading } from './ui';
import { SignInPage } from './pages/SignInPage';
import { CatalogPage } from './pages/CatalogPage';
import { EntityPage } from './pages/EntityPage';
import { CreatePage } from './pages/CreatePage';
import { TaskPage } from './pages/TaskPage';
import { TasksPage } from './pages/TasksPage';
import { NotFoundPage } from './pages/NotFoundPage';

// The launch form pulls in rjsf and ajv, the editor a YAML parser: both load on demand.
const LaunchPage = lazy(() => import('./pages/LaunchPage'));
const EditorPage = lazy(() => import('./pages/EditorPage'));
const DocsPage = lazy(() => import('./pages/DocsPage'));
const SearchPage = lazy(() => import('./pages/SearchPage'));

function Gate() {
  const s = useSession();
  if (s.loading) return <Loading what="your session" />;
  if (!s.user) return <SignInPage error={s.error} />;
  return (
    <Layout>
      <Suspense fallback={<Loading what="the page" />}>
        <Routes>
          <Route path="/" element={<CatalogPage />} />
          <Route path="/catalog" element={<CatalogPage />} />
          <Route path="/catalog/:namespace/:kind/:name" element={<EntityPage />} />
          <Route path="/catalog/:namespace/:kind/:name/:tab" element={<EntityPage />} />
          <Route path="/catalog/:namespace/:kind/:name/docs/*" element={<EntityPage tab="docs" />} />
          <Route path="/docs/:namespace/:kind/:name/*" element={<DocsPage />} />
          <Route path="/search" element={<SearchPage />} />
          <Route path="/create" element={<CreatePage />} />
          <Route path="/create/templates/:namespace/:name" element={<LaunchPage />} />
          <Route path="/create/edit" element={<EditorPage />} />
          <Route path="/tasks" element={<TasksPage />} />
          <Route path="/tasks/:id" element={<TaskPage />} />
          <Route path="*" element={<NotFoundPage />} />
        </Routes>
      </Suspense>
    </Layout>
  );
}

export function App() {
  return (
    <SessionProvider>
      <Gate />
    </SessionProvider>
  );
}

// One entity: About and relations, its API definition, raw YAML, the tasks
// that made it and its docs, each tab a sub-route
// (/catalog/:namespace/:kind/:name/:tab) so it can be linked and bookmarked.
import { lazy, Suspense } from 'react';
import { Link, NavLink, useParams } from 'react-router-dom';
import { ApiError, entityPath, entityRef, get, type Entity } from '../api';
import { ErrorBox, Loading, useAsync, useTitle } from '../ui';
import { About } from '../catalog/About';
import { RelationsTable } from '../catalog/RelationsTable';
import { TasksTab } from '../catalog/TasksTab';

// The graph, the YAML parser and printer load on demand.
const RelationsGraph = lazy(() => import('../catalog/RelationsGraph'));
const ApiDefinition = lazy(() => import('../catalog/ApiDefinition'));
const YamlView = lazy(() => import('../catalog/YamlView'));
const DocsReader = lazy(() => import('../docs/DocsReader'));

interface Tab { id: string; label: string }

function tabsFor(e: Entity): Tab[] {
  const tabs: Tab[] = [{ id: 'overview', label: 'Overview' }];
  if (e.kind.toLowerCase() === 'api') tabs.push({ id: 'definition', label: 'API definition' });
  tabs.push({ id: 'yaml', label: 'YAML' }, { id: 'tasks', label: 'Tasks' });
  if (e.metadata.annotations?.['backstage.io/techdocs-ref']) tabs.push({ id: 'docs', label: 'Docs' });
  return tabs;
}

function Docs({ entity }: { entity: Entity }) {
  const { '*': path = '' } = useParams();
  const ns = entity.metadata.namespace ?? 'default';
  const kind = entity.kind.toLowerCase();
  const base = `${entityPath({ kind, namespace: ns, name: entity.metadata.name })}/docs`;
  return <DocsReader embedded entity={{ namespace: ns, kind, name: entity.metadata.name }} path={path} routeBase={base} />;
}

export function EntityPage({ tab: fixedTab }: { tab?: string } = {}) {
  const params = useParams();
  const { namespace = 'default', kind = '', name = '' } = params;
  const tab = fixedTab ?? params.tab ?? 'overview';
  const ref = `${kind.toLowerCase()}:${namespace}/${name}`;
  const ent = useAsync(
    (signal) => get<Entity>(`/api/catalog/entities/by-name/${encodeURIComponent(kind)}/${encodeURIComponent(namespace)}/${encodeURIComponent(name)}`, signal),
    [ref],
  );
  // While the next entity loads, the previous one's data must not show under its URL.
  const e = ent.data && entityRef(ent.data).toLowerCase() === ref.toLowerCase() ? ent.data : undefined;
  useTitle(e ? `${e.metadata.title || e.metadata.name} (${e.kind})` : name);

  if (ent.error) {
    if ((ent.error as ApiError).status === 404) {
      return (
        <div className="state empty" role="alert">
          <h1>No entity {ref}</h1>
          <p>The catalog has no entity <code>{ref}</code>, or you may not see it. It may have been renamed or removed from its location.</p>
          <p><Link to="/catalog">Back to the catalog</Link> · <Link to={`/catalog?kind=${encodeURIComponent(kind.toLowerCase())}&text=${encodeURIComponent(name)}`}>search for “{name}”</Link></p>
        </div>
      );
    }
    return <ErrorBox error={ent.error} title={`Could not load ${ref}`} />;
  }
  if (!e) return <Loading what={ref} />;

  const tabs = tabsFor(e);
  const base = entityPath({ kind: e.kind.toLowerCase(), namespace: e.metadata.namespace ?? 'default', name: e.metadata.name });
  const current = tabs.find((t) => t.id === tab);

  return (
    <article className="entity">
      <nav aria-label="Breadcrumb" className="crumbs small">
        <Link to="/catalog">Catalog</Link> › <Link to={`/catalog?kind=${encodeURIComponent(e.kind.toLowerCase())}`}>{e.kind}</Link> › {e.metadata.name}
      </nav>
      <header className="entity-head">
        <h1>{e.metadata.title || e.metadata.name}</h1>
        <div className="chips">
          <span className="chip kind">{e.kind}</span>
          {typeof e.spec?.type === 'string' ? <span className="chip">{e.spec.type}</span> : null}
          {typeof e.spec?.lifecycle === 'string' ? <span className="chip">{e.spec.lifecycle}</span> : null}
          {e.metadata.annotations?.['backstage.io/orphan'] === 'true' ? <span className="chip warn">orphan</span> : null}
        </div>
        {e.metadata.title ? <p className="muted small"><code>{ref}</code></p> : null}
        {e.kind.toLowerCase() === 'template' ? (
          <p><Link className="button primary" to={`/create/templates/${encodeURIComponent(e.metadata.namespace ?? 'default')}/${encodeURIComponent(e.metadata.name)}`}>Launch this template</Link></p>
        ) : null}
      </header>
      <nav className="tabs" aria-label="Entity sections">
        {tabs.map((t) => (
          <NavLink key={t.id} to={t.id === 'overview' ? base : `${base}/${t.id}`} end={t.id !== 'docs'}>
            {t.label}
          </NavLink>
        ))}
      </nav>
      <Suspense fallback={<Loading what="this section" />}>
        {!current ? (
          <div className="state empty">
            <p>This entity has no “{tab}” section. <Link to={base}>Show its overview</Link>.</p>
          </div>
        ) : null}
        {current?.id === 'overview' ? (
          <div className="overview">
            <About entity={e} />
            <section className="card relations" aria-labelledby="rel-h">
              <h2 id="rel-h">Relations</h2>
              <Suspense fallback={<Loading what="the relations graph" />}>
                <RelationsGraph key={ref} entity={e} />
              </Suspense>
              <h3>All relations ({e.relations?.length ?? 0})</h3>
              <RelationsTable entity={e} />
            </section>
          </div>
        ) : null}
        {current?.id === 'definition' ? <ApiDefinition entity={e} /> : null}
        {current?.id === 'yaml' ? <YamlView entity={e} /> : null}
        {current?.id === 'tasks' ? <TasksTab entity={e} /> : null}
        {current?.id === 'docs' ? <Docs entity={e} /> : null}
      </Suspense>
    </article>
  );
}

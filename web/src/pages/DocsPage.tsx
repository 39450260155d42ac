// /docs/:namespace/:kind/:name/* — an entity's docs in the reader, at
// Backstage's URL.
import { Link, useParams } from 'react-router-dom';
import { entityPath } from '../api';
import { useTitle } from '../ui';
import { DocsReader } from '../docs/DocsReader';

export default function DocsPage() {
  const { namespace = 'default', kind = '', name = '', '*': path = '' } = useParams();
  useTitle(`Docs of ${name}`);
  const base = `/docs/${encodeURIComponent(namespace)}/${encodeURIComponent(kind)}/${encodeURIComponent(name)}`;
  return (
    <div className="docs-page">
      <nav aria-label="Breadcrumb" className="crumbs small">
        <Link to={entityPath({ namespace, kind, name })}>{kind.toLowerCase()}:{namespace === 'default' ? '' : `${namespace}/`}{name}</Link> › Docs
      </nav>
      <DocsReader entity={{ namespace, kind, name }} path={path} routeBase={base} />
    </div>
  );
}

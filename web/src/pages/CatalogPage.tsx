import { useTitle } from '../ui';

export function CatalogPage() {
  useTitle('Catalog');
  return <h1>Catalog</h1>;
}

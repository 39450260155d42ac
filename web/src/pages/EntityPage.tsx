import { useTitle } from '../ui';

export function EntityPage() {
  useTitle('Entity');
  return <h1>Entity</h1>;
}

import { useTitle } from '../ui';

export function CreatePage() {
  useTitle('Create');
  return <h1>Create</h1>;
}

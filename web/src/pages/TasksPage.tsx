import { useTitle } from '../ui';

export function TasksPage() {
  useTitle('Tasks');
  return <h1>Tasks</h1>;
}

import { useTitle } from '../ui';

export function TaskPage() {
  useTitle('Task');
  return <h1>Task</h1>;
}

import { useTitle } from '../ui';

export default function EditorPage() {
  useTitle('Editor');
  return <h1>Editor</h1>;
}

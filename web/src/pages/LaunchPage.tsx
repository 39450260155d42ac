import { useTitle } from '../ui';

export default function LaunchPage() {
  useTitle('Launch');
  return <h1>Launch</h1>;
}

import { Link, useLocation } from 'react-router-dom';
import { useTitle } from '../ui';

export function NotFoundPage() {
  useTitle('Not found');
  const loc = useLocation();
  return (
    <div className="state empty">
      <h1>Nothing here</h1>
      <p>No page at <code>{loc.pathname}</code>. Try the <Link to="/catalog">catalog</Link> or <Link to="/create">templates</Link>.</p>
    </div>
  );
}

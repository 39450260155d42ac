// The installed actions (GET /v2/actions) with their input schemas.
import { useState } from 'react';
import { get } from '../api';
import { Empty, ErrorBox, Loading, useAsync } from '../ui';

interface Action { id: string; description?: string; schema?: { input?: unknown; output?: unknown }; examples?: { description?: string; example?: string }[] }

export function ActionsList() {
  const a = useAsync((signal) => get<Action[]>('/api/scaffolder/v2/actions', signal), []);
  const [q, setQ] = useState('');
  if (a.error) return <ErrorBox error={a.error} title="Could not list the actions" />;
  if (a.loading && !a.data) return <Loading what="actions" />;
  const list = (a.data ?? []).filter((x) => !q || x.id.includes(q) || (x.description ?? '').toLowerCase().includes(q.toLowerCase()));
  return (
    <div className="actionslist">
      <label>Filter actions <input type="search" value={q} onChange={(e) => setQ(e.target.value)} /></label>
      {list.length === 0 ? <Empty>No action matches.</Empty> : null}
      {list.map((x) => (
        <details key={x.id} className="action">
          <summary><code>{x.id}</code>{x.description ? <span className="muted"> — {x.description}</span> : null}</summary>
          <h4>Input</h4>
          <pre tabIndex={0}>{JSON.stringify(x.schema?.input ?? {}, null, 2)}</pre>
          {x.schema?.output ? <><h4>Output</h4><pre tabIndex={0}>{JSON.stringify(x.schema.output, null, 2)}</pre></> : null}
          {x.examples?.map((e, i) => <div key={i}><h4>Example{e.description ? `: ${e.description}` : ''}</h4><pre tabIndex={0}>{e.example}</pre></div>)}
        </details>
      ))}
    </div>
  );
}

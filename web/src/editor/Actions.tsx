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
          <SchemaTable schema={x.schema?.input} caption={`Input of ${x.id}`} />
          <details>
            <summary>Input schema as JSON</summary>
            <pre tabIndex={0}>{JSON.stringify(x.schema?.input ?? {}, null, 2)}</pre>
          </details>
          {x.schema?.output ? (
            <>
              <h4>Output</h4>
              <SchemaTable schema={x.schema.output} caption={`Output of ${x.id}`} />
            </>
          ) : null}
          {x.examples?.map((e, i) => <div key={i}><h4>Example{e.description ? `: ${e.description}` : ''}</h4><pre tabIndex={0}>{e.example}</pre></div>)}
        </details>
      ))}
    </div>
  );
}

interface Schema { type?: string | string[]; description?: string; title?: string; properties?: Record<string, Schema>; required?: string[]; items?: Schema; enum?: unknown[]; default?: unknown }

function typeOf(s: Schema): string {
  const t = Array.isArray(s.type) ? s.type.join(' | ') : s.type ?? (s.enum ? 'enum' : 'any');
  return t === 'array' && s.items ? `${typeOf(s.items)}[]` : t;
}

/** An object schema's properties as a table: name, type, required, description. */
export function SchemaTable({ schema, caption }: { schema?: unknown; caption: string }) {
  const s = (schema ?? {}) as Schema;
  const props = Object.entries(s.properties ?? {});
  if (props.length === 0) return <p className="muted">No declared properties.</p>;
  const req = new Set(s.required ?? []);
  return (
    <table className="schematable">
      <caption className="sr-only">{caption}</caption>
      <thead><tr><th scope="col">Name</th><th scope="col">Type</th><th scope="col">Description</th></tr></thead>
      <tbody>
        {props.map(([name, p]) => (
          <tr key={name}>
            <td><code>{name}</code>{req.has(name) ? <span className="muted"> (required)</span> : null}</td>
            <td><code>{typeOf(p)}</code></td>
            <td>{p.description ?? p.title ?? ''}{p.enum ? <span className="muted"> One of {p.enum.map(String).join(', ')}.</span> : null}{p.default !== undefined ? <span className="muted"> Default {JSON.stringify(p.default)}.</span> : null}</td>
          </tr>
        ))}
      </tbody>
    </table>
  );
}

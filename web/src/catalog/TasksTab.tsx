// Where an entity came from: the template named by its
// backstage.io/source-template annotation, the scaffolder tasks that made
// or registered it, and the catalog location it is read from.
//
// GET /v2/tasks filters by creator and status only (no template filter)
// and lists only the tasks the viewer may read, so the matching happens
// here over the newest 1000 of them: a task whose output names this
// entity (catalog:register's entityRef, or a link to its page) made it;
// other tasks of the same template are listed beside.
import { Link } from 'react-router-dom';
import { entityPath, entityRef, get, humanRef, parseRef, type Entity } from '../api';
import { Empty, ErrorBox, Loading, useAsync } from '../ui';
import { safeUrl } from './refs';

export interface TaskSummary {
  id: string;
  status: string;
  createdAt: string;
  createdBy?: string;
  spec?: { templateInfo?: { entityRef?: string } };
  output?: unknown;
}

/** Whether a task's output names the entity (a ref string or a link to its page, at any depth). */
export function outputNames(output: unknown, ref: string): boolean {
  const path = entityPath(ref);
  const walk = (v: unknown, depth: number): boolean => {
    if (depth > 6) return false;
    if (typeof v === 'string') return v.toLowerCase() === ref || v.toLowerCase().endsWith(path.toLowerCase());
    if (Array.isArray(v)) return v.some((x) => walk(x, depth + 1));
    if (v && typeof v === 'object') return Object.values(v).some((x) => walk(x, depth + 1));
    return false;
  };
  return walk(output, 0);
}

function normRef(ref: string, kind: string): string {
  const p = parseRef(ref, kind);
  return `${p.kind}:${p.namespace}/${p.name}`.toLowerCase();
}

function TaskTable({ tasks, caption }: { tasks: TaskSummary[]; caption: string }) {
  return (
    <div className="table-wrap">
      <table>
        <caption className="sr-only">{caption}</caption>
        <thead><tr><th scope="col">Task</th><th scope="col">Template</th><th scope="col">Status</th><th scope="col">Created</th><th scope="col">By</th></tr></thead>
        <tbody>
          {tasks.map((t) => (
            <tr key={t.id}>
              <td><Link to={`/tasks/${encodeURIComponent(t.id)}`}><code>{t.id}</code></Link></td>
              <td>{t.spec?.templateInfo?.entityRef ? humanRef(t.spec.templateInfo.entityRef, 'template') : ''}</td>
              <td className={`status-${t.status}`}>{t.status}</td>
              <td><time dateTime={t.createdAt}>{new Date(t.createdAt).toLocaleString()}</time></td>
              <td>{t.createdBy ? humanRef(t.createdBy, 'user') : ''}</td>
            </tr>
          ))}
        </tbody>
      </table>
    </div>
  );
}

export function TasksTab({ entity }: { entity: Entity }) {
  const ref = entityRef(entity).toLowerCase();
  const ann = entity.metadata.annotations ?? {};
  const template = ann['backstage.io/source-template'] ? normRef(ann['backstage.io/source-template'], 'template') : undefined;
  const tasks = useAsync((signal) => get<{ tasks: TaskSummary[]; totalTasks: number }>('/api/scaffolder/v2/tasks?limit=1000', signal), [ref]);
  const p = parseRef(ref);
  const loc = useAsync(
    (signal) => get<{ type: string; target: string }>(`/api/catalog/locations/by-entity/${encodeURIComponent(p.kind)}/${encodeURIComponent(p.namespace)}/${encodeURIComponent(p.name)}`, signal)
      .catch((e) => (e?.status === 404 ? undefined : Promise.reject(e))),
    [ref],
  );
  const all = tasks.data?.tasks ?? [];
  const made = all.filter((t) => outputNames(t.output, ref));
  const sameTemplate = template ? all.filter((t) => !made.includes(t) && t.spec?.templateInfo?.entityRef && normRef(t.spec.templateInfo.entityRef, 'template') === template) : [];
  const tp = template ? parseRef(template) : undefined;
  const locUrl = loc.data ? safeUrl(loc.data.target) : undefined;

  return (
    <div className="tasks-tab">
      <section aria-labelledby="origin-h">
        <h2 id="origin-h">Origin</h2>
        <dl className="about-grid">
          <div className="about-row">
            <dt>Template</dt>
            <dd>
              {tp ? (
                <>Created from template <Link to={entityPath(template!)}>{humanRef(template!, 'template')}</Link> (<Link to={`/create/templates/${encodeURIComponent(tp.namespace)}/${encodeURIComponent(tp.name)}`}>launch it</Link>)</>
              ) : <span className="muted">No <code>backstage.io/source-template</code> annotation: not known to come from a template.</span>}
            </dd>
          </div>
          <div className="about-row">
            <dt>Location</dt>
            <dd>
              {loc.loading ? 'Loading…' : loc.error ? <ErrorBox error={loc.error} title="Could not load the location" />
                : loc.data ? <>{loc.data.type}: {locUrl ? <a href={locUrl} target="_blank" rel="noreferrer noopener">{loc.data.target}</a> : <code>{loc.data.target}</code>}</>
                  : <span className="muted">No location (an orphan, or registered outside the catalog's locations).</span>}
            </dd>
          </div>
        </dl>
      </section>
      <section aria-labelledby="made-h">
        <h2 id="made-h">Tasks that made or registered it</h2>
        {tasks.loading ? <Loading what="tasks" /> : null}
        {tasks.error ? <ErrorBox error={tasks.error} title="Could not load the tasks" /> : null}
        {tasks.data && made.length === 0 ? <Empty>No task you can see names this entity in its output.</Empty> : null}
        {made.length > 0 ? <TaskTable tasks={made} caption="Tasks whose output names this entity" /> : null}
      </section>
      {template && tasks.data ? (
        <section aria-labelledby="tmpl-h">
          <h2 id="tmpl-h">Other runs of {humanRef(template, 'template')}</h2>
          {sameTemplate.length === 0 ? <Empty>No other runs of this template that you can see.</Empty> : <TaskTable tasks={sameTemplate} caption="Other runs of the template" />}
        </section>
      ) : null}
      {tasks.data ? (
        <p className="muted small">Searched the newest {all.length} of the {tasks.data.totalTasks} tasks you may see.</p>
      ) : null}
    </div>
  );
}

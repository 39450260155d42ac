// The task list: mine or all (as the server permits), filtered by status
// and template, paged with limit/offset. The URL holds the filters.
import { useEffect } from 'react';
import { Link, useSearchParams } from 'react-router-dom';
import { get, humanRef, type QueryResponse } from '../api';
import { useSession } from '../session';
import { Empty, ErrorBox, Loading, useAsync, useTitle } from '../ui';
import { elapsed, formatDuration, formatTime, type TaskList } from '../tasks/model';
import { StatusBadge } from './TaskPage';

export const PAGE_SIZE = 25;
const STATUSES = ['processing', 'completed', 'failed', 'cancelled'];
const SORTS = ['created_at', 'status', 'created_by', 'template'].flatMap((f) => [`asc:${f}`, `desc:${f}`]);

/** A column header that sorts the list by field (the URL's sort=dir:field). */
function SortHeader({ field, label, sort, onSort }: { field: string; label: string; sort: string; onSort: (s: string) => void }) {
  const [dir, f] = sort.split(':');
  const active = f === field;
  const next = active && dir === 'desc' ? `asc:${field}` : active ? `desc:${field}` : `${field === 'created_at' ? 'desc' : 'asc'}:${field}`;
  return (
    <th scope="col" aria-sort={active ? (dir === 'asc' ? 'ascending' : 'descending') : 'none'}>
      <button type="button" className="link sortbtn" onClick={() => onSort(next)}>
        {label}<span aria-hidden="true">{active ? (dir === 'asc' ? ' ▲' : ' ▼') : ''}</span>
      </button>
    </th>
  );
}

/** The list API's query for the page's URL filters. */
export function tasksQuery(params: URLSearchParams, me: string | undefined): string {
  const q = new URLSearchParams();
  if (params.get('scope') !== 'all' && me) q.append('createdBy', me);
  const status = params.get('status');
  if (status) q.append('status', status);
  const template = params.get('template');
  if (template) q.append('template', template);
  const page = Math.max(1, Number(params.get('page')) || 1);
  q.set('limit', String(PAGE_SIZE));
  q.set('offset', String((page - 1) * PAGE_SIZE));
  q.set('order', SORTS.includes(params.get('sort') ?? '') ? params.get('sort')! : 'desc:created_at');
  return q.toString();
}

export function TasksPage() {
  useTitle('Tasks');
  const [params, setParams] = useSearchParams();
  const { user } = useSession();
  const me = user?.ref;
  const scope = params.get('scope') === 'all' ? 'all' : 'mine';
  const page = Math.max(1, Number(params.get('page')) || 1);
  const sort = SORTS.includes(params.get('sort') ?? '') ? params.get('sort')! : 'desc:created_at';
  const query = tasksQuery(params, me);
  const list = useAsync((signal) => get<TaskList>(`/api/scaffolder/v2/tasks?${query}`, signal), [query]);
  const templates = useAsync(
    (signal) => get<QueryResponse>('/api/catalog/entities/by-query?filter=kind=template&limit=200&orderField=metadata.name,asc&fields=kind,metadata.name,metadata.namespace,metadata.title', signal),
    [],
  );

  // While a listed task runs, the list refreshes itself.
  const anyRunning = !!list.data?.tasks.some((t) => t.status === 'processing');
  const reload = list.reload;
  useEffect(() => {
    if (!anyRunning) return;
    const t = setInterval(reload, 5000);
    return () => clearInterval(t);
  }, [anyRunning, query]); // eslint-disable-line react-hooks/exhaustive-deps

  const set = (k: string, v: string) => {
    const next = new URLSearchParams(params);
    if (v) next.set(k, v); else next.delete(k);
    if (k !== 'page') next.delete('page');
    setParams(next);
  };
  const titles = new Map((templates.data?.items ?? []).map((t) => [`template:${t.metadata.namespace ?? 'default'}/${t.metadata.name}`, t.metadata.title || t.metadata.name]));
  const total = list.data?.totalTasks ?? 0;
  const pages = Math.max(1, Math.ceil(total / PAGE_SIZE));

  return (
    <>
      <h1>Tasks</h1>
      <div className="taskfilters" role="group" aria-label="Filters">
        <div className="segmented" role="group" aria-label="Whose tasks">
          <button type="button" aria-pressed={scope === 'mine'} onClick={() => set('scope', '')}>Mine</button>
          <button type="button" aria-pressed={scope === 'all'} onClick={() => set('scope', 'all')}>All</button>
        </div>
        <label>
          Status{' '}
          <select value={params.get('status') ?? ''} onChange={(e) => set('status', e.target.value)}>
            <option value="">Any</option>
            {STATUSES.map((s) => <option key={s} value={s}>{s === 'processing' ? 'running' : s}</option>)}
          </select>
        </label>
        <label>
          Template{' '}
          <select value={params.get('template') ?? ''} onChange={(e) => set('template', e.target.value)}>
            <option value="">Any</option>
            {(templates.data?.items ?? []).map((t) => {
              const ref = `template:${t.metadata.namespace ?? 'default'}/${t.metadata.name}`;
              return <option key={ref} value={ref}>{t.metadata.title || humanRef(ref, 'template')}</option>;
            })}
            {params.get('template') && !templates.data?.items.some((t) => `template:${t.metadata.namespace ?? 'default'}/${t.metadata.name}` === params.get('template'))
              ? <option value={params.get('template')!}>{humanRef(params.get('template')!, 'template')}</option> : null}
          </select>
        </label>
        <button type="button" onClick={list.reload}>Refresh</button>
      </div>

      {list.error ? (
        <ErrorBox error={list.error} title={scope === 'all' ? 'You may not list all tasks' : 'Could not list tasks'} />
      ) : list.loading && !list.data ? (
        <Loading what="tasks" />
      ) : !list.data || list.data.tasks.length === 0 ? (
        <Empty>
          No tasks{params.get('status') || params.get('template') ? ' match these filters' : scope === 'mine' ? ' started by you yet' : ' yet'}.{' '}
          <Link to="/create">Start one from a template</Link>.
        </Empty>
      ) : (
        <>
          <p className="muted" role="status">{total} task{total === 1 ? '' : 's'}{list.loading ? ' · refreshing…' : ''}</p>
          <table className="tasktable">
            <caption className="sr-only">Tasks</caption>
            <thead>
              <tr>
                <SortHeader field="template" label="Template" sort={sort} onSort={(v) => set('sort', v)} />
                <SortHeader field="status" label="Status" sort={sort} onSort={(v) => set('sort', v)} />
                <SortHeader field="created_by" label="Created by" sort={sort} onSort={(v) => set('sort', v)} />
                <SortHeader field="created_at" label="Created" sort={sort} onSort={(v) => set('sort', v)} />
                <th scope="col">Duration</th><th scope="col">Task</th>
              </tr>
            </thead>
            <tbody>
              {list.data.tasks.map((t) => {
                const tpl = t.spec.templateInfo?.entityRef;
                const d = t.endedAt ? elapsed(t.createdAt, t.endedAt) : t.status === 'processing' ? elapsed(t.createdAt) : undefined;
                return (
                  <tr key={t.id}>
                    <td><Link to={`/tasks/${encodeURIComponent(t.id)}`}>{tpl ? titles.get(tpl) ?? humanRef(tpl, 'template') : 'Task'}</Link></td>
                    <td><StatusBadge status={t.status} /></td>
                    <td>{t.createdBy ? humanRef(t.createdBy, 'user') : '—'}</td>
                    <td>{formatTime(t.createdAt)}</td>
                    <td>{d === undefined ? '—' : `${formatDuration(d)}${t.endedAt ? '' : ' so far'}`}</td>
                    <td><code title={t.id}>{t.id.slice(0, 8)}</code></td>
                  </tr>
                );
              })}
            </tbody>
          </table>
          <nav className="pager" aria-label="Pages">
            <button type="button" disabled={page <= 1} onClick={() => set('page', String(page - 1))}>Previous</button>
            <span>Page {page} of {pages}</span>
            <button type="button" disabled={page >= pages} onClick={() => set('page', String(page + 1))}>Next</button>
          </nav>
        </>
      )}
    </>
  );
}

// The launch page of one template: its parameter pages as a form; submit
// starts a task and opens its page. ?from=<task id> (Start over on the task
// page) fills the form with that task's values, never its secrets.
import { useMemo, useRef, useState } from 'react';
import { Link, useNavigate, useParams, useSearchParams } from 'react-router-dom';
import { ApiError, entityPath, get, post } from '../api';
import { TemplateForm, type ParameterStep } from '../form/TemplateForm';
import { ErrorBox, Loading, useAsync, useTitle } from '../ui';

interface ParameterSchema {
  title?: string;
  description?: string;
  steps: ParameterStep[];
}

type Obj = Record<string, unknown>;

/** Where a task response keeps the values it ran with (Backstage: spec.parameters). */
export function taskValues(task: unknown): Obj | undefined {
  const t = task as { spec?: Obj; parameters?: unknown; values?: unknown } | undefined;
  for (const v of [t?.spec?.parameters, t?.spec?.values, t?.parameters, t?.values]) {
    if (v && typeof v === 'object' && !Array.isArray(v)) return v as Obj;
  }
  return undefined;
}

/** The server's refusal; a validation error's several problems as a list. */
function SubmitError({ error }: { error: unknown }) {
  const e = error as ApiError;
  const problems = e instanceof ApiError && e.status === 400 ? e.message.replace(/^invalid parameters:\s*/, '').split(/;\s+/) : [];
  return (
    <>
      <ErrorBox error={error} title="The task was not started" />
      {problems.length > 1 ? (
        <ul className="submit-problems" aria-label="Problems the server found">
          {problems.map((p, i) => <li key={i}>{p}</li>)}
        </ul>
      ) : null}
    </>
  );
}

export default function LaunchPage() {
  const { namespace = 'default', name = '' } = useParams();
  const [sp] = useSearchParams();
  const from = sp.get('from') ?? '';
  const navigate = useNavigate();
  const [error, setError] = useState<unknown>();
  const top = useRef<HTMLDivElement>(null);
  const schema = useAsync(
    (signal) => get<ParameterSchema>(`/api/scaffolder/v2/templates/${encodeURIComponent(namespace)}/template/${encodeURIComponent(name)}/parameter-schema`, signal),
    [namespace, name],
  );
  const previous = useAsync((signal) => (from ? get<unknown>(`/api/scaffolder/v2/tasks/${encodeURIComponent(from)}`, signal) : Promise.resolve(undefined)), [from]);
  useTitle(schema.data?.title || name);
  const steps = useMemo(() => schema.data?.steps ?? [], [schema.data]);
  const initialValues = useMemo(() => (from ? taskValues(previous.data) ?? {} : undefined), [from, previous.data]);

  const onSubmit = async (values: Obj, secrets: Record<string, string>) => {
    setError(undefined);
    try {
      const r = await post<{ id: string }>('/api/scaffolder/v2/tasks', { templateRef: `template:${namespace}/${name}`, values, secrets });
      navigate(`/tasks/${encodeURIComponent(r.id)}`);
    } catch (e) {
      setError(e);
      top.current?.scrollIntoView?.({ block: 'start' });
      throw e;
    }
  };

  const title = schema.data?.title || name;
  return (
    <div className="launch-page" ref={top}>
      <p className="crumbs">
        <Link to="/create">Create</Link> / {title} · <Link to={entityPath({ kind: 'template', namespace, name })}>View the template in the catalog</Link>
      </p>
      <h1>{title}</h1>
      {schema.data?.description ? <p className="muted">{schema.data.description}</p> : null}
      {error ? <SubmitError error={error} /> : null}
      {schema.loading ? <Loading what="the template's form" /> : null}
      {schema.error ? <ErrorBox error={schema.error} title="Could not load this template" /> : null}
      {from && previous.loading ? <Loading what="the earlier task's values" /> : null}
      {from && previous.error ? <ErrorBox error={previous.error} title="Could not load the earlier task; starting from an empty form" /> : null}
      {from && previous.data && !taskValues(previous.data) ? (
        <p className="notice" role="status">The earlier task's values are not available from the server, so the form starts empty.</p>
      ) : null}
      {from && previous.data && taskValues(previous.data) ? (
        <p className="notice" role="status">Starting over with the values of task <Link to={`/tasks/${encodeURIComponent(from)}`}><code>{from}</code></Link>. Secrets are never kept: enter them again.</p>
      ) : null}
      {schema.data && !(from && previous.loading) ? (
        <TemplateForm
          key={`${namespace}/${name}/${from}`}
          steps={steps}
          initialValues={initialValues}
          onSubmit={onSubmit}
          submitLabel="Create"
          draftKey={`rigger.draft.template:${namespace}/${name}`}
        />
      ) : null}
    </div>
  );
}

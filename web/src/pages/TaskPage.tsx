// A task as it runs: header, steps with live durations, the log streamed
// over SSE (resumed with ?after= after a disconnect), output links and
// text, and the buttons that act on it (cancel, retry from the failed step,
// start over, the run in the Temporal UI, approve or reject a step that
// waits for an approval).
import { useCallback, useEffect, useMemo, useRef, useState } from 'react';
import { Link, useParams, useSearchParams } from 'react-router-dom';
import { ApiError, entityPath, get, humanRef, parseRef, post, type Entity } from '../api';
import { ErrorBox, Loading, useTitle } from '../ui';
import { followTaskEvents, type TaskEvent } from '../tasks/sse';
import {
  STATUS_ICON, elapsed, formatDuration, formatTime, isFinal, safeUrl, statusLabel, taskEnd,
  type Task, type TaskOutput, type TaskStep,
} from '../tasks/model';
import { Markdownish } from '../tasks/Markdownish';
import { ApprovalPanel } from '../tasks/Approval';
import { WaitPanel } from '../tasks/Wait';

const taskUrl = (id: string) => `/api/scaffolder/v2/tasks/${encodeURIComponent(id)}`;


/** The approval step rigger inserts into a run an agent started (internal/tasks GateStepID). */
const AGENT_GATE = 'rigger-agent-approval';
export function StatusBadge({ status }: { status: string }) {
  return (
    <span className={`badge status-${status}`}>
      <span aria-hidden="true">{STATUS_ICON[status] ?? '•'}</span> {statusLabel(status)}
    </span>
  );
}

/** Re-renders every second while on: running durations tick. */
function useNow(on: boolean): number {
  const [now, setNow] = useState(() => Date.now());
  useEffect(() => {
    if (!on) return;
    const t = setInterval(() => setNow(Date.now()), 1000);
    return () => clearInterval(t);
  }, [on]);
  return on ? now : Date.now();
}

export function TaskPage() {
  const { id = '' } = useParams();
  const [task, setTask] = useState<Task>();
  const [loadError, setLoadError] = useState<unknown>();
  const [events, setEvents] = useState<TaskEvent[]>([]);
  const [streamState, setStreamState] = useState<'connecting' | 'open' | 'reconnecting' | 'done'>('connecting');
  const [streamError, setStreamError] = useState<ApiError>();
  const [actionError, setActionError] = useState<unknown>();
  const [busy, setBusy] = useState<'' | 'cancel' | 'retry'>('');
  // The chosen step's log is in the URL (?step=<id>): a link can point at it.
  const [params, setParams] = useSearchParams();
  const stepFilter = params.get('step') ?? '';
  const setStepFilter = (id: string) => {
    const next = new URLSearchParams(params);
    if (id) next.set('step', id); else next.delete('step');
    setParams(next, { replace: true });
  };
  const [generation, setGeneration] = useState(0); // a retry starts a new stream
  const [title, setTitle] = useState<string>();
  const taskRef = useRef<Task>();
  taskRef.current = task;

  const tplRef = task?.spec.templateInfo?.entityRef;
  useTitle(task ? `${title ?? humanRef(tplRef ?? 'task', 'template')} · ${statusLabel(task.status)}` : 'Task');

  // The task itself; refreshed (at most every 400 ms) as events arrive.
  const refreshing = useRef<{ timer?: ReturnType<typeof setTimeout>; ctl?: AbortController }>({});
  const loadTask = useCallback(async () => {
    refreshing.current.ctl?.abort();
    const ctl = new AbortController();
    refreshing.current.ctl = ctl;
    try {
      const t = await get<Task>(taskUrl(id), ctl.signal);
      if (!ctl.signal.aborted) { setTask(t); setLoadError(undefined); }
    } catch (e) {
      if (!ctl.signal.aborted) setLoadError(e);
    }
  }, [id]);
  const scheduleRefresh = useCallback((now = false) => {
    const r = refreshing.current;
    if (now) { clearTimeout(r.timer); r.timer = undefined; void loadTask(); return; }
    if (r.timer) return;
    r.timer = setTimeout(() => { r.timer = undefined; void loadTask(); }, 400);
  }, [loadTask]);

  useEffect(() => {
    setTask(undefined); setEvents([]); setLoadError(undefined);
    void loadTask();
    const r = refreshing.current;
    return () => { clearTimeout(r.timer); r.timer = undefined; r.ctl?.abort(); };
  }, [id, loadTask]);

  // The template's title for the header.
  useEffect(() => {
    setTitle(undefined);
    if (!tplRef) return;
    const p = parseRef(tplRef, 'template');
    const ctl = new AbortController();
    get<Entity>(`/api/catalog/entities/by-name/${encodeURIComponent(p.kind)}/${encodeURIComponent(p.namespace)}/${encodeURIComponent(p.name)}`, ctl.signal)
      .then((e) => setTitle(e.metadata.title || e.metadata.name), () => undefined);
    return () => ctl.abort();
  }, [tplRef]);

  // The live log.
  useEffect(() => {
    if (!id) return;
    const ctl = new AbortController();
    setStreamError(undefined);
    setStreamState('connecting');
    void followTaskEvents(id, {
      signal: ctl.signal,
      onEvent: (e) => {
        setEvents((prev) => (prev.length && prev[prev.length - 1].id >= e.id ? prev : [...prev, e]));
        scheduleRefresh(e.type === 'completion');
      },
      onState: (s) => { setStreamState(s); if (s === 'done') scheduleRefresh(true); },
      onError: (e) => setStreamError(e),
      isDone: () => isFinal(taskRef.current?.status),
    });
    return () => ctl.abort();
  }, [id, generation, scheduleRefresh]);

  // Steps change state between log lines too: while running, a slow poll.
  const running = !!task && !isFinal(task.status);
  useEffect(() => {
    if (!running) return;
    const t = setInterval(() => scheduleRefresh(), 5000);
    return () => clearInterval(t);
  }, [running, scheduleRefresh]);

  const now = useNow(running);

  const cancel = async () => {
    if (!window.confirm('Cancel this task? Steps that already ran are not undone.')) return;
    setBusy('cancel'); setActionError(undefined);
    try { await post(`${taskUrl(id)}/cancel`); scheduleRefresh(true); } catch (e) { setActionError(e); } finally { setBusy(''); }
  };
  const retry = async () => {
    setBusy('retry'); setActionError(undefined);
    try {
      await post(`${taskUrl(id)}/retry`);
      setEvents([]);
      setTask((t) => (t ? { ...t, status: 'processing', endedAt: undefined } : t));
      setGeneration((g) => g + 1);
      scheduleRefresh(true);
    } catch (e) { setActionError(e); } finally { setBusy(''); }
  };

  if (loadError && !task) return <><h1>Task</h1><ErrorBox error={loadError} title="Could not load this task" /></>;
  if (!task) return <Loading what="the task" />;

  // A step that never started in a task that ended did not run: not "waiting".
  const steps: TaskStep[] = (task.steps ?? (task.spec.steps ?? []).map((s) => ({ ...s, status: 'open' })))
    .map((s) => (isFinal(task.status) && s.status === 'open' ? { ...s, status: 'skipped' } : s));
  const failedStep = steps.find((s) => s.status === 'failed');
  const end = taskEnd(task);
  const tpl = tplRef ? parseRef(tplRef, 'template') : undefined;
  const creator = task.createdBy ?? task.spec.user?.ref;
  const agentGate = !!task.approval && running && task.channel === 'mcp' && task.approval.stepId === AGENT_GATE;

  return (
    <div className="taskpage">
      <header className="taskhead">
        <div>
          <p className="muted crumbs"><Link to="/tasks">Tasks</Link> / <code>{task.id}</code></p>
          <h1>{title ?? (tplRef ? humanRef(tplRef, 'template') : 'Task')}</h1>
          <dl className="facts">
            <div><dt>Status</dt><dd><StatusBadge status={task.status} />{task.attempt && task.attempt > 1 ? <span className="muted"> (attempt {task.attempt})</span> : null}</dd></div>
            <div><dt>Created by</dt><dd>{creator ? <Link to={entityPath(parseRef(creator, 'user'))}>{humanRef(creator, 'user')}</Link> : '—'}{task.channel === 'mcp' ? <span className="muted"> through an AI agent (MCP)</span> : null}</dd></div>
            <div><dt>Started</dt><dd>{formatTime(task.createdAt)}</dd></div>
            <div><dt>Ended</dt><dd>{end ? formatTime(end) : '—'}</dd></div>
            <div><dt>Duration</dt><dd>{formatDuration(elapsed(task.createdAt, end, now) ?? NaN)}</dd></div>
          </dl>
        </div>
        <div className="taskactions">
          {running ? <button type="button" className="danger" onClick={cancel} disabled={!!busy}>{busy === 'cancel' ? 'Cancelling…' : 'Cancel'}</button> : null}
          {task.status === 'failed' ? (
            <button type="button" className="primary" onClick={retry} disabled={!!busy}>
              {busy === 'retry' ? 'Retrying…' : failedStep ? `Retry from “${failedStep.name || failedStep.id}”` : 'Retry from the failed step'}
            </button>
          ) : null}
          {tpl ? <Link className="button" to={`/create/templates/${encodeURIComponent(tpl.namespace)}/${encodeURIComponent(tpl.name)}?from=${encodeURIComponent(task.id)}`}>Start over</Link> : null}
          <TemporalLink task={task} />
        </div>
      </header>
      {actionError ? <ErrorBox error={actionError} title="That did not work" /> : null}
      {running && task.workerUnavailable ? (
        <p className="notice" role="status">
          No worker is answering for this task right now (a deploy, or its workers are stopped), so its steps are shown as planned.
          It goes on from where it was once a worker is back; this page updates by itself.
        </p>
      ) : null}
      {agentGate ? (
        <p className="notice" role="note">
          An AI agent started this run as {creator ? humanRef(creator, 'user') : 'its creator'} and it stops here, before its first step that changes
          anything outside the run. Read the inputs it gave and the steps below before you approve; the agent itself cannot approve it.
        </p>
      ) : null}
      <TaskInputs parameters={task.spec.parameters} open={agentGate} />
      {task.approval && running ? (
        <ApprovalPanel taskId={task.id} approval={task.approval} onDecided={() => scheduleRefresh(true)}
          stepName={steps.find((s) => s.id === task.approval?.stepId)?.name || task.approval.stepId} />
      ) : null}
      {running ? steps.filter((s) => s.status === 'processing' && s.wait && !s.wait.outcome).map((s) => (
        <WaitPanel key={s.id} wait={s.wait!} stepName={s.name || s.id} />
      )) : null}

      <div className="taskbody">
        <section aria-labelledby="steps-h" className="tasksteps">
          <h2 id="steps-h">Steps</h2>
          <ol className="steplist">
            <li>
              <button type="button" aria-pressed={stepFilter === ''} onClick={() => setStepFilter('')} className="stepbtn">
                <span className="stepname">All steps</span>
                <span className="muted">{events.length} log lines</span>
              </button>
            </li>
            {steps.map((s) => {
              const d = elapsed(s.startedAt, s.endedAt, now);
              return (
                <li key={s.id}>
                  <button type="button" aria-pressed={stepFilter === s.id} onClick={() => setStepFilter(s.id)} className="stepbtn">
                    <span className={`stepicon status-${s.status}`} aria-hidden="true">{STATUS_ICON[s.status] ?? '•'}</span>
                    <span className="stepname">{s.name || s.id}</span>
                    <span className={`status-${s.status} steptext`}>{running && s.id === task.approval?.stepId ? 'Waiting for approval' : running && s.status === 'processing' && s.wait && !s.wait.outcome ? (s.wait.for === 'callback' ? 'Waiting for its callback' : 'Waiting for GitHub') : statusLabel(s.status)}</span>
                    <span className="muted stepdur">{d === undefined ? '' : formatDuration(d)}</span>
                  </button>
                  {s.error ? <p className="steperror" role="note">{s.error}</p> : null}
                </li>
              );
            })}
          </ol>
        </section>
        <section aria-labelledby="log-h" className="tasklog">
          <div className="loghead">
            <h2 id="log-h">Log{stepFilter ? <>: <span className="muted">{steps.find((s) => s.id === stepFilter)?.name ?? stepFilter}</span></> : null}</h2>
            <span className="muted" role="status">
              {streamState === 'reconnecting' ? 'Connection lost, reconnecting…' : streamState === 'connecting' ? 'Connecting…' : streamState === 'open' ? 'Live' : ''}
            </span>
          </div>
          {streamError ? <ErrorBox error={streamError} title="The live log is not available" /> : null}
          <LogView events={events} stepId={stepFilter} />
        </section>
      </div>

      {task.output && (task.output.links?.length || task.output.text?.length) ? <Output output={task.output} /> : null}
    </div>
  );
}

function TemporalLink({ task }: { task: Task }) {
  const [copied, setCopied] = useState(false);
  const href = safeUrl(task.temporalUrl);
  if (href) return <a className="button" href={href} target="_blank" rel="noopener noreferrer">Open in Temporal UI</a>;
  const copy = async () => {
    try { await navigator.clipboard.writeText(task.id); setCopied(true); setTimeout(() => setCopied(false), 1500); } catch { /* no clipboard */ }
  };
  return (
    <span className="workflowid">
      Workflow id <code>{task.id}</code>{' '}
      <button type="button" onClick={copy}>{copied ? 'Copied' : 'Copy'}</button>
    </span>
  );
}

/** The log, scrolled to the newest line unless the reader scrolled up. */
export const LOG_WINDOW = 2000;

export function LogView({ events, stepId }: { events: TaskEvent[]; stepId: string }) {
  const box = useRef<HTMLDivElement>(null);
  const [stick, setStick] = useState(true);
  // Only the newest lines are in the page (a long log stays fast); earlier ones on request.
  const [shown, setShown] = useState(LOG_WINDOW);
  const all = useMemo(() => events.filter((e) => !stepId || e.body.stepId === stepId), [events, stepId]);
  const hidden = Math.max(0, all.length - shown);
  const lines = useMemo(() => (hidden ? all.slice(hidden) : all), [all, hidden]);
  useEffect(() => {
    const el = box.current;
    if (el && stick) el.scrollTop = el.scrollHeight;
  }, [lines, stick]);
  const onScroll = () => {
    const el = box.current;
    if (!el) return;
    setStick(el.scrollHeight - el.scrollTop - el.clientHeight < 24);
  };
  return (
    <div className="logwrap">
      <div ref={box} className="logbox" role="log" aria-label="Task log" tabIndex={0} onScroll={onScroll}>
        {lines.length === 0 ? <p className="muted">No log lines yet.</p> : null}
        {hidden ? (
          <button type="button" className="link" onClick={() => { setStick(false); setShown((n) => n + LOG_WINDOW); }}>
            Show {Math.min(hidden, LOG_WINDOW)} earlier lines ({hidden} not shown)
          </button>
        ) : null}
        {lines.map((e) => (
          <div key={e.id} className={`logline log-${e.type}`} data-event-id={e.id}>
            <time className="muted" dateTime={e.createdAt}>{new Date(e.createdAt).toLocaleTimeString()}</time>{' '}
            {!stepId && e.body.stepId ? <span className="logstep">[{e.body.stepId}]</span> : null}{' '}
            <span className="logmsg">{e.type === 'completion' ? `Task ${statusLabel(e.body.status ?? '')}${e.body.message ? `: ${e.body.message}` : ''}` : e.body.message}</span>
          </div>
        ))}
      </div>
      {!stick ? (
        <button type="button" className="jumplatest" onClick={() => setStick(true)}>Jump to the latest line</button>
      ) : null}
    </div>
  );
}

function Output({ output }: { output: TaskOutput }) {
  return (
    <section aria-labelledby="out-h" className="taskoutput">
      <h2 id="out-h">Output</h2>
      {output.links?.length ? (
        <ul className="outlinks">
          {output.links.map((l, i) => {
            const label = l.title || l.entityRef || l.url || 'Link';
            if (l.entityRef) return <li key={i}><Link className="button" to={entityPath(parseRef(l.entityRef, 'component'))}>{label}</Link></li>;
            const href = safeUrl(l.url);
            return <li key={i}>{href ? <a className="button" href={href} target="_blank" rel="noopener noreferrer">{label}</a> : <span>{label} <span className="muted">(link not shown: {l.url})</span></span>}</li>;
          })}
        </ul>
      ) : null}
      {output.text?.map((t, i) => (
        <article key={i} className="outtext card">
          {t.title ? <h3>{t.title}</h3> : null}
          <Markdownish text={String(t.content ?? '')} />
        </article>
      ))}
    </section>
  );
}

/** The values the task was started with (spec.parameters; secrets are never among them), folded unless a person must review them. */
function TaskInputs({ parameters, open }: { parameters?: Record<string, unknown>; open: boolean }) {
  const entries = Object.entries(parameters ?? {});
  if (entries.length === 0) return null;
  return (
    <details className="taskinputs" open={open}>
      <summary>Inputs ({entries.length})</summary>
      <dl>
        {entries.map(([k, v]) => (
          <div key={k}>
            <dt><code>{k}</code></dt>
            <dd>{typeof v === 'string' ? v : <pre>{JSON.stringify(v, null, 2)}</pre>}</dd>
          </div>
        ))}
      </dl>
    </details>
  );
}

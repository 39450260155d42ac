// A dry run of the template being edited: POST /v2/dry-run with the
// preview form's values and the loaded folder's files, then the files it
// produced (a tree and a viewer), its log and its output.
import { useEffect, useMemo, useState } from 'react';
import { request } from '../api';
import { ErrorBox, Empty } from '../ui';
import { Markdownish } from '../tasks/Markdownish';
import { STATUS_ICON, statusLabel, type TaskOutput, type TaskStep } from '../tasks/model';
import { decodeText, treeRows, type DirFile } from './files';

export interface DryRunResponse {
  status: 'completed' | 'failed';
  error?: { message: string };
  log: { body: { message: string; stepId?: string; status?: string } }[];
  steps: TaskStep[];
  output?: TaskOutput;
  directoryContents: DirFile[];
}

interface Props {
  template: unknown;
  values: Record<string, unknown>;
  secrets: Record<string, string>;
  files: DirFile[];
  disabledReason?: string;
}

export function DryRun({ template, values, secrets, files, disabledReason }: Props) {
  const [res, setRes] = useState<DryRunResponse>();
  const [error, setError] = useState<unknown>();
  const [running, setRunning] = useState(false);
  const [tab, setTab] = useState<'files' | 'log' | 'output'>('files');
  // The values as JSON, editable here too (the preview form fills them).
  const [valuesText, setValuesText] = useState(() => JSON.stringify(values, null, 2));
  useEffect(() => setValuesText(JSON.stringify(values, null, 2)), [values]);
  let parsedValues: Record<string, unknown> | undefined;
  let valuesError = '';
  try {
    const v = JSON.parse(valuesText || '{}');
    if (v && typeof v === 'object' && !Array.isArray(v)) parsedValues = v; else valuesError = 'The values must be a JSON object.';
  } catch (e) {
    valuesError = `The values are not valid JSON: ${(e as Error).message}`;
  }
  const run = async () => {
    if (!parsedValues) return;
    setRunning(true); setError(undefined);
    try {
      const r = await request<DryRunResponse>('/api/scaffolder/v2/dry-run', { method: 'POST', json: { template, values: parsedValues, secrets, directoryContents: files } });
      setRes(r);
      setTab(r.status === 'failed' ? 'log' : 'files');
    } catch (e) {
      setError(e); setRes(undefined);
    } finally {
      setRunning(false);
    }
  };
  return (
    <div className="dryrun">
      <details className="dryvalues">
        <summary>Values ({Object.keys(parsedValues ?? {}).length}), from the form preview or typed here as JSON</summary>
        <label htmlFor="dryrun-values" className="sr-only">Values as JSON</label>
        <textarea id="dryrun-values" className="code" rows={6} spellCheck={false} value={valuesText} onChange={(e) => setValuesText(e.target.value)} aria-invalid={!!valuesError || undefined} aria-describedby={valuesError ? 'dryrun-values-error' : undefined} />
        {valuesError ? <p id="dryrun-values-error" className="status-failed">{valuesError}</p> : null}
      </details>
      <div className="dryrunbar">
        <button type="button" className="primary" onClick={run} disabled={running || !!disabledReason || !parsedValues}>{running ? 'Running…' : 'Run a dry run'}</button>
        <span className="muted">
          {disabledReason ?? `${files.length ? `With ${files.length} file(s) from the folder. ` : ''}Steps with side effects are skipped.`}
        </span>
      </div>
      {error ? <ErrorBox error={error} title="The dry run was refused" /> : null}
      {res ? (
        <>
          <p role="status" className={`status-${res.status}`}>
            <span aria-hidden="true">{STATUS_ICON[res.status]}</span> Dry run {statusLabel(res.status).toLowerCase()}{res.error ? `: ${res.error.message}` : ''}
          </p>
          <div className="tabs" role="tablist" aria-label="Dry run result">
            {(['files', 'log', 'output'] as const).map((t) => (
              <button key={t} type="button" role="tab" id={`dr-tab-${t}`} aria-selected={tab === t} aria-controls={`dr-panel-${t}`} onClick={() => setTab(t)}>
                {t === 'files' ? `Files (${res.directoryContents.length})` : t === 'log' ? `Log (${res.log.length})` : 'Output'}
              </button>
            ))}
          </div>
          <div role="tabpanel" id={`dr-panel-${tab}`} aria-labelledby={`dr-tab-${tab}`}>
            {tab === 'files' ? <FileBrowser files={res.directoryContents} /> : null}
            {tab === 'log' ? (
              <>
                <ol className="steplist dr-steps">
                  {res.steps.map((s) => <li key={s.id}><span aria-hidden="true" className={`status-${s.status}`}>{STATUS_ICON[s.status] ?? '•'}</span> {s.name || s.id} — <span className={`status-${s.status}`}>{statusLabel(s.status)}</span>{s.error ? <span className="steperror"> {s.error}</span> : null}</li>)}
                </ol>
                <div className="logbox" role="log" aria-label="Dry run log" tabIndex={0}>
                  {res.log.map((l, i) => <div key={i} className="logline">{l.body.stepId ? <span className="logstep">[{l.body.stepId}] </span> : null}{l.body.message}</div>)}
                </div>
              </>
            ) : null}
            {tab === 'output' ? <OutputView output={res.output} /> : null}
          </div>
        </>
      ) : null}
    </div>
  );
}

function OutputView({ output }: { output?: TaskOutput }) {
  if (!output || Object.keys(output).length === 0) return <Empty>The template has no output.</Empty>;
  const { links, text, ...rest } = output;
  return (
    <div>
      {links?.length ? <ul>{links.map((l, i) => <li key={i}>{l.title ?? 'Link'}: <code>{l.url ?? l.entityRef}</code></li>)}</ul> : null}
      {text?.map((t, i) => <article key={i} className="card outtext">{t.title ? <h3>{t.title}</h3> : null}<Markdownish text={String(t.content ?? '')} /></article>)}
      {Object.keys(rest).length ? <pre>{JSON.stringify(rest, null, 2)}</pre> : null}
    </div>
  );
}

export function FileBrowser({ files }: { files: DirFile[] }) {
  const [sel, setSel] = useState<string>();
  const rows = useMemo(() => treeRows(files.map((f) => f.path)), [files]);
  const current = files.find((f) => f.path === (sel ?? files[0]?.path));
  const text = useMemo(() => (current ? decodeText(current.base64Content) : undefined), [current]);
  if (files.length === 0) return <Empty>The dry run produced no files.</Empty>;
  return (
    <div className="filebrowser">
      <ul className="filetree" aria-label="Files">
        {rows.map((r) => (
          <li key={r.path} style={{ paddingLeft: `${r.depth * 0.9}rem` }}>
            {r.dir ? <span className="muted">{r.name}/</span> : (
              <button type="button" className="link" aria-current={current?.path === r.path ? 'true' : undefined} onClick={() => setSel(r.path)}>{r.name}</button>
            )}
          </li>
        ))}
      </ul>
      <div className="fileview">
        {current ? (
          <>
            <p className="muted"><code>{current.path}</code>{current.executable ? ' (executable)' : ''}</p>
            {text === undefined ? <Empty>A binary file of {Math.floor(current.base64Content.length * 3 / 4)} bytes.</Empty> : <pre aria-label={`Contents of ${current.path}`} tabIndex={0}>{text}</pre>}
          </>
        ) : null}
      </div>
    </div>
  );
}

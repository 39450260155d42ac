// The template editor for platform teams: YAML on the left (highlighted,
// with the browser's syntax errors and the server's validation findings at
// their lines), on the right a live preview of the form, a dry run, and the
// installed actions. Loaded on demand (it brings the yaml package).
import { useEffect, useMemo, useRef, useState, type ChangeEvent } from 'react';
import { stringify } from 'yaml';
import { get, type Entity, type QueryResponse } from '../api';
import { ErrorBox, useAsync, useDebounced, useTitle } from '../ui';
import { TemplateForm, type ParameterStep } from '../form/TemplateForm';
import { CodeEditor, type CodeEditorHandle } from '../editor/CodeEditor';
import { parseYaml, validateOnServer, type Problem } from '../editor/problems';
import { readFolder, readText, type DirFile } from '../editor/files';
import { DryRun } from '../editor/DryRun';
import { ActionsList } from '../editor/Actions';

export const STARTER = `apiVersion: scaffolder.backstage.io/v1beta3
kind: Template
metadata:
  name: my-template
  title: My template
  description: What this template makes.
spec:
  owner: group:default/platform
  type: service
  parameters:
    - title: Basics
      required: [name]
      properties:
        name:
          title: Name
          type: string
          pattern: '^[a-z][a-z0-9-]{1,40}$'
  steps:
    - id: write
      name: Write a file
      action: fs:write
      input:
        path: README.md
        content: "# \${{ parameters.name }}"
  output:
    text:
      - title: Done
        content: Wrote README.md for \${{ parameters.name }}.
`;

/** The preview form's steps from a parsed template (pages that are not objects are left out). */
export function parameterSteps(doc: unknown): ParameterStep[] {
  const params = (doc as { spec?: { parameters?: unknown } } | undefined)?.spec?.parameters;
  const pages = Array.isArray(params) ? params : params && typeof params === 'object' ? [params] : [];
  return pages
    .filter((p): p is Record<string, unknown> => !!p && typeof p === 'object' && !Array.isArray(p))
    .map((p, i) => ({
      title: typeof p.title === 'string' ? p.title : `Page ${i + 1}`,
      description: typeof p.description === 'string' ? p.description : undefined,
      schema: p,
      if: typeof p.if === 'boolean' || typeof p.if === 'string' ? p.if : undefined,
    }));
}

const ORDER: Record<string, string[]> = {
  '': ['apiVersion', 'kind', 'metadata', 'spec'],
  metadata: ['name', 'namespace', 'title', 'description', 'tags', 'labels', 'annotations', 'links'],
  spec: ['owner', 'type', 'parameters', 'steps', 'output'],
  step: ['id', 'name', 'action', 'if', 'each', 'input'],
  page: ['title', 'description', 'if', 'required', 'properties'],
};

/** obj with the keys in `order` first (in that order), the rest after, as they came. */
function ordered(obj: Record<string, unknown>, order: string[]): Record<string, unknown> {
  const out: Record<string, unknown> = {};
  for (const k of order) if (k in obj) out[k] = obj[k];
  for (const k of Object.keys(obj)) if (!(k in out)) out[k] = obj[k];
  return out;
}

const LOCATION_ANNOTATIONS = ['backstage.io/managed-by-location', 'backstage.io/managed-by-origin-location'];

/** A catalog entity as template YAML: without what the catalog added, keys in the order authors write them. */
export function entityYaml(e: Entity): string {
  const { relations: _r, ...rest } = e as Entity & { status?: unknown };
  delete (rest as { status?: unknown }).status;
  const meta: Record<string, unknown> = { ...rest.metadata };
  delete meta.uid; delete meta.etag; delete meta.generation;
  if (meta.annotations) {
    const a = { ...(meta.annotations as Record<string, string>) };
    for (const k of LOCATION_ANNOTATIONS) delete a[k];
    if (Object.keys(a).length) meta.annotations = a; else delete meta.annotations;
  }
  const spec = { ...(rest.spec ?? {}) } as Record<string, unknown>;
  if (Array.isArray(spec.steps)) spec.steps = spec.steps.map((st) => (st && typeof st === 'object' ? ordered(st as Record<string, unknown>, ORDER.step) : st));
  if (Array.isArray(spec.parameters)) spec.parameters = spec.parameters.map((p) => (p && typeof p === 'object' ? ordered(p as Record<string, unknown>, ORDER.page) : p));
  const doc = ordered({ ...rest, metadata: ordered(meta, ORDER.metadata), spec: ordered(spec, ORDER.spec) } as Record<string, unknown>, ORDER['']);
  return stringify(doc, { lineWidth: 0 });
}

/** Where the catalog read an entity from (its location annotation), if it says. */
function entitySource(e: Entity): string | undefined {
  const a = e.metadata.annotations ?? {};
  return a['backstage.io/managed-by-origin-location'] ?? a['backstage.io/managed-by-location'];
}

type Tab = 'preview' | 'dryrun' | 'actions';

/** The text being edited is kept in this browser, so leaving the page loses nothing. */
export const DRAFT_KEY = 'rigger.templateEditor.draft';

function loadDraft(): { text: string; source: string } | undefined {
  try {
    const d = JSON.parse(localStorage.getItem(DRAFT_KEY) ?? 'null');
    return d && typeof d.text === 'string' ? { text: d.text, source: String(d.source ?? 'your draft') } : undefined;
  } catch {
    return undefined;
  }
}

export default function EditorPage() {
  useTitle('Template editor');
  const [draft] = useState(loadDraft);
  const [text, setText] = useState(draft?.text ?? STARTER);
  const [source, setSource] = useState(draft ? `${draft.source} (restored from this browser)` : 'a new template');
  const [files, setFiles] = useState<DirFile[]>([]);
  const [loadError, setLoadError] = useState<unknown>();
  const [tab, setTab] = useState<Tab>('preview');
  const [values, setValues] = useState<Record<string, unknown>>({});
  const [secrets, setSecrets] = useState<Record<string, string>>({});
  const [serverProblems, setServerProblems] = useState<Problem[]>([]);
  const [serverError, setServerError] = useState<unknown>();
  const [checking, setChecking] = useState(false);
  const editor = useRef<CodeEditorHandle>(null);

  const settled = useDebounced(text, 350);
  useEffect(() => {
    try {
      if (settled === STARTER) localStorage.removeItem(DRAFT_KEY);
      else localStorage.setItem(DRAFT_KEY, JSON.stringify({ text: settled, source: source.replace(/ \(restored from this browser\)$/, '') }));
    } catch { /* storage full or off: the draft is not kept */ }
  }, [settled, source]);
  const parsed = useMemo(() => parseYaml(settled), [settled]);
  const syntaxOk = !parsed.problems.some((p) => p.severity === 'error');

  // The server's validation, once the YAML parses.
  useEffect(() => {
    if (!syntaxOk) { setServerProblems([]); setServerError(undefined); setChecking(false); return; }
    const ctl = new AbortController();
    setChecking(true);
    validateOnServer(settled, ctl.signal).then(
      (ps) => { if (!ctl.signal.aborted) { setServerProblems(ps); setServerError(undefined); setChecking(false); } },
      (e) => { if (!ctl.signal.aborted) { setServerProblems([]); setServerError(e); setChecking(false); } },
    );
    return () => ctl.abort();
  }, [settled, syntaxOk]);

  const problems = useMemo(() => [...parsed.problems, ...(syntaxOk ? serverProblems : [])], [parsed, serverProblems, syntaxOk]);
  const errors = problems.filter((p) => p.severity === 'error').length;
  const steps = useMemo(() => parameterSteps(parsed.value), [parsed.value]);
  // The preview keeps its last good steps while the YAML is broken.
  const lastSteps = useRef<ParameterStep[]>(steps);
  if (syntaxOk) lastSteps.current = steps;
  const stepsKey = useMemo(() => JSON.stringify(lastSteps.current), [lastSteps.current]); // eslint-disable-line react-hooks/exhaustive-deps

  const templates = useAsync(
    (signal) => get<QueryResponse>('/api/catalog/entities/by-query?filter=kind=template&limit=200&orderField=metadata.name,asc&fields=kind,metadata.name,metadata.namespace,metadata.title', signal),
    [],
  );

  const pickTemplate = async (e: ChangeEvent<HTMLSelectElement>) => {
    const ref = e.target.value;
    e.target.value = '';
    if (!ref) return;
    setLoadError(undefined);
    const [ns, name] = ref.split('/');
    try {
      const ent = await get<Entity>(`/api/catalog/entities/by-name/template/${encodeURIComponent(ns)}/${encodeURIComponent(name)}`);
      setText(entityYaml(ent));
      setFiles([]);
      const from = entitySource(ent);
      setSource(`template:${ns}/${name} from the catalog${from ? ` (read from ${from})` : ''}; its skeleton files are not loaded: open its folder to dry-run them`);
    } catch (err) {
      setLoadError(err);
    }
  };

  const openFolder = async (e: ChangeEvent<HTMLInputElement>) => {
    const list = e.target.files;
    if (!list || list.length === 0) return;
    setLoadError(undefined);
    try {
      const f = await readFolder(list);
      if (!f.template) throw new Error('the folder holds no template.yaml');
      setText(f.template.text);
      setFiles(f.files);
      setSource(`${f.template.name} with ${f.files.length} file(s)${f.skipped.length ? `, ${f.skipped.length} skipped` : ''}`);
    } catch (err) {
      setLoadError(err);
    } finally {
      e.target.value = '';
    }
  };

  const openFile = async (e: ChangeEvent<HTMLInputElement>) => {
    const f = e.target.files?.[0];
    if (!f) return;
    setText(await readText(f));
    setFiles([]);
    setSource(f.name);
    e.target.value = '';
  };

  return (
    <div className="editorpage">
      <div className="editorhead">
        <h1>Template editor</h1>
        <div className="editorsources" role="group" aria-label="Open a template">
          <label>
            From the catalog{' '}
            <select onChange={pickTemplate} defaultValue="" disabled={!templates.data}>
              <option value="">{templates.error ? 'not available' : 'Choose a template…'}</option>
              {(templates.data?.items ?? []).map((t) => {
                const v = `${t.metadata.namespace ?? 'default'}/${t.metadata.name}`;
                return <option key={v} value={v}>{t.metadata.title || t.metadata.name}</option>;
              })}
            </select>
          </label>
          <label className="button filebutton">
            Open a folder…
            {/* webkitdirectory is not in React's types; set as a plain attribute. */}
            <input type="file" className="sr-only" onChange={openFolder} {...{ webkitdirectory: '', directory: '' }} multiple />
          </label>
          <label className="button filebutton">
            Open a file…
            <input type="file" className="sr-only" accept=".yaml,.yml,text/yaml" onChange={openFile} />
          </label>
          <button type="button" onClick={() => { setText(STARTER); setFiles([]); setSource('a new template'); }}>New</button>
        </div>
      </div>
      <p className="muted editorsource">Editing {source}. Paste YAML into the editor to start from your own.</p>
      {loadError ? <ErrorBox error={loadError} title="Could not open that template" /> : null}

      <div className="editorpanes">
        <section className="editorleft" aria-label="YAML">
          <CodeEditor ref={editor} value={text} onChange={setText} problems={problems} label="Template YAML" describedBy="editor-problems-summary" />
          <div className="problems">
            <p id="editor-problems-summary" role="status" className={errors ? 'status-failed' : 'status-completed'}>
              {text !== settled || checking ? 'Checking…' : errors ? `✗ ${errors} error${errors === 1 ? '' : 's'}` : problems.length ? `✓ Valid, ${problems.length} warning(s)` : '✓ Valid template'}
            </p>
            {serverError ? <ErrorBox error={serverError} title="The server could not check the template" /> : null}
            {problems.length ? (
              <ul className="problemlist" aria-label="Problems">
                {problems.map((p, i) => (
                  <li key={i} className={`problem problem-${p.severity}`}>
                    <button type="button" className="link" onClick={() => editor.current?.goto(p.line || 1, p.column || 1)}>
                      <span aria-hidden="true">{p.severity === 'error' ? '✗' : '!'}</span>{' '}
                      {p.line ? `Line ${p.line}` : 'File'}
                    </button>{' '}
                    <span className="sr-only">{p.severity}: </span>
                    {p.path ? <code>{p.path}</code> : null} {p.message}
                  </li>
                ))}
              </ul>
            ) : null}
          </div>
        </section>

        <section className="editorright" aria-label="Preview and dry run">
          <div className="tabs" role="tablist" aria-label="Editor tools">
            {([['preview', 'Form preview'], ['dryrun', 'Dry run'], ['actions', 'Actions']] as const).map(([t, label]) => (
              <button key={t} type="button" role="tab" id={`ed-tab-${t}`} aria-selected={tab === t} aria-controls={`ed-panel-${t}`} onClick={() => setTab(t)}>{label}</button>
            ))}
          </div>
          <div role="tabpanel" id={`ed-panel-${tab}`} aria-labelledby={`ed-tab-${tab}`}>
            {tab === 'preview' ? (
              <div className="preview">
                {!syntaxOk ? <p className="muted" role="note">The YAML does not parse: the preview shows the last version that did.</p> : null}
                {lastSteps.current.length === 0 ? <p className="muted">This template has no parameters: it runs without a form.</p> : (
                  <TemplateForm
                    key={stepsKey}
                    steps={lastSteps.current}
                    initialValues={values}
                    onChange={setValues}
                    onSubmit={(v, s) => { setValues(v); setSecrets(s); setTab('dryrun'); }}
                    submitLabel="Use these values for a dry run"
                  />
                )}
              </div>
            ) : null}
            {tab === 'dryrun' ? (
              <DryRun key={source} template={parsed.value} values={values} secrets={secrets} files={files}
                disabledReason={!syntaxOk ? 'Fix the YAML first.' : errors ? 'Fix the errors first.' : undefined} />
            ) : null}
            {tab === 'actions' ? <ActionsList /> : null}
          </div>
        </section>
      </div>
    </div>
  );
}

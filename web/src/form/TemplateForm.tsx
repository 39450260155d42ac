// The launch form of a template: one rjsf page per parameters step, a
// stepper, a review page, conditional pages, secrets kept apart from
// values, and drafts in localStorage. The template editor's live preview
// uses it too, so its props are a contract: keep them.
import { Component, useEffect, useMemo, useRef, useState, type ReactNode } from 'react';
import Form, { getDefaultRegistry } from '@rjsf/core';
import validator from '@rjsf/validator-ajv8';
import type { ErrorTransformer, FormValidation, UiSchema } from '@rjsf/utils';
import { fieldExtensions, fieldValidators } from '../fields';
import { useDebounced } from '../ui';
import { conditionHolds } from './condition';
import { getPath, omitKeys, prepareStep, replacePaths, type ParameterStep, type PreparedStep } from './schema';
import { Review } from './Review';
import { clearDraft, readDraft, writeDraft } from './drafts';

export type { ParameterStep, JSONSchema } from './schema';

export interface TemplateFormProps {
  steps: ParameterStep[];
  initialValues?: Record<string, unknown>;
  onSubmit(values: Record<string, unknown>, secrets: Record<string, string>): void | Promise<void>;
  submitLabel?: string;
  /** localStorage key for drafts; omit to disable drafts. */
  draftKey?: string;
  onChange?(values: Record<string, unknown>): void;
}

type Values = Record<string, unknown>;

const KNOWN_FIELDS = new Set([...Object.keys(fieldExtensions), ...Object.keys(getDefaultRegistry().fields)]);
const DRAFT_DEBOUNCE_MS = 300;

/** Drops undefined entries (rjsf leaves cleared fields as undefined). */
function defined(v: Values): Values {
  const out: Values = {};
  for (const [k, x] of Object.entries(v)) if (x !== undefined) out[k] = x;
  return out;
}

const transformErrors: ErrorTransformer = (errors) =>
  errors.map((e) => {
    if (e.name === 'required') return { ...e, message: 'is required' };
    if (e.name === 'pattern') return { ...e, message: `must match the pattern ${e.params?.pattern}` };
    return e;
  });

/** A page's extension checks (EntityNamePicker, RepoUrlPicker, ...), as rjsf custom validation. */
function customValidator(step: PreparedStep) {
  return (formData: Values | undefined, errors: FormValidation<Values>) => {
    const ui = step.uiSchema as Record<string, UiSchema | undefined>;
    for (const key of step.keys) {
      const field = ui[key]?.['ui:field'];
      const check = typeof field === 'string' ? fieldValidators[field] : undefined;
      const msg = check?.(formData?.[key]);
      const slot = (errors as unknown as Record<string, { addError(m: string): void } | undefined>)[key];
      if (msg) slot?.addError(msg);
    }
    return errors;
  };
}

/**
 * Keeps a page whose schema rjsf or ajv cannot handle (a half-typed
 * template in the editor's preview) from taking the whole page down.
 */
class PageBoundary extends Component<{ children: ReactNode }, { error?: Error }> {
  state: { error?: Error } = {};
  static getDerivedStateFromError(error: Error) {
    return { error };
  }
  render() {
    if (this.state.error) {
      return (
        <div className="state error" role="alert">
          <strong>This page of the form cannot be shown</strong>
          <p>{this.state.error.message}</p>
        </div>
      );
    }
    return this.props.children;
  }
}

export function TemplateForm({ steps, initialValues, onSubmit, submitLabel = 'Create', draftKey, onChange }: TemplateFormProps) {
  const prepared = useMemo(() => steps.map((s) => prepareStep(s, KNOWN_FIELDS)), [steps]);
  const allSecretPaths = useMemo(() => prepared.flatMap((s) => s.secretPaths), [prepared]);
  const noSecrets = useMemo(() => (v: Values) => replacePaths(v, allSecretPaths), [allSecretPaths]);
  const start = useMemo(() => noSecrets(initialValues ?? {}), [initialValues, noSecrets]);

  // Start over values win over a draft; otherwise a saved draft is restored.
  const [restored] = useState(() => (draftKey && !initialValues ? readDraft(draftKey) : undefined));
  const [notice, setNotice] = useState(restored?.savedAt);
  const [data, setData] = useState<Values>(() => (restored ? noSecrets(restored.values) : start));
  const [page, setPage] = useState(0);
  const [formKey, setFormKey] = useState(0);
  const [submitting, setSubmitting] = useState(false);
  const dirty = useRef(false);
  const done = useRef(false);
  const heading = useRef<HTMLHeadingElement>(null);
  const moved = useRef(false);

  const publicValues = useMemo(() => noSecrets(defined(data)), [data, noSecrets]);
  const shown = shownPages(prepared, publicValues);
  const current = Math.min(page, shown.length);
  const onReview = current === shown.length;

  // Drafts: values only, debounced, never secrets.
  const settled = useDebounced(publicValues, DRAFT_DEBOUNCE_MS);
  useEffect(() => {
    if (!draftKey || !dirty.current || done.current) return;
    writeDraft(draftKey, settled);
  }, [settled, draftKey]);

  // Leaving the page within the debounce still keeps the last keystrokes.
  const latest = useRef(publicValues);
  latest.current = publicValues;
  useEffect(() => () => {
    if (draftKey && dirty.current && !done.current) writeDraft(draftKey, latest.current);
  }, [draftKey]);

  useEffect(() => {
    onChange?.(publicValues);
    // eslint-disable-next-line react-hooks/exhaustive-deps
  }, [publicValues]);

  // Moving between pages moves focus to the page's heading (not on first render).
  // A field with ui:autofocus keeps the focus it took.
  useEffect(() => {
    if (!moved.current) return;
    const section = heading.current?.parentElement;
    const active = document.activeElement;
    if (section && active && active !== document.body && section.contains(active)) return;
    heading.current?.focus();
  }, [current]);

  const go = (i: number) => {
    moved.current = true;
    setPage(i);
  };

  const update = (step: PreparedStep, next: Values | undefined) => {
    dirty.current = true;
    setData((prev) => ({ ...omitKeys(prev, step.keys), ...(next ?? {}) }));
  };

  const discard = () => {
    if (draftKey) clearDraft(draftKey);
    dirty.current = false;
    setNotice(undefined);
    setData(start);
    setPage(0);
    setFormKey((k) => k + 1);
  };

  const submit = async () => {
    const shownKeys = new Set(shown.flatMap((s) => s.keys));
    const hidden = prepared.filter((s) => !shown.includes(s)).flatMap((s) => s.keys).filter((k) => !shownKeys.has(k));
    const values = noSecrets(omitKeys(defined(data), hidden));
    // Secrets are keyed by their field's name (Backstage's ${{ secrets.name }}), nested ones too.
    const secrets: Record<string, string> = {};
    for (const path of shown.flatMap((s) => s.secretPaths)) {
      const v = getPath(data, path);
      if (v !== undefined && v !== null && v !== '') secrets[path[path.length - 1]] = String(v);
    }
    setSubmitting(true);
    try {
      await onSubmit(values, secrets);
      done.current = true;
      if (draftKey) clearDraft(draftKey);
    } catch {
      // The caller shows the error; the form keeps its values.
    } finally {
      setSubmitting(false);
    }
  };

  const step = shown[current];
  return (
    <div className="template-form">
      {notice ? (
        <div className="draft-notice" role="status">
          Restored your draft from {new Date(notice).toLocaleString()} —{' '}
          <button type="button" className="link" onClick={discard}>Discard</button>
        </div>
      ) : null}
      <nav aria-label="Form steps">
        <ol className="stepper">
          {shown.map((s, i) => (
            <li key={`${s.title}-${i}`} aria-current={i === current ? 'step' : undefined} className={i < current ? 'done' : i === current ? 'current' : undefined}>
              <span className="stepper-n" aria-hidden="true">{i + 1}</span>
              {i < current ? <button type="button" className="link" onClick={() => go(i)}>{s.title}</button> : <span>{s.title}</span>}
            </li>
          ))}
          <li aria-current={onReview ? 'step' : undefined} className={onReview ? 'current' : undefined}>
            <span className="stepper-n" aria-hidden="true">{shown.length + 1}</span>
            <span>Review</span>
          </li>
        </ol>
      </nav>
      {step ? (
        <section className="form-page" aria-labelledby="form-page-title">
          <h2 id="form-page-title" ref={heading} tabIndex={-1}>{step.title}</h2>
          {step.description ? <p className="muted">{step.description}</p> : null}
          <PageBoundary key={`${formKey}-${prepared.indexOf(step)}-${JSON.stringify(step.schema)}`}>
          {/* eslint-disable-next-line @typescript-eslint/no-explicit-any */}
          <Form<any>
            key={`${formKey}-${prepared.indexOf(step)}`}
            schema={step.schema}
            uiSchema={step.uiSchema}
            formData={data}
            validator={validator}
            fields={fieldExtensions}
            customValidate={customValidator(step)}
            transformErrors={transformErrors}
            showErrorList={false}
            noHtml5Validate
            omitExtraData
            liveOmit
            focusOnFirstError
            onError={() => { /* errors show inline */ }}
            onChange={(e) => update(step, e.formData)}
            onSubmit={(e) => { update(step, e.formData); go(current + 1); }}
          >
            <div className="form-buttons">
              {current > 0 ? <button type="button" onClick={() => go(current - 1)}>Back</button> : null}
              <button type="submit" className="primary">Next</button>
            </div>
          </Form>
          </PageBoundary>
        </section>
      ) : (
        <section className="form-page" aria-labelledby="form-page-title">
          <h2 id="form-page-title" ref={heading} tabIndex={-1}>Review</h2>
          <Review steps={shown} values={data} onEdit={(i) => go(i)} />
          <div className="form-buttons">
            {shown.length > 0 ? <button type="button" onClick={() => go(current - 1)}>Back</button> : null}
            <button type="button" className="primary" disabled={submitting} onClick={submit}>
              {submitting ? 'Starting…' : submitLabel}
            </button>
          </div>
        </section>
      )}
    </div>
  );
}

/**
 * The pages shown for these values, decided in order as the server does
 * (templates.ShownPages): a page's condition sees the values minus the keys
 * that only pages already hidden declare.
 */
export function shownPages<S extends { cond: unknown; keys: string[] }>(pages: S[], values: Record<string, unknown>): S[] {
  const out: S[] = [];
  const hidden: S[] = [];
  for (const [i, p] of pages.entries()) {
    const later = pages.slice(i);
    const dropped = new Set(hidden.flatMap((h) => h.keys).filter((k) => !out.some((o) => o.keys.includes(k)) && !later.some((l) => l.keys.includes(k))));
    const seen = Object.fromEntries(Object.entries(values).filter(([k]) => !dropped.has(k)));
    if (conditionHolds(p.cond as Parameters<typeof conditionHolds>[0], seen)) out.push(p);
    else hidden.push(p);
  }
  return out;
}

// Placeholder for the launch form (another helper writes the real one with
// this same interface; the lead takes theirs at merge). It lists the steps'
// titles so the template editor's preview compiles and shows something.
export type ParameterStep = { title: string; description?: string; schema: object; if?: boolean | string };

export interface TemplateFormProps {
  steps: ParameterStep[];
  initialValues?: Record<string, unknown>;
  onSubmit: (values: Record<string, unknown>, secrets: Record<string, string>) => void;
  submitLabel?: string;
  draftKey?: string;
  onChange?: (values: Record<string, unknown>) => void;
}

export function TemplateForm({ steps, initialValues, onSubmit, submitLabel }: TemplateFormProps) {
  return (
    <form className="templateform-placeholder" onSubmit={(e) => { e.preventDefault(); onSubmit(initialValues ?? {}, {}); }}>
      <ol>
        {steps.map((s, i) => <li key={i}><strong>{s.title || `Step ${i + 1}`}</strong>{s.description ? <p className="muted">{s.description}</p> : null}</li>)}
      </ol>
      <button type="submit" className="primary">{submitLabel ?? 'Submit'}</button>
    </form>
  );
}

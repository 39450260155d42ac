// The single-input extensions: EntityNamePicker (a DNS-like name, checked
// as you type), RepoBranchPicker (free text until integrations exist),
// Secret (a password input whose value goes to the task's secrets), the
// placeholder for a ui:field Rigger does not have, and the notice that
// stands for a field Rigger refuses to ask for.
import { useState, type ReactNode } from 'react';
import type { FieldProps } from '@rjsf/utils';
import { fieldDescription, fieldLabel, uiOptions } from './EntityPicker';

const NAME = /^[a-z0-9]+(?:[-_.][a-z0-9]+)*$/;

/** Why v is not an entity name, or undefined. */
export function entityNameProblem(v: unknown): string | undefined {
  if (v === undefined || v === '') return undefined;
  const s = String(v);
  if (s.length > 63) return 'must be at most 63 characters';
  if (!NAME.test(s)) return 'must be lower-case letters and digits, in words joined by -, _ or .';
  return undefined;
}

interface InputProps {
  props: FieldProps<string | undefined>;
  type?: string;
  problem?: string;
  autoComplete?: string;
  notice?: ReactNode;
  placeholder?: string;
}

function TextInput({ props, type = 'text', problem, autoComplete = 'off', notice, placeholder }: InputProps) {
  const { idSchema, formData, onChange, required, disabled, readonly, rawErrors, uiSchema } = props;
  const id = idSchema.$id;
  const desc = fieldDescription(props);
  const errId = `${id}-inline-error`;
  const described = [desc ? `${id}-description` : '', problem ? errId : ''].filter(Boolean).join(' ') || undefined;
  return (
    <div className="text-field">
      <label htmlFor={id}>
        {fieldLabel(props)}
        {required ? <span className="required" aria-hidden="true">*</span> : null}
      </label>
      {notice}
      {desc ? <div id={`${id}-description`} className="field-description">{desc}</div> : null}
      <input
        id={id}
        type={type}
        value={formData ?? ''}
        disabled={disabled}
        readOnly={readonly}
        autoFocus={!!uiSchema?.['ui:autofocus']}
        autoComplete={autoComplete}
        spellCheck={false}
        placeholder={placeholder}
        aria-required={required || undefined}
        aria-invalid={!!problem || !!rawErrors?.length || undefined}
        aria-describedby={described}
        onChange={(e) => onChange(e.target.value === '' ? undefined : e.target.value)}
      />
      {problem ? <div id={errId} className="field-error">{problem}</div> : null}
    </div>
  );
}

export function EntityNamePicker(props: FieldProps<string | undefined>) {
  const [touched, setTouched] = useState(false);
  const why = entityNameProblem(props.formData);
  return (
    <div onBlur={() => setTouched(true)} onChange={() => setTouched(true)}>
      <TextInput props={props} problem={touched && why ? `The name ${why}` : undefined} />
    </div>
  );
}

export function RepoBranchPicker(props: FieldProps<string | undefined>) {
  return <TextInput props={props} placeholder="main" />;
}

export function Secret(props: FieldProps<string | undefined>) {
  return <TextInput props={props} type="password" autoComplete="new-password" />;
}

export function UnknownField(props: FieldProps<string | undefined>) {
  const name = uiOptions<{ unknownField?: string }>(props).unknownField ?? 'unknown';
  return (
    <TextInput
      props={props}
      notice={
        <div className="unknown-field" role="note">
          This field needs the extension <code>{name}</code>, which Rigger does not have. Type the value as text.
        </div>
      }
    />
  );
}

/** Stands for a field Rigger will not ask for (ui:options.unsupported says why); it sets no value. */
export function UnsupportedField(props: FieldProps<unknown>) {
  const why = uiOptions<{ unsupported?: string }>(props).unsupported ?? 'Rigger cannot ask for this field.';
  return (
    <div className="text-field">
      <span className="field-label">{fieldLabel(props)}</span>
      <div className="unknown-field" role="note">{why}</div>
    </div>
  );
}

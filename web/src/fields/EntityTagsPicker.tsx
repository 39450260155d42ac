// EntityTagsPicker: tags as removable chips; suggestions are the catalog's
// tags (entity-facets metadata.tags, limited to `kinds` when given),
// fetched once when the field is first used.
import { useEffect, useState } from 'react';
import type { FieldProps } from '@rjsf/utils';
import { get } from '../api';
import { ChosenChips, Combobox } from './Combobox';
import { fieldDescription, fieldLabel, uiOptions } from './EntityPicker';

const TAG = /^[a-z0-9:+#]+(-[a-z0-9:+#]+)*$/;

/** Why tag is not a valid catalog tag, or undefined. */
export function tagProblem(tag: string): string | undefined {
  if (tag.length > 63) return 'A tag is at most 63 characters';
  if (!TAG.test(tag)) return 'A tag is lower-case letters, digits, +, # and :, in words joined by -';
  return undefined;
}

interface Facets { facets: Record<string, { value: string; count: number }[]> }

export function EntityTagsPicker(props: FieldProps<string[] | undefined>) {
  const { idSchema, formData, onChange, required, disabled, readonly, rawErrors } = props;
  const opts = uiOptions<{ kinds?: string[] }>(props);
  const value = Array.isArray(formData) ? formData : [];
  const [text, setText] = useState('');
  const [problem, setProblem] = useState<string>();
  const [used, setUsed] = useState(false);
  const [facets, setFacets] = useState<{ tags: string[]; error?: unknown; loading: boolean }>({ tags: [], loading: false });
  const kinds = (opts.kinds ?? []).join(',');
  useEffect(() => {
    if (!used) return;
    const ctl = new AbortController();
    const q = new URLSearchParams({ facet: 'metadata.tags' });
    if (kinds) q.append('filter', kinds.split(',').map((k) => `kind=${k}`).join(','));
    setFacets({ tags: [], loading: true });
    get<Facets>(`/api/catalog/entity-facets?${q}`, ctl.signal).then(
      (r) => setFacets({ tags: (r.facets['metadata.tags'] ?? []).map((f) => f.value), loading: false }),
      (error) => { if (!ctl.signal.aborted) setFacets({ tags: [], loading: false, error }); },
    );
    return () => ctl.abort();
  }, [used, kinds]);
  const add = (raw: string) => {
    const tag = raw.trim().replace(/,$/, '');
    if (!tag) return;
    const why = tagProblem(tag);
    if (why) { setProblem(why); return; }
    setProblem(undefined);
    if (!value.includes(tag)) onChange([...value, tag]);
    setText('');
  };
  const remove = (tag: string) => {
    const next = value.filter((v) => v !== tag);
    onChange(next.length ? next : undefined);
  };
  const t = text.trim().toLowerCase();
  const options = facets.tags.filter((x) => !value.includes(x) && x.includes(t)).slice(0, 20).map((x) => ({ value: x, label: x }));
  const label = fieldLabel(props);
  const errId = `${idSchema.$id}-tag-error`;
  return (
    <div className="multi-picker">
      <ChosenChips label={label} values={value} removeLabel={(v) => `Remove tag ${v}`} disabled={disabled || readonly} onRemove={remove} />
      <Combobox
        id={idSchema.$id}
        autoFocus={!!props.uiSchema?.['ui:autofocus']}
        label={label}
        description={fieldDescription(props) ?? 'Type a tag and press Enter, or pick one in use'}
        required={required}
        disabled={disabled || readonly}
        text={text}
        onText={(s) => {
          setProblem(undefined);
          if (s.endsWith(',')) add(s);
          else setText(s);
        }}
        options={options}
        loading={facets.loading}
        error={facets.error ? `Could not load tags: ${(facets.error as Error).message}` : undefined}
        invalid={!!problem || !!rawErrors?.length}
        describedBy={problem ? errId : undefined}
        onOpen={(o) => { if (o) setUsed(true); }}
        onPick={(o) => add(o.value)}
        onEnterText={() => add(text)}
        onBlur={() => { if (text.trim()) add(text); }}
        emptyText={t ? 'No tag in use matches; Enter adds it' : 'No tags in use yet'}
      />
      {problem ? <div id={errId} className="field-error" role="alert">{problem}</div> : null}
    </div>
  );
}

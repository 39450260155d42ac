// MultiEntityPicker: a list of entity refs, shown as removable chips, added
// through the same searching combobox as EntityPicker.
import { useState } from 'react';
import type { FieldProps } from '@rjsf/utils';
import { ChosenChips, Combobox } from './Combobox';
import { fieldDescription, fieldLabel, normaliseRef, pickerFilters, uiOptions, type PickerOptions } from './EntityPicker';
import { useEntitySearch } from './search';

export function MultiEntityPicker(props: FieldProps<string[] | undefined>) {
  const { idSchema, formData, onChange, required, disabled, readonly, rawErrors } = props;
  const opts = uiOptions<PickerOptions>(props);
  const allowArbitrary = opts.allowArbitraryValues ?? true;
  const value = Array.isArray(formData) ? formData : [];
  const [text, setText] = useState('');
  const [open, setOpen] = useState(false);
  const search = useEntitySearch(pickerFilters(opts), text, open);
  const add = (ref: string) => {
    const r = ref.trim();
    if (r && !value.includes(r)) onChange([...value, r]);
    setText('');
  };
  const remove = (ref: string) => {
    const next = value.filter((v) => v !== ref);
    onChange(next.length ? next : undefined);
  };
  const label = fieldLabel(props);
  return (
    <div className="multi-picker">
      <ChosenChips label={label} values={value} removeLabel={(v) => `Remove ${v}`} disabled={disabled || readonly} onRemove={remove} />
      <Combobox
        id={idSchema.$id}
        autoFocus={!!props.uiSchema?.['ui:autofocus']}
        label={label}
        description={fieldDescription(props)}
        required={required}
        disabled={disabled || readonly}
        text={text}
        onText={setText}
        options={search.options.filter((o) => !value.includes(o.value))}
        loading={search.loading}
        error={search.error ? `Could not search the catalog: ${(search.error as Error).message}` : undefined}
        more={search.more}
        invalid={!!rawErrors?.length}
        onOpen={setOpen}
        onBlur={() => { if (allowArbitrary && text.trim()) add(normaliseRef(text, opts)); }}
        onPick={(o) => add(o.value)}
        onEnterText={allowArbitrary ? () => add(normaliseRef(text, opts)) : undefined}
        placeholder="Type to search, Enter to add"
      />
    </div>
  );
}

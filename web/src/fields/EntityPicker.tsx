// The catalog pickers under Backstage's names: EntityPicker, OwnerPicker,
// OwnedEntityPicker and MyGroupsPicker share one combobox that searches the
// catalog as you type. The value is an entity ref (kind:namespace/name).
import { useEffect, useState } from 'react';
import type { FieldProps } from '@rjsf/utils';
import { parseRef } from '../api';
import { useSession } from '../session';
import { Combobox } from './Combobox';
import { andFilters, filterParams, useEntitySearch, type CatalogFilter } from './search';

export interface PickerOptions {
  catalogFilter?: CatalogFilter | CatalogFilter[];
  /** Older Backstage option: the kinds to offer. */
  allowedKinds?: string[];
  defaultKind?: string;
  defaultNamespace?: string | false;
  allowArbitraryValues?: boolean;
}

export function uiOptions<T>(props: Pick<FieldProps, 'uiSchema'>): T {
  return ((props.uiSchema?.['ui:options'] ?? {}) as T);
}

export function fieldLabel(props: Pick<FieldProps, 'schema' | 'name' | 'uiSchema'>): string {
  return (props.uiSchema?.['ui:title'] as string) ?? props.schema.title ?? props.name;
}

export function fieldDescription(props: Pick<FieldProps, 'schema' | 'uiSchema'>): string | undefined {
  return (props.uiSchema?.['ui:description'] as string) ?? props.schema.description;
}

/** The by-query filters of a picker from its options (catalogFilter, else allowedKinds, else defaultKind). */
export function pickerFilters(o: PickerOptions, fallback?: CatalogFilter | CatalogFilter[]): string[] {
  if (o.catalogFilter) return filterParams(o.catalogFilter);
  if (o.allowedKinds?.length) return filterParams({ kind: o.allowedKinds });
  if (fallback) return filterParams(fallback);
  if (o.defaultKind) return filterParams({ kind: o.defaultKind });
  return [];
}

/** A typed value as a full ref when a default kind is known (team-a → group:default/team-a). */
export function normaliseRef(text: string, o: PickerOptions): string {
  const t = text.trim();
  if (!t || !o.defaultKind) return t;
  const p = parseRef(t, o.defaultKind, o.defaultNamespace === false ? 'default' : (o.defaultNamespace ?? 'default'));
  return `${p.kind}:${p.namespace}/${p.name}`;
}

interface BaseProps extends FieldProps<string | undefined> {
  filters: string[];
  opts: PickerOptions;
  emptyText?: string;
}

function RefPicker(props: BaseProps) {
  const { idSchema, formData, onChange, required, disabled, readonly, rawErrors, filters, opts } = props;
  const allowArbitrary = opts.allowArbitraryValues ?? true;
  const [text, setText] = useState<string>(formData ?? '');
  const [open, setOpen] = useState(false);
  const [editing, setEditing] = useState(false);
  useEffect(() => {
    if (!editing) setText(formData ?? '');
  }, [formData, editing]);
  const search = useEntitySearch(filters, editing ? text : '', open);
  const onText = (t: string) => {
    setEditing(true);
    setText(t);
    if (allowArbitrary) onChange(t === '' ? undefined : t);
    else if (t !== formData) onChange(undefined);
  };
  const onBlur = () => {
    setEditing(false);
    if (allowArbitrary) {
      const v = normaliseRef(text, opts);
      if (v !== (formData ?? '')) onChange(v === '' ? undefined : v);
      setText(v);
    } else if ((formData ?? '') !== text) {
      setText(formData ?? '');
    }
  };
  return (
    <Combobox
      id={idSchema.$id}
      autoFocus={!!props.uiSchema?.['ui:autofocus']}
      label={fieldLabel(props)}
      description={fieldDescription(props)}
      required={required}
      disabled={disabled || readonly}
      text={text}
      onText={onText}
      options={search.options}
      loading={search.loading}
      error={search.error ? `Could not search the catalog: ${(search.error as Error).message}` : undefined}
      more={search.more}
      invalid={!!rawErrors?.length}
      onOpen={setOpen}
      onBlur={onBlur}
      onPick={(o) => { setEditing(false); setText(o.value); onChange(o.value); }}
      placeholder={allowArbitrary ? 'Type to search, or enter a ref' : 'Type to search'}
      emptyText={props.emptyText}
    />
  );
}

export function EntityPicker(props: FieldProps<string | undefined>) {
  const opts = uiOptions<PickerOptions>(props);
  return <RefPicker {...props} opts={opts} filters={pickerFilters(opts)} />;
}

export function OwnerPicker(props: FieldProps<string | undefined>) {
  const opts = uiOptions<PickerOptions>(props);
  return <RefPicker {...props} opts={{ defaultKind: 'group', ...opts }} filters={pickerFilters(opts, { kind: ['Group', 'User'] })} />;
}

/** The refs the signed-in user owns through: their own and their groups' (whoami's ent). */
export function useOwnershipRefs(): string[] {
  const s = useSession();
  const u = s.user;
  if (!u) return [];
  return u.ent?.length ? u.ent : [u.ref];
}

export function OwnedEntityPicker(props: FieldProps<string | undefined>) {
  const opts = uiOptions<PickerOptions>(props);
  const refs = useOwnershipRefs();
  const owned = refs.map((r) => `relations.ownedBy=${r}`).join(',');
  const filters = refs.length ? andFilters(pickerFilters(opts), owned) : [];
  if (!refs.length) return <RefPicker {...props} opts={{ ...opts, allowArbitraryValues: true }} filters={['kind=__none__']} emptyText="You are not signed in, so you own nothing" />;
  return <RefPicker {...props} opts={opts} filters={filters} emptyText="No entities owned by you match" />;
}

export function MyGroupsPicker(props: FieldProps<string | undefined>) {
  const opts = uiOptions<PickerOptions>(props);
  const s = useSession();
  const user = s.user?.ref;
  const filters = user ? [`kind=group,relations.hasMember=${user}`] : ['kind=__none__'];
  return <RefPicker {...props} opts={{ ...opts, allowArbitraryValues: false }} filters={filters} emptyText="You are not a member of a matching group" />;
}

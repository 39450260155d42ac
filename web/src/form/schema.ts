// Turns a template's parameter page into what rjsf wants: Backstage
// writes `ui:*` keys inside the JSON Schema, rjsf wants them in a
// separate uiSchema. Also finds the page's secret fields and the keys it
// owns, and swaps unknown `ui:field` names for a placeholder field.
import type { RJSFSchema, UiSchema } from '@rjsf/utils';
import type { Condition } from './condition';

export type JSONSchema = RJSFSchema;

export interface ParameterStep {
  title: string;
  description?: string;
  schema: JSONSchema;
  if?: boolean | string;
}

export interface PreparedStep {
  title: string;
  description?: string;
  schema: JSONSchema;
  uiSchema: UiSchema;
  cond: Condition;
  /** Top-level value keys this page can set (properties, dependencies, oneOf/allOf/if branches). */
  keys: string[];
  /** Top-level keys whose values are secrets. */
  secretKeys: string[];
  /** Where the secrets are, top-level and inside objects (['db', 'password']). */
  secretPaths: string[][];
}

type Obj = Record<string, unknown>;
const isObj = (v: unknown): v is Obj => !!v && typeof v === 'object' && !Array.isArray(v);

/** Moves every `ui:*` key of schema (recursively) into ui; mutates both. */
function extract(schema: Obj, ui: Obj) {
  for (const k of Object.keys(schema)) {
    if (k.startsWith('ui:')) {
      ui[k] = schema[k];
      delete schema[k];
    }
  }
  if (isObj(schema.properties)) {
    for (const [k, p] of Object.entries(schema.properties)) {
      if (!isObj(p)) continue;
      const sub = (isObj(ui[k]) ? ui[k] : (ui[k] = {})) as Obj;
      extract(p, sub);
    }
  }
  if (isObj(schema.items)) {
    const sub = (isObj(ui.items) ? ui.items : (ui.items = {})) as Obj;
    extract(schema.items, sub);
  }
  for (const key of ['oneOf', 'anyOf', 'allOf']) {
    const list = schema[key];
    if (Array.isArray(list)) for (const s of list) if (isObj(s)) extract(s, ui);
  }
  for (const key of ['then', 'else']) {
    if (isObj(schema[key])) extract(schema[key] as Obj, ui);
  }
  if (isObj(schema.if)) extract(schema.if as Obj, {});
  if (isObj(schema.dependencies)) {
    for (const d of Object.values(schema.dependencies)) if (isObj(d)) extract(d, ui);
  }
}

/** Every top-level key a schema can produce. */
function collectKeys(schema: Obj, out: Set<string>) {
  if (isObj(schema.properties)) for (const k of Object.keys(schema.properties)) out.add(k);
  for (const key of ['oneOf', 'anyOf', 'allOf']) {
    const list = schema[key];
    if (Array.isArray(list)) for (const s of list) if (isObj(s)) collectKeys(s, out);
  }
  for (const key of ['then', 'else']) if (isObj(schema[key])) collectKeys(schema[key] as Obj, out);
  if (isObj(schema.dependencies)) for (const d of Object.values(schema.dependencies)) if (isObj(d)) collectKeys(d, out);
}

export function isSecretUi(ui: unknown): boolean {
  return isObj(ui) && (ui['ui:field'] === 'Secret' || ui['ui:widget'] === 'password');
}

/** Replaces `ui:field` names that are not in known with the UnknownField placeholder. */
function markUnknownFields(ui: Obj, known: Set<string>) {
  const f = ui['ui:field'];
  if (typeof f === 'string' && !known.has(f)) {
    ui['ui:field'] = 'UnknownField';
    ui['ui:options'] = { ...(isObj(ui['ui:options']) ? ui['ui:options'] : {}), unknownField: f };
  }
  for (const [k, v] of Object.entries(ui)) if (!k.startsWith('ui:') && isObj(v)) markUnknownFields(v, known);
}

export function prepareStep(step: ParameterStep, knownFields: Set<string>): PreparedStep {
  const schema = structuredClone(step.schema ?? {}) as Obj;
  // The page condition may sit in the schema itself (the page as written in
  // the template); a JSON Schema `if` is an object, the page's a boolean or string.
  let cond: Condition = step.if;
  if (typeof schema.if === 'string' || typeof schema.if === 'boolean') {
    if (cond === undefined) cond = schema.if as Condition;
    delete schema.if;
  }
  // Page title and description are shown by the stepper, not twice by rjsf.
  delete schema.title;
  delete schema.description;
  if (schema.type === undefined) schema.type = 'object';
  const ui: Obj = {};
  extract(schema, ui);
  markUnknownFields(ui, knownFields);
  const keys = new Set<string>();
  collectKeys(schema, keys);
  const secretPaths: string[][] = [];
  findSecrets(ui, [], secretPaths);
  const secretKeys = secretPaths.filter((p) => p.length === 1).map((p) => p[0]);
  return { title: step.title || 'Parameters', description: step.description, schema: schema as JSONSchema, uiSchema: ui as UiSchema, cond, keys: [...keys], secretKeys, secretPaths };
}

/** Whether a uiSchema holds a secret field anywhere. */
function holdsSecret(ui: Obj): boolean {
  return isSecretUi(ui) || Object.entries(ui).some(([k, v]) => !k.startsWith('ui:') && isObj(v) && holdsSecret(v));
}

/**
 * Paths of secret fields in a uiSchema. A list holding secrets (in its
 * `items`) cannot be split into the task's secrets, which are keyed by
 * name: its field becomes a notice that sets no value, so no secret goes
 * to the task's values.
 */
function findSecrets(ui: Obj, path: string[], out: string[][]) {
  for (const [k, v] of Object.entries(ui)) {
    if (k.startsWith('ui:') || k === 'items' || !isObj(v)) continue;
    if (isSecretUi(v)) out.push([...path, k]);
    else if (isObj(v.items) && holdsSecret(v.items)) {
      ui[k] = {
        'ui:field': 'UnsupportedField',
        'ui:options': { unsupported: 'This list asks for secrets, which Rigger keeps only as single fields (ui:field: Secret), never inside a list. Ask the template\'s owners to change it.' },
      };
    } else findSecrets(v, [...path, k], out);
  }
}

/** A copy of values with the value at each path replaced by replace(): deleted when it returns undefined. */
export function replacePaths(values: Obj, paths: string[][], replace: () => unknown = () => undefined): Obj {
  let out = values;
  for (const path of paths) {
    const walk = (o: Obj, i: number): Obj => {
      const k = path[i];
      if (!Object.prototype.hasOwnProperty.call(o, k)) return o;
      const copy = { ...o };
      if (i === path.length - 1) {
        const r = replace();
        if (r === undefined) delete copy[k];
        else copy[k] = r;
      } else if (isObj(o[k])) copy[k] = walk(o[k] as Obj, i + 1);
      return copy;
    };
    out = walk(out, 0);
  }
  return out;
}

/** The value at path, if any. */
export function getPath(values: Obj, path: string[]): unknown {
  let v: unknown = values;
  for (const k of path) {
    if (!isObj(v) || !Object.prototype.hasOwnProperty.call(v, k)) return undefined;
    v = v[k];
  }
  return v;
}

/** values without the given keys. */
export function omitKeys(values: Record<string, unknown>, drop: Iterable<string>): Record<string, unknown> {
  const out = { ...values };
  for (const k of drop) delete out[k];
  return out;
}

/** The property schema of key on a page (top level, then the branches). */
export function propertySchema(schema: Obj, key: string): Obj | undefined {
  if (isObj(schema.properties) && isObj(schema.properties[key])) return schema.properties[key] as Obj;
  const branches: Obj[] = [];
  for (const k of ['oneOf', 'anyOf', 'allOf']) if (Array.isArray(schema[k])) branches.push(...(schema[k] as unknown[]).filter(isObj));
  for (const k of ['then', 'else']) if (isObj(schema[k])) branches.push(schema[k] as Obj);
  if (isObj(schema.dependencies)) branches.push(...Object.values(schema.dependencies).filter(isObj));
  for (const b of branches) {
    const p = propertySchema(b, key);
    if (p) return p;
  }
  return undefined;
}

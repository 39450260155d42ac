import { describe, expect, it } from 'vitest';
import { prepareStep } from './schema';

const known = new Set(['OwnerPicker', 'Secret']);

describe('prepareStep', () => {
  it('moves ui:* keys into the uiSchema, nested objects, array items and dependencies included', () => {
    const p = prepareStep({
      title: 'Page',
      schema: {
        'ui:order': ['b', 'a'],
        properties: {
          a: { type: 'string', 'ui:autofocus': true },
          b: { type: 'object', properties: { c: { type: 'string', 'ui:widget': 'textarea' } } },
          list: { type: 'array', items: { type: 'string', 'ui:placeholder': 'x' } },
          kind: { type: 'string' },
        },
        dependencies: { kind: { oneOf: [{ properties: { kind: { const: 'a' }, extra: { type: 'string', 'ui:field': 'OwnerPicker' } } }] } },
      } as never,
    }, known);
    expect(p.uiSchema).toEqual({
      'ui:order': ['b', 'a'],
      a: { 'ui:autofocus': true },
      b: { c: { 'ui:widget': 'textarea' } },
      list: { items: { 'ui:placeholder': 'x' } },
      kind: {},
      extra: { 'ui:field': 'OwnerPicker' },
    });
    expect(JSON.stringify(p.schema)).not.toContain('ui:');
    expect(p.keys.sort()).toEqual(['a', 'b', 'extra', 'kind', 'list']);
  });

  it('takes a page condition written inside the schema, leaving JSON Schema if/then alone', () => {
    const p = prepareStep({ title: 'P', schema: { if: '${{ parameters.x }}', properties: { y: { type: 'string' } } } as never }, known);
    expect(p.cond).toBe('${{ parameters.x }}');
    expect((p.schema as Record<string, unknown>).if).toBeUndefined();
    const q = prepareStep({ title: 'Q', schema: { if: { properties: { a: { const: 1 } } }, then: { required: ['b'] } } as never }, known);
    expect(q.cond).toBeUndefined();
    expect((q.schema as Record<string, unknown>).if).toEqual({ properties: { a: { const: 1 } } });
  });

  it('finds secret keys and marks unknown fields', () => {
    const p = prepareStep({ title: 'P', schema: { properties: { t: { type: 'string', 'ui:field': 'Secret' }, p: { type: 'string', 'ui:widget': 'password' }, u: { type: 'string', 'ui:field': 'Nope', 'ui:options': { a: 1 } } } } as never }, known);
    expect(p.secretKeys.sort()).toEqual(['p', 't']);
    expect(p.uiSchema.u).toEqual({ 'ui:field': 'UnknownField', 'ui:options': { a: 1, unknownField: 'Nope' } });
  });

  it('refuses a list of secrets: its field becomes a notice, and nothing of it is a secret path', () => {
    const p = prepareStep({
      title: 'P',
      schema: {
        properties: {
          keys: { type: 'array', items: { type: 'string', 'ui:field': 'Secret' } },
          users: { type: 'array', items: { type: 'object', properties: { login: { type: 'string' }, pat: { type: 'string', 'ui:widget': 'password' } } } },
          tags: { type: 'array', items: { type: 'string', 'ui:placeholder': 'x' } },
        },
      } as never,
    }, known);
    expect(p.uiSchema.keys['ui:field']).toBe('UnsupportedField');
    expect(p.uiSchema.users['ui:field']).toBe('UnsupportedField');
    expect(String(p.uiSchema.keys['ui:options'].unsupported)).toMatch(/secrets/);
    expect(p.uiSchema.tags).toEqual({ items: { 'ui:placeholder': 'x' } });
    expect(p.secretPaths).toEqual([]);
  });
});

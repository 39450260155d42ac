// The review page: every shown value, page by page, in a definition list.
// `ui:backstage.review.show: false` hides a value, `review.mask` shows the
// mask instead, and secrets (ui:field Secret, ui:widget password) show as
// ******.
import type { UiSchema } from '@rjsf/utils';
import { isSecretUi, propertySchema, replacePaths, type PreparedStep } from './schema';

export const SECRET_MASK = '******';

type Obj = Record<string, unknown>;

function ordered(keys: string[], order: unknown): string[] {
  if (!Array.isArray(order)) return keys;
  const head: string[] = [];
  const tail: string[] = [];
  const star = order.indexOf('*');
  for (const k of order) if (k !== '*' && keys.includes(k)) head.push(k);
  for (const k of keys) if (!head.includes(k)) tail.push(k);
  if (star < 0) return [...head, ...tail];
  const before = order.slice(0, star).filter((k) => keys.includes(k));
  const after = order.slice(star + 1).filter((k) => keys.includes(k));
  return [...before, ...tail, ...after];
}

export function formatValue(v: unknown): string {
  if (v === null || v === undefined) return '';
  if (typeof v === 'boolean') return v ? 'Yes' : 'No';
  if (Array.isArray(v)) return v.map((x) => (typeof x === 'object' ? JSON.stringify(x) : String(x))).join(', ');
  if (typeof v === 'object') return JSON.stringify(v, null, 1).replace(/\n\s*/g, ' ');
  return String(v);
}

export interface ReviewItem { key: string; label: string; text: string }

/** What the review shows for one page. */
export function reviewItems(step: PreparedStep, values: Obj): ReviewItem[] {
  const ui = step.uiSchema as Record<string, UiSchema | undefined>;
  const items: ReviewItem[] = [];
  for (const key of ordered(step.keys, ui['ui:order'])) {
    const v = values[key];
    if (v === undefined || v === '' || (Array.isArray(v) && v.length === 0)) continue;
    const u = ui[key] as Obj | undefined;
    const review = ((u?.['ui:backstage'] as Obj | undefined)?.review ?? {}) as { show?: boolean; mask?: string };
    if (review.show === false) continue;
    const schema = propertySchema(step.schema as Obj, key);
    const label = (u?.['ui:title'] as string) ?? (schema?.title as string) ?? key;
    // Secrets inside an object are masked too.
    const inner = step.secretPaths.filter((p) => p.length > 1 && p[0] === key).map((p) => p.slice(1));
    const shown = inner.length && v && typeof v === 'object' ? replacePaths(v as Obj, inner, () => SECRET_MASK) : v;
    const text = isSecretUi(u) ? SECRET_MASK : typeof review.mask === 'string' ? review.mask : formatValue(shown);
    items.push({ key, label, text });
  }
  return items;
}

export function Review({ steps, values, onEdit }: { steps: PreparedStep[]; values: Obj; onEdit: (page: number) => void }) {
  if (steps.length === 0) return <p className="muted">This template asks for nothing. Start it when ready.</p>;
  return (
    <div className="review">
      {steps.map((s, i) => {
        const items = reviewItems(s, values);
        return (
          <section key={`${s.title}-${i}`} className="review-step" aria-labelledby={`review-${i}`}>
            <div className="review-head">
              <h3 id={`review-${i}`}>{s.title}</h3>
              <button type="button" className="link" onClick={() => onEdit(i)} aria-label={`Edit ${s.title}`}>Edit</button>
            </div>
            {items.length ? (
              <dl>
                {items.map((it) => (
                  <div key={it.key} className="review-row">
                    <dt>{it.label}</dt>
                    <dd>{it.text}</dd>
                  </div>
                ))}
              </dl>
            ) : (
              <p className="muted">Nothing entered on this page.</p>
            )}
          </section>
        );
      })}
    </div>
  );
}

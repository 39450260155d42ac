// A labelled text input with a list of suggestions, following the ARIA
// combobox pattern: role=combobox, aria-expanded, aria-controls the
// listbox, aria-activedescendant the highlighted option; ArrowUp/Down move,
// Enter picks, Escape closes. "More" loads the next page when there is one.
import { useId, useState, type KeyboardEvent, type ReactNode } from 'react';
import type { Option } from './search';

export interface ComboboxProps {
  id: string;
  label: ReactNode;
  description?: ReactNode;
  required?: boolean;
  disabled?: boolean;
  text: string;
  onText: (text: string) => void;
  options: Option[];
  onPick: (o: Option) => void;
  /** Called when the list opens or closes (the pickers query only while open). */
  onOpen?: (open: boolean) => void;
  onBlur?: () => void;
  loading?: boolean;
  error?: string;
  more?: () => void;
  invalid?: boolean;
  placeholder?: string;
  /** Extra ids describing the input (inline errors). */
  describedBy?: string;
  emptyText?: string;
  /** Enter with no highlighted option (the chip pickers add the typed text). */
  onEnterText?: () => void;
  autoFocus?: boolean;
}

export function Combobox(p: ComboboxProps) {
  const uid = useId();
  const listId = `${p.id}-listbox`;
  const descId = `${p.id}-description`;
  const [open, setOpenState] = useState(false);
  const [active, setActive] = useState(-1);
  const setOpen = (o: boolean) => {
    if (o === open) return;
    setOpenState(o);
    setActive(-1);
    p.onOpen?.(o);
  };
  const optId = (i: number) => `${uid}-opt-${i}`;
  const pick = (o: Option) => {
    p.onPick(o);
    setOpen(false);
  };
  const onKeyDown = (e: KeyboardEvent<HTMLInputElement>) => {
    switch (e.key) {
      case 'ArrowDown':
        e.preventDefault();
        if (!open) { setOpen(true); return; }
        if (active >= p.options.length - 1) { if (p.more) p.more(); return; }
        setActive(active + 1);
        return;
      case 'ArrowUp':
        e.preventDefault();
        if (!open) { setOpen(true); return; }
        setActive(Math.max(active - 1, 0));
        return;
      case 'Enter':
        if (open && active >= 0 && active < p.options.length) {
          e.preventDefault();
          pick(p.options[active]);
        } else if (p.onEnterText && p.text.trim()) {
          e.preventDefault();
          p.onEnterText();
        } else if (open) {
          // Enter keeps the typed text; it must not submit the page.
          e.preventDefault();
          setOpen(false);
        }
        return;
      case 'Escape':
        if (open) {
          e.preventDefault();
          e.stopPropagation();
          setOpen(false);
        }
        return;
    }
  };
  const described = [p.description ? descId : '', p.describedBy ?? ''].filter(Boolean).join(' ') || undefined;
  return (
    <div className="combobox">
      <label htmlFor={p.id}>
        {p.label}
        {p.required ? <span className="required" aria-hidden="true">*</span> : null}
      </label>
      {p.description ? <div id={descId} className="field-description">{p.description}</div> : null}
      <div className="combobox-wrap">
        <input
          id={p.id}
          type="text"
          role="combobox"
          autoComplete="off"
          aria-autocomplete="list"
          aria-expanded={open}
          aria-controls={listId}
          aria-activedescendant={open && active >= 0 ? optId(active) : undefined}
          aria-required={p.required || undefined}
          aria-invalid={p.invalid || undefined}
          aria-describedby={described}
          placeholder={p.placeholder}
          autoFocus={p.autoFocus}
          disabled={p.disabled}
          value={p.text}
          onChange={(e) => { p.onText(e.target.value); setOpen(true); }}
          onClick={() => setOpen(true)}
          onBlur={() => { setOpen(false); p.onBlur?.(); }}
          onKeyDown={onKeyDown}
        />
        <div className="combobox-popup" hidden={!open}>
          <ul id={listId} role="listbox" aria-label={typeof p.label === 'string' ? p.label : undefined}>
            {p.options.map((o, i) => (
              <li
                key={`${o.value}-${i}`}
                id={optId(i)}
                role="option"
                aria-selected={i === active}
                className={i === active ? 'active' : undefined}
                onMouseDown={(e) => { e.preventDefault(); pick(o); }}
                onMouseMove={() => setActive(i)}
              >
                <span>{o.label}</span>
                {o.detail && o.detail !== o.label ? <span className="muted"> {o.detail}</span> : null}
              </li>
            ))}
          </ul>
          <div className="combobox-status" role="status" aria-live="polite">
            {p.loading ? 'Searching…' : p.error ? <span className="field-error">{p.error}</span> : p.options.length === 0 ? (p.emptyText ?? 'No matches') : null}
          </div>
          {p.more && !p.loading ? (
            <button type="button" className="link" tabIndex={-1} onMouseDown={(e) => { e.preventDefault(); p.more!(); }}>
              More results
            </button>
          ) : null}
        </div>
      </div>
    </div>
  );
}

/** The values a multi-value picker holds, each with a button that removes it. */
export function ChosenChips({ label, values, removeLabel, disabled, onRemove }: {
  label: string; values: string[]; removeLabel: (v: string) => string; disabled?: boolean; onRemove: (v: string) => void;
}) {
  if (!values.length) return null;
  return (
    <ul className="chips" aria-label={`${label}: chosen`}>
      {values.map((v) => (
        <li key={v} className="chip">
          {v}{' '}
          <button type="button" className="chip-remove" aria-label={removeLabel(v)} disabled={disabled} onClick={() => onRemove(v)}>×</button>
        </li>
      ))}
    </ul>
  );
}

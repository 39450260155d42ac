// Form drafts in localStorage: the values typed so far (never secrets; the
// form strips them before calling writeDraft) and when they were saved.

export interface Draft { savedAt: string; values: Record<string, unknown> }

export function readDraft(key: string): Draft | undefined {
  try {
    const raw = localStorage.getItem(key);
    if (!raw) return undefined;
    const d = JSON.parse(raw) as Draft;
    if (!d || typeof d !== 'object' || !d.values || typeof d.values !== 'object' || Array.isArray(d.values)) return undefined;
    if (Object.keys(d.values).length === 0) return undefined;
    return d;
  } catch {
    return undefined;
  }
}

export function writeDraft(key: string, values: Record<string, unknown>) {
  try {
    if (Object.keys(values).length === 0) localStorage.removeItem(key);
    else localStorage.setItem(key, JSON.stringify({ savedAt: new Date().toISOString(), values } satisfies Draft));
  } catch {
    /* storage full or disabled: drafts are best effort */
  }
}

export function clearDraft(key: string) {
  try {
    localStorage.removeItem(key);
  } catch {
    /* ignore */
  }
}

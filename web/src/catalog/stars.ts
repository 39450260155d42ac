// Starred entities, kept in this browser's localStorage as a list of refs.
import { useCallback, useEffect, useState } from 'react';

const KEY = 'rigger.catalog.starred';

export function readStars(): string[] {
  try {
    const v = JSON.parse(localStorage.getItem(KEY) ?? '[]');
    return Array.isArray(v) ? v.filter((x) => typeof x === 'string') : [];
  } catch {
    return [];
  }
}

function writeStars(stars: string[]) {
  try {
    localStorage.setItem(KEY, JSON.stringify(stars));
  } catch {
    /* storage full or disabled: stars last for this page only */
  }
}

/** The starred refs and a toggle; other tabs' changes arrive through the storage event. */
export function useStars(): { stars: string[]; isStarred: (ref: string) => boolean; toggle: (ref: string) => void } {
  const [stars, setStars] = useState<string[]>(readStars);
  useEffect(() => {
    const on = (e: StorageEvent) => { if (e.key === KEY) setStars(readStars()); };
    window.addEventListener('storage', on);
    return () => window.removeEventListener('storage', on);
  }, []);
  const toggle = useCallback((ref: string) => {
    setStars((s) => {
      const next = s.includes(ref) ? s.filter((x) => x !== ref) : [...s, ref];
      writeStars(next);
      return next;
    });
  }, []);
  return { stars, isStarred: (ref) => stars.includes(ref), toggle };
}

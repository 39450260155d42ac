// A search highlight: text with the API's marker tags around matches. It
// is split on the markers and rendered as text and <mark> elements, never
// as HTML, so a document's own text cannot inject markup.
import { Fragment } from 'react';

export interface Part { text: string; hit: boolean }

/** Splits a highlighted string on its pre/post tags. */
export function highlightParts(value: string, preTag: string, postTag: string): Part[] {
  if (!preTag || !postTag) return [{ text: value, hit: false }];
  const parts: Part[] = [];
  let rest = value;
  while (rest.length > 0) {
    const start = rest.indexOf(preTag);
    if (start < 0) break;
    const end = rest.indexOf(postTag, start + preTag.length);
    if (end < 0) break;
    if (start > 0) parts.push({ text: rest.slice(0, start), hit: false });
    const hit = rest.slice(start + preTag.length, end);
    if (hit) parts.push({ text: hit, hit: true });
    rest = rest.slice(end + postTag.length);
  }
  if (rest) parts.push({ text: rest, hit: false });
  return parts;
}

export function Highlighted({ value, preTag, postTag }: { value: string; preTag?: string; postTag?: string }) {
  return (
    <>
      {highlightParts(value, preTag ?? '', postTag ?? '').map((p, i) =>
        p.hit ? <mark key={i}>{p.text}</mark> : <Fragment key={i}>{p.text}</Fragment>,
      )}
    </>
  );
}

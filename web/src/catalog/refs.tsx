// Entity references as links, and the one rule for which URLs may become
// links at all.
import { Link } from 'react-router-dom';
import { entityPath, humanRef, parseRef, type Entity } from '../api';

/** A ref from a spec field (spec.owner: "team-a" means group:<ns>/team-a). */
export function specRef(value: unknown, defaultKind: string, e: Entity): string | undefined {
  if (typeof value !== 'string' || !value) return undefined;
  const r = parseRef(value, defaultKind, e.metadata.namespace ?? 'default');
  return `${r.kind}:${r.namespace}/${r.name}`;
}

export function EntityLink({ entityRef, hideKind, title }: { entityRef: string; hideKind?: string; title?: string }) {
  return (
    <Link to={entityPath(entityRef)} title={entityRef}>
      {title || humanRef(entityRef, hideKind)}
    </Link>
  );
}

/** An http(s) URL, or undefined: javascript:, data: and the rest never become links. */
export function safeUrl(raw: unknown): string | undefined {
  if (typeof raw !== 'string') return undefined;
  const s = raw.trim();
  try {
    const u = new URL(s);
    return u.protocol === 'http:' || u.protocol === 'https:' ? u.href : undefined;
  } catch {
    return undefined;
  }
}

/** backstage.io/source-location's URL without its "url:" prefix (dir: and file: are not links). */
export function sourceUrl(annotation: unknown): string | undefined {
  if (typeof annotation !== 'string') return undefined;
  const s = annotation.trim();
  return safeUrl(s.startsWith('url:') ? s.slice(4) : s);
}

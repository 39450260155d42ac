// The raw entity as YAML with a copy button. Loaded on demand (the YAML package).
import { useMemo, useState } from 'react';
import { stringify } from 'yaml';
import type { Entity } from '../api';

export default function YamlView({ entity }: { entity: Entity }) {
  const text = useMemo(() => stringify(entity, { lineWidth: 0 }), [entity]);
  const [copied, setCopied] = useState<'' | 'ok' | 'failed'>('');
  const copy = async () => {
    try {
      await navigator.clipboard.writeText(text);
      setCopied('ok');
    } catch {
      setCopied('failed');
    }
  };
  return (
    <div className="yaml-view">
      <p>
        <button type="button" onClick={copy}>Copy YAML</button>{' '}
        <span role="status" className="muted small">{copied === 'ok' ? 'Copied.' : copied === 'failed' ? 'The browser refused the clipboard: select the text instead.' : ''}</span>
      </p>
      <pre tabIndex={0} aria-label="Entity YAML">{text}</pre>
    </div>
  );
}

// The panel of a task waiting on a rigger:wait-for step: what it waits
// for, until when, and for a callback the URL to give the outside system
// (with a copy button).
import { useState } from 'react';
import type { StepWait } from './model';
import { formatTime } from './model';

export function WaitPanel({ wait, stepName }: { wait: StepWait; stepName: string }) {
  const [copied, setCopied] = useState(false);
  const url = wait.callbackPath ? new URL(wait.callbackPath, window.location.origin).toString() : '';
  const copy = async () => {
    try {
      await navigator.clipboard.writeText(url);
      setCopied(true);
    } catch {
      setCopied(false);
    }
  };
  return (
    <section className="approval" aria-labelledby="wait-h">
      <h2 id="wait-h">Waiting: {stepName}</h2>
      <p>Waiting for {wait.what}.</p>
      {wait.message ? <pre className="approval-message" tabIndex={0} aria-label="About this wait">{wait.message}</pre> : null}
      <p className="muted">Since {formatTime(wait.requestedAt)} · until {formatTime(wait.deadline)}, then the task fails. No worker is held while it waits.</p>
      {url ? (
        <>
          <label htmlFor="wait-callback">Callback URL (one call, with a JSON body, ends the wait)</label>
          <div className="wait-callback">
            <input id="wait-callback" readOnly value={url} onFocus={(e) => e.currentTarget.select()} />
            <button type="button" onClick={copy}>{copied ? 'Copied' : 'Copy'}</button>
          </div>
        </>
      ) : null}
    </section>
  );
}

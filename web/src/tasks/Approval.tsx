// The panel of a task waiting on a rigger:approval step: what is asked,
// until when, and — for someone the server says may decide — Approve and
// Reject with an optional comment.
import { useState } from 'react';
import { post } from '../api';
import { ErrorBox } from '../ui';
import { formatTime } from './model';

export interface TaskApproval {
  stepId: string;
  /** Names this very request: a decision is for what the viewer was shown. */
  requestId: string;
  message?: string;
  requestedAt: string;
  deadline: string;
  allowSelfApproval?: boolean;
  /** Whether the viewer may approve or reject (the server asked the policy). */
  canDecide: boolean;
}

export function ApprovalPanel({ taskId, approval, stepName, onDecided }: {
  taskId: string;
  approval: TaskApproval;
  stepName: string;
  onDecided: () => void;
}) {
  const [comment, setComment] = useState('');
  const [busy, setBusy] = useState<'' | 'approve' | 'reject'>('');
  const [error, setError] = useState<unknown>();
  const decide = async (what: 'approve' | 'reject') => {
    if (what === 'reject' && !window.confirm('Reject this step? The task fails and does not go on.')) return;
    setBusy(what); setError(undefined);
    try {
      const c = comment.trim();
      await post(`/api/scaffolder/v2/tasks/${encodeURIComponent(taskId)}/${what}`, c ? { requestId: approval.requestId, comment: c } : { requestId: approval.requestId });
      onDecided();
    } catch (e) {
      setError(e);
    } finally {
      setBusy('');
    }
  };
  return (
    <section className="approval" aria-labelledby="approval-h">
      <h2 id="approval-h">Waiting for approval: {stepName}</h2>
      {approval.message ? <pre className="approval-message" tabIndex={0} aria-label="What is asked">{approval.message}</pre> : null}
      <p className="muted">Asked {formatTime(approval.requestedAt)} · a decision is due by {formatTime(approval.deadline)}, or the task fails.</p>
      {approval.canDecide ? (
        <>
          <label htmlFor="approval-comment">Comment (optional)</label>
          <textarea id="approval-comment" value={comment} maxLength={2000} rows={2} onChange={(e) => setComment(e.target.value)} />
          <div className="approval-buttons">
            <button type="button" className="primary" onClick={() => decide('approve')} disabled={!!busy}>{busy === 'approve' ? 'Approving…' : 'Approve'}</button>
            <button type="button" className="danger" onClick={() => decide('reject')} disabled={!!busy}>{busy === 'reject' ? 'Rejecting…' : 'Reject'}</button>
          </div>
        </>
      ) : (
        <p role="note">
          You cannot decide on this step: the template&apos;s owners (or whom the permission policy names) do
          {approval.allowSelfApproval ? '' : ', and never the person who started the task'}.
        </p>
      )}
      {error ? <ErrorBox error={error} title="The decision was not recorded" /> : null}
    </section>
  );
}

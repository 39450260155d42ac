// The task shapes the scaffolder API answers, and small helpers to show
// them: status icons with text, durations, safe link targets.
import type { TaskApproval } from './Approval';

export type TaskStatus = 'open' | 'processing' | 'completed' | 'failed' | 'cancelled' | string;

export interface TaskStep {
  id: string;
  name: string;
  action: string;
  status: TaskStatus;
  startedAt?: string;
  endedAt?: string;
  error?: string;
  /** A rigger:wait-for step's wait (what for, until when, its callback). */
  wait?: StepWait;
}

export interface StepWait {
  requestId: string;
  for: 'callback' | 'pull-request' | 'workflow-run' | string;
  what: string;
  message?: string;
  requestedAt: string;
  deadline: string;
  callbackPath?: string;
  outcome?: string;
}

export interface OutputLink { title?: string; url?: string; icon?: string; entityRef?: string }
export interface OutputText { title?: string; content?: string; default?: boolean }
export interface TaskOutput { links?: OutputLink[]; text?: OutputText[]; [k: string]: unknown }

export interface Task {
  id: string;
  status: TaskStatus;
  createdAt: string;
  endedAt?: string;
  createdBy?: string;
  attempt?: number;
  spec: { templateInfo?: { entityRef?: string }; user?: { ref?: string }; steps?: { id: string; name: string; action: string }[]; parameters?: Record<string, unknown> };
  steps?: TaskStep[];
  output?: TaskOutput;
  temporalUrl?: string;
  /** The approval step the task waits on (rigger:approval), if any. */
  approval?: TaskApproval;
  /** No worker answered for the running task: its steps are the plan, not its progress. */
  workerUnavailable?: boolean;
  /** "mcp" when an AI agent started the task through /api/mcp, acting as its creator. */
  channel?: string;
}

export interface TaskList { tasks: Task[]; totalTasks: number }

export const FINAL = new Set(['completed', 'failed', 'cancelled']);
export const isFinal = (s?: string) => !!s && FINAL.has(s);

/** A status as an icon and a word: never colour alone. */
export const STATUS_ICON: Record<string, string> = {
  open: '○', processing: '◔', completed: '✓', failed: '✗', cancelled: '⊘', skipped: '↷',
};

export function statusLabel(s: string): string {
  switch (s) {
    case 'open': return 'Waiting';
    case 'processing': return 'Running';
    case 'completed': return 'Completed';
    case 'failed': return 'Failed';
    case 'cancelled': return 'Cancelled';
    case 'skipped': return 'Not run';
  }
  return s || 'Unknown';
}

/** Milliseconds as 850 ms, 12.3 s, 4 min 05 s, 2 h 03 min. */
export function formatDuration(ms: number): string {
  if (!Number.isFinite(ms) || ms < 0) return '—';
  if (ms < 1000) return `${Math.round(ms)} ms`;
  if (ms < 60_000) return `${(ms / 1000).toFixed(ms < 10_000 ? 1 : 0)} s`;
  const s = Math.floor(ms / 1000);
  if (s < 3600) return `${Math.floor(s / 60)} min ${String(s % 60).padStart(2, '0')} s`;
  return `${Math.floor(s / 3600)} h ${String(Math.floor((s % 3600) / 60)).padStart(2, '0')} min`;
}

/** From start to end, or to now while it runs; undefined before it starts. */
export function elapsed(start?: string, end?: string, now = Date.now()): number | undefined {
  if (!start) return undefined;
  const a = Date.parse(start);
  const b = end ? Date.parse(end) : now;
  if (Number.isNaN(a) || Number.isNaN(b)) return undefined;
  return Math.max(0, b - a);
}

export function formatTime(iso?: string): string {
  if (!iso) return '—';
  const d = new Date(iso);
  return Number.isNaN(d.getTime()) ? iso : d.toLocaleString();
}

/** Only http(s) and same-site paths are followed: never javascript: or data:. */
export function safeUrl(url?: string): string | undefined {
  if (!url) return undefined;
  if (url.startsWith('/') && !url.startsWith('//')) return url;
  try {
    const u = new URL(url);
    return u.protocol === 'http:' || u.protocol === 'https:' ? u.href : undefined;
  } catch {
    return undefined;
  }
}

/** The task's end: the server's endedAt, else its last step's end once final. */
export function taskEnd(t: Task): string | undefined {
  if (t.endedAt) return t.endedAt;
  if (!isFinal(t.status)) return undefined;
  const ends = (t.steps ?? []).map((s) => s.endedAt).filter(Boolean) as string[];
  return ends.sort().at(-1);
}

// Server-Sent Events over fetch(): EventSource cannot send an
// Authorization header, so the task page reads the stream itself. SseParser
// turns text chunks (cut anywhere) into events as the SSE format says;
// followTaskEvents keeps a task's stream open, resuming with ?after=<last
// event id> after a disconnect, until the task's completion event.
import { ApiError, authHeaders, renewToken, signedIn, toError } from '../api';

export interface SseEvent {
  /** The event's type: the `event:` field, "message" when absent. */
  event: string;
  data: string;
  /** The last `id:` seen on the stream (it carries over to later events). */
  id?: string;
}

/** An incremental SSE parser: feed() it text, it returns the events completed so far. */
export class SseParser {
  private buf = '';
  private data: string[] = [];
  private event = '';
  private lastId: string | undefined;
  private sawCR = false;

  feed(chunk: string): SseEvent[] {
    const out: SseEvent[] = [];
    let text = chunk;
    // A CRLF cut between two chunks: the LF ends nothing new.
    if (this.sawCR && text.startsWith('\n')) text = text.slice(1);
    this.sawCR = false;
    this.buf += text;
    let start = 0;
    for (let i = 0; i < this.buf.length; i++) {
      const c = this.buf[i];
      if (c !== '\n' && c !== '\r') continue;
      const line = this.buf.slice(start, i);
      if (c === '\r') {
        if (i + 1 < this.buf.length) {
          if (this.buf[i + 1] === '\n') i++;
        } else {
          this.sawCR = true;
        }
      }
      start = i + 1;
      const ev = this.line(line);
      if (ev) out.push(ev);
    }
    this.buf = this.buf.slice(start);
    return out;
  }

  private line(line: string): SseEvent | undefined {
    if (line === '') {
      if (this.data.length === 0) { this.event = ''; return undefined; }
      const ev: SseEvent = { event: this.event || 'message', data: this.data.join('\n') };
      if (this.lastId !== undefined) ev.id = this.lastId;
      this.data = [];
      this.event = '';
      return ev;
    }
    if (line.startsWith(':')) return undefined; // a comment (keep-alive)
    const colon = line.indexOf(':');
    const field = colon < 0 ? line : line.slice(0, colon);
    let value = colon < 0 ? '' : line.slice(colon + 1);
    if (value.startsWith(' ')) value = value.slice(1);
    switch (field) {
      case 'data': this.data.push(value); break;
      case 'event': this.event = value; break;
      case 'id': if (!value.includes('\0')) this.lastId = value; break;
      default: break; // retry and unknown fields: ignored
    }
    return undefined;
  }
}

/** The events of an SSE response body as they arrive; stopping early cancels the stream. */
export async function* sseEvents(body: ReadableStream<Uint8Array>): AsyncGenerator<SseEvent> {
  const reader = body.getReader();
  const decoder = new TextDecoder();
  const parser = new SseParser();
  try {
    for (;;) {
      const { value, done } = await reader.read();
      if (done) return;
      yield* parser.feed(decoder.decode(value, { stream: true }));
    }
  } finally {
    reader.cancel().catch(() => undefined);
  }
}

/** One event of a task's log, Backstage's shape. */
export interface TaskEvent {
  id: number;
  taskId?: string;
  type: 'log' | 'completion' | string;
  createdAt: string;
  body: { message?: string; stepId?: string; status?: string; output?: unknown };
}

export interface FollowOptions {
  /** Resume after this event id (0: from the start). */
  after?: number;
  onEvent: (e: TaskEvent) => void;
  /** Connection state changes, for a "reconnecting…" hint. */
  onState?: (s: 'open' | 'reconnecting' | 'done') => void;
  /** A refusal that retrying will not fix (404, 403, 400). */
  onError?: (e: ApiError) => void;
  signal: AbortSignal;
  /** Backoff bounds in ms (tests shorten them). */
  minDelay?: number;
  maxDelay?: number;
  fetchImpl?: typeof fetch;
  /** Asked before reconnecting: true stops (the task ended without a completion event). */
  isDone?: () => boolean;
}

const sleep = (ms: number, signal: AbortSignal) =>
  new Promise<void>((resolve) => {
    if (signal.aborted) return resolve();
    const t = setTimeout(resolve, ms);
    signal.addEventListener('abort', () => { clearTimeout(t); resolve(); }, { once: true });
  });

/**
 * Follows a task's event stream until its completion event or until signal
 * aborts. A stream that ends or fails early is opened again with
 * ?after=<last event id>, after a delay that doubles from minDelay to
 * maxDelay (reset by every event received). Resolves when done.
 */
export async function followTaskEvents(taskId: string, o: FollowOptions): Promise<void> {
  const doFetch = o.fetchImpl ?? ((...a: Parameters<typeof fetch>) => fetch(...a));
  const minDelay = o.minDelay ?? 500;
  const maxDelay = o.maxDelay ?? 15_000;
  let after = o.after ?? 0;
  let delay = minDelay;
  let renewed = false;
  while (!o.signal.aborted) {
    let finished = false;
    try {
      const r = await doFetch(`/api/scaffolder/v2/tasks/${encodeURIComponent(taskId)}/eventstream${after > 0 ? `?after=${after}` : ''}`, {
        headers: { Accept: 'text/event-stream', ...(await authHeaders()) },
        credentials: 'same-origin',
        signal: o.signal,
      });
      if (r.status === 401 && signedIn() && !renewed) {
        // The access token expired during a long stream: renew once, go on.
        renewed = true;
        if (await renewToken()) continue;
      }
      if (!r.ok) {
        const retryable = r.status === 429 || r.status >= 500;
        if (!retryable) {
          o.onError?.(await toError(r));
          o.onState?.('done');
          return;
        }
      } else if (r.body) {
        renewed = false;
        o.onState?.('open');
        for await (const ev of sseEvents(r.body)) {
          let te: TaskEvent;
          try { te = JSON.parse(ev.data) as TaskEvent; } catch { continue; }
          if (!te.type) te.type = ev.event;
          const id = Number(te.id ?? ev.id);
          if (Number.isFinite(id) && id > 0) {
            if (id <= after) continue; // already seen (a resumed stream)
            after = id;
          }
          delay = minDelay;
          o.onEvent(te);
          if (te.type === 'completion') { finished = true; break; }
        }
      }
    } catch {
      /* network error or abort: retried below unless aborted */
    }
    if (finished) { o.onState?.('done'); return; }
    if (o.signal.aborted) return;
    if (o.isDone?.()) { o.onState?.('done'); return; }
    o.onState?.('reconnecting');
    await sleep(delay, o.signal);
    delay = Math.min(delay * 2, maxDelay);
  }
}

import { SseParser, followTaskEvents, type TaskEvent } from './sse';
import { renewToken } from '../api';

describe('SseParser', () => {
  it('parses events cut at any chunk boundary', () => {
    const text = 'event: log\ndata: {"id":1}\n\nevent: completion\r\ndata: {"id":2}\r\n\r\n';
    for (let cut = 0; cut <= text.length; cut++) {
      const p = new SseParser();
      const evs = [...p.feed(text.slice(0, cut)), ...p.feed(text.slice(cut))];
      expect(evs, `cut at ${cut}`).toEqual([
        { event: 'log', data: '{"id":1}' },
        { event: 'completion', data: '{"id":2}' },
      ]);
    }
  });

  it('parses one character at a time', () => {
    const text = 'id: 7\r\nevent: x\rdata: a\r\n\r\n';
    const p = new SseParser();
    const evs = text.split('').flatMap((c) => p.feed(c));
    expect(evs).toEqual([{ event: 'x', data: 'a', id: '7' }]);
  });

  it('joins multi-line data with newlines and keeps the last id', () => {
    const p = new SseParser();
    const evs = p.feed('id: 3\ndata: one\ndata:two\ndata:  three\n\ndata: next\n\n');
    expect(evs).toEqual([
      { event: 'message', data: 'one\ntwo\n three', id: '3' },
      { event: 'message', data: 'next', id: '3' },
    ]);
  });

  it('ignores comments, unknown fields and events without data', () => {
    const p = new SseParser();
    const evs = p.feed(': keep-alive\n\nretry: 100\nfoo: bar\nevent: log\n\ndata\n\n');
    // "data" with no colon is a data field with an empty value.
    expect(evs).toEqual([{ event: 'message', data: '' }]);
  });

  it('holds back an event until its blank line arrives', () => {
    const p = new SseParser();
    expect(p.feed('data: a\n')).toEqual([]);
    expect(p.feed('\n')).toEqual([{ event: 'message', data: 'a' }]);
  });
});

function streamOf(text: string, close = true): ReadableStream<Uint8Array> {
  const enc = new TextEncoder();
  return new ReadableStream({
    start(ctl) {
      // Cut in the middle of an event, as a network might.
      const mid = Math.floor(text.length / 2);
      ctl.enqueue(enc.encode(text.slice(0, mid)));
      ctl.enqueue(enc.encode(text.slice(mid)));
      if (close) ctl.close();
    },
  });
}

const sse = (e: Partial<TaskEvent> & { id: number; type: string }) =>
  `event: ${e.type}\ndata: ${JSON.stringify({ createdAt: '2026-01-01T00:00:00Z', body: {}, ...e })}\n\n`;

describe('followTaskEvents', () => {
  it('reconnects with ?after=<last event id> until the completion event', async () => {
    const urls: string[] = [];
    const bodies = [
      sse({ id: 1, type: 'log', body: { message: 'a' } }) + sse({ id: 2, type: 'log', body: { message: 'b' } }),
      // The resumed stream repeats event 2: it is dropped.
      sse({ id: 2, type: 'log', body: { message: 'b' } }) + sse({ id: 3, type: 'completion', body: { status: 'completed' } }),
    ];
    const fetchImpl = vi.fn(async (url: RequestInfo | URL) => {
      urls.push(String(url));
      const b = bodies.shift();
      if (!b) throw new Error('no more streams');
      return new Response(streamOf(b), { status: 200, headers: { 'Content-Type': 'text/event-stream' } });
    });
    const got: TaskEvent[] = [];
    const states: string[] = [];
    await followTaskEvents('t1', {
      onEvent: (e) => got.push(e), onState: (s) => states.push(s),
      signal: new AbortController().signal, minDelay: 1, maxDelay: 2, fetchImpl: fetchImpl as unknown as typeof fetch,
    });
    expect(urls).toEqual(['/api/scaffolder/v2/tasks/t1/eventstream', '/api/scaffolder/v2/tasks/t1/eventstream?after=2']);
    expect(got.map((e) => e.id)).toEqual([1, 2, 3]);
    expect(states).toEqual(['open', 'reconnecting', 'open', 'done']);
  });

  it('retries after a network error and a 503, and stops on a 404 with the server message', async () => {
    const calls: string[] = [];
    let n = 0;
    const fetchImpl = vi.fn(async (url: RequestInfo | URL) => {
      calls.push(String(url));
      n++;
      if (n === 1) throw new TypeError('network down');
      if (n === 2) return new Response('{}', { status: 503 });
      return new Response(JSON.stringify({ error: { name: 'NotFoundError', message: 'no task with id "t2"' } }), {
        status: 404, headers: { 'X-Request-Id': 'req-9' },
      });
    });
    const errors: { message: string; requestId?: string }[] = [];
    await followTaskEvents('t2', {
      after: 5, onEvent: () => undefined, onError: (e) => errors.push(e),
      signal: new AbortController().signal, minDelay: 1, maxDelay: 2, fetchImpl: fetchImpl as unknown as typeof fetch,
    });
    expect(calls).toHaveLength(3);
    expect(calls.every((u) => u.endsWith('?after=5'))).toBe(true);
    expect(errors).toHaveLength(1);
    expect(errors[0].message).toBe('no task with id "t2"');
    expect(errors[0].requestId).toBe('req-9');
  });

  it('stops reconnecting once isDone says the task ended', async () => {
    const fetchImpl = vi.fn(async () => new Response(streamOf(sse({ id: 1, type: 'log' })), { status: 200 }));
    await followTaskEvents('t3', {
      onEvent: () => undefined, isDone: () => true,
      signal: new AbortController().signal, minDelay: 1, fetchImpl: fetchImpl as unknown as typeof fetch,
    });
    expect(fetchImpl).toHaveBeenCalledTimes(1);
  });

  it('renews an expired access token once and goes on streaming with it', async () => {
    let refreshes = 0;
    vi.stubGlobal('fetch', vi.fn(async () => {
      refreshes++;
      return new Response(JSON.stringify({ accessToken: `tok-${refreshes}`, expiresAt: new Date(Date.now() + 3600_000).toISOString() }), { status: 200 });
    }));
    expect(await renewToken()).toBe(true);
    const auth: (string | null)[] = [];
    let n = 0;
    const fetchImpl = vi.fn(async (_url: RequestInfo | URL, init?: RequestInit) => {
      auth.push(new Headers(init?.headers).get('Authorization'));
      n++;
      if (n === 1) return new Response('{}', { status: 401 });
      return new Response(streamOf(sse({ id: 1, type: 'completion', body: { status: 'completed' } })), { status: 200 });
    });
    const got: TaskEvent[] = [];
    await followTaskEvents('t4', {
      onEvent: (e) => got.push(e), signal: new AbortController().signal, minDelay: 1, fetchImpl: fetchImpl as unknown as typeof fetch,
    });
    vi.unstubAllGlobals();
    expect(auth).toEqual(['Bearer tok-1', 'Bearer tok-2']);
    expect(got.map((e) => e.type)).toEqual(['completion']);
  });
});

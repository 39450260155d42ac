import { act, render, screen, waitFor, within } from '@testing-library/react';
import userEvent from '@testing-library/user-event';
import { MemoryRouter, Route, Routes, useLocation } from 'react-router-dom';
import { TaskPage } from '../pages/TaskPage';
import { json, sseStream, stubFetch, type SseWriter } from './testutil';
import type { Task } from './model';

const base: Task = {
  id: 'task-1', status: 'processing', createdAt: '2026-12-04T10:00:00Z', createdBy: 'user:default/alice',
  spec: { templateInfo: { entityRef: 'template:default/go-service' } },
  steps: [
    { id: 'fetch', name: 'Render the skeleton', action: 'fetch:template', status: 'completed', startedAt: '2026-12-04T10:00:00Z', endedAt: '2026-12-04T10:00:02Z' },
    { id: 'publish', name: 'Publish', action: 'publish:github', status: 'processing', startedAt: '2026-12-04T10:00:02Z' },
  ],
  temporalUrl: 'http://127.0.0.1:8233/namespaces/default/workflows/task-1/run/history',
};

const ev = (id: number, type: string, body: object) =>
  `event: ${type}\ndata: ${JSON.stringify({ id, taskId: 'task-1', type, createdAt: '2026-12-04T10:00:01Z', body })}\n\n`;

function Where() {
  const l = useLocation();
  return <output data-testid="where">{l.pathname + l.search}</output>;
}

function renderAt(path: string) {
  return render(
    <MemoryRouter initialEntries={[path]}>
      <Routes><Route path="/tasks/:id" element={<><TaskPage /><Where /></>} /></Routes>
    </MemoryRouter>,
  );
}

afterEach(() => { vi.unstubAllGlobals(); vi.restoreAllMocks(); });

describe('TaskPage', () => {
  it('says when no worker answers and the steps are only the plan, until one does', async () => {
    let task: Task = { ...base, workerUnavailable: true, steps: base.steps!.map((s) => ({ ...s, status: 'open', startedAt: undefined, endedAt: undefined })) };
    const streams: SseWriter[] = [];
    stubFetch({
      'GET /api/scaffolder/v2/tasks/task-1': () => json(task),
      'GET /api/scaffolder/v2/tasks/task-1/eventstream': () => { const s = sseStream(); streams.push(s); return s.response; },
      'GET /api/catalog/entities/by-name/*': () => json({ kind: 'Template', metadata: { name: 'go-service', title: 'Go service' } }),
    });
    renderAt('/tasks/task-1');
    expect(await screen.findByText(/No worker is answering for this task/)).toBeTruthy();
    await waitFor(() => expect(streams).toHaveLength(1));
    task = base;
    act(() => streams[0].send(ev(1, 'log', { message: 'Beginning step Publish', stepId: 'publish' })));
    await waitFor(() => expect(screen.queryByText(/No worker is answering/)).toBeNull());
  });

  it('says an AI agent started the run and, at the gate rigger inserted, that the agent cannot approve it', async () => {
    const gate = { id: 'rigger-agent-approval', name: "Approve the agent's run", action: 'rigger:approval', status: 'processing' as const, startedAt: '2026-12-04T10:00:02Z' };
    const task: Task = {
      ...base, channel: 'mcp', spec: { ...base.spec, parameters: { name: 'billing-api', extra: { tier: 1 } } }, steps: [base.steps![0], gate, { ...base.steps![1], status: 'open', startedAt: undefined }],
      approval: { stepId: gate.id, requestId: 'r1', requestedAt: '2026-12-04T10:00:02Z', deadline: '2026-12-05T10:00:02Z', allowSelfApproval: true, canDecide: true },
    };
    stubFetch({
      'GET /api/scaffolder/v2/tasks/task-1': () => json(task),
      'GET /api/scaffolder/v2/tasks/task-1/eventstream': () => sseStream().response,
      'GET /api/catalog/entities/by-name/*': () => json({ kind: 'Template', metadata: { name: 'go-service', title: 'Go service' } }),
    });
    renderAt('/tasks/task-1');
    expect(await screen.findByText(/through an AI agent \(MCP\)/)).toBeTruthy();
    const note = await screen.findByRole('note');
    expect(note.textContent).toContain('An AI agent started this run as alice');
    expect(note.textContent).toContain('the agent itself cannot approve it');
    // The values the agent gave are shown, unfolded, for the person to review.
    const inputs = screen.getByText('Inputs (2)').closest('details')!;
    expect(inputs.open).toBe(true);
    expect(within(inputs).getByText('billing-api')).toBeTruthy();
    expect(within(inputs).getByText(/"tier": 1/)).toBeTruthy();
    expect(screen.getByRole('button', { name: 'Approve' })).toBeTruthy();
  });

  it('shows no agent marks on a run a person started', async () => {
    const task: Task = {
      ...base, approval: { stepId: 'publish', requestId: 'r1', requestedAt: '2026-12-04T10:00:02Z', deadline: '2026-12-05T10:00:02Z', canDecide: true },
    };
    stubFetch({
      'GET /api/scaffolder/v2/tasks/task-1': () => json(task),
      'GET /api/scaffolder/v2/tasks/task-1/eventstream': () => sseStream().response,
      'GET /api/catalog/entities/by-name/*': () => json({ kind: 'Template', metadata: { name: 'go-service', title: 'Go service' } }),
    });
    renderAt('/tasks/task-1');
    expect(await screen.findByRole('heading', { level: 1, name: 'Go service' })).toBeTruthy();
    expect(screen.queryByText(/AI agent/)).toBeNull();
    expect(screen.queryByText(/^Inputs/)).toBeNull(); // none given: no empty section
  });

  it('renders the steps with status text and appends streamed events to the log', async () => {
    let task: Task = base;
    const streams: SseWriter[] = [];
    stubFetch({
      'GET /api/scaffolder/v2/tasks/task-1': () => json(task),
      'GET /api/scaffolder/v2/tasks/task-1/eventstream': () => { const s = sseStream(); streams.push(s); return s.response; },
      'GET /api/catalog/entities/by-name/*': () => json({ kind: 'Template', metadata: { name: 'go-service', title: 'Go service' } }),
    });
    renderAt('/tasks/task-1');
    expect(await screen.findByRole('heading', { level: 1, name: 'Go service' })).toBeTruthy();
    const fetchBtn = screen.getByRole('button', { name: /Render the skeleton/ });
    expect(fetchBtn?.textContent).toContain('Completed');
    expect(fetchBtn?.textContent).toContain('2.0 s');
    expect(screen.getByRole('button', { name: /Publish/ })?.textContent).toContain('Running');
    expect(screen.getByRole('link', { name: 'Open in Temporal UI' }).getAttribute('href')).toBe(base.temporalUrl);
    expect(screen.getByRole('link', { name: 'Start over' }).getAttribute('href')).toBe('/create/templates/default/go-service?from=task-1');
    expect(screen.queryByRole('button', { name: /Retry/ })).toBeNull();

    await waitFor(() => expect(streams).toHaveLength(1));
    const log = screen.getByRole('log', { name: 'Task log' });
    act(() => streams[0].send(ev(1, 'log', { message: 'Beginning step Publish', stepId: 'publish' })));
    expect(await within(log).findByText('Beginning step Publish')).toBeTruthy();
    act(() => streams[0].send(ev(2, 'log', { message: 'pushed to github', stepId: 'publish' })));
    expect(await within(log).findByText('pushed to github')).toBeTruthy();

    // The per-step filter shows only that step's lines, and the URL says which.
    await userEvent.click(screen.getByRole('button', { name: /Render the skeleton/ }));
    expect(within(log).queryByText('pushed to github')).toBeNull();
    expect(screen.getByTestId('where').textContent).toBe('/tasks/task-1?step=fetch');
    await userEvent.click(screen.getByRole('button', { name: /All steps/ }));
    expect(within(log).getByText('pushed to github')).toBeTruthy();

    // Completion: the task is read again and shows its output.
    task = {
      ...base, status: 'completed', endedAt: '2026-12-04T10:00:05Z',
      steps: base.steps!.map((s) => ({ ...s, status: 'completed', endedAt: s.endedAt ?? '2026-12-04T10:00:05Z' })),
      output: { links: [{ title: 'Repository', url: 'https://example.test/r' }, { title: 'In the catalog', entityRef: 'component:default/demo' }, { title: 'Bad', url: 'javascript:alert(1)' }], text: [{ title: 'Next', content: 'Run `make`' }] },
    };
    act(() => { streams[0].send(ev(3, 'completion', { status: 'completed', message: '' })); streams[0].close(); });
    expect((await screen.findByRole('link', { name: 'Repository' })).getAttribute('href')).toBe('https://example.test/r');
    expect(screen.getByRole('link', { name: 'In the catalog' }).getAttribute('href')).toBe('/catalog/default/component/demo');
    expect(screen.queryByRole('link', { name: 'Bad' })).toBeNull();
    expect(screen.getByText('make').tagName).toBe('CODE');
    expect(screen.queryByRole('button', { name: 'Cancel' })).toBeNull();
  });

  it('cancel asks first and posts to /cancel', async () => {
    const { calls } = stubFetch({
      'GET /api/scaffolder/v2/tasks/task-1': () => json(base),
      'GET /api/scaffolder/v2/tasks/task-1/eventstream': () => sseStream().response,
      'POST /api/scaffolder/v2/tasks/task-1/cancel': () => json({ status: 'cancelled' }),
      'GET /api/catalog/entities/by-name/*': () => json({}, 404),
    });
    const confirm = vi.spyOn(window, 'confirm').mockReturnValueOnce(false).mockReturnValueOnce(true);
    renderAt('/tasks/task-1');
    const btn = await screen.findByRole('button', { name: 'Cancel' });
    await userEvent.click(btn);
    expect(calls.some((c) => c.method === 'POST')).toBe(false);
    await userEvent.click(btn);
    await waitFor(() => expect(calls.filter((c) => c.method === 'POST').map((c) => c.url)).toEqual(['/api/scaffolder/v2/tasks/task-1/cancel']));
    expect(confirm).toHaveBeenCalledTimes(2);
  });

  it('retry posts to /retry and follows the new run from the start', async () => {
    const failed: Task = { ...base, status: 'failed', endedAt: '2026-12-04T10:00:03Z', steps: [base.steps![0], { ...base.steps![1], status: 'failed', endedAt: '2026-12-04T10:00:03Z', error: 'boom' }] };
    let task = failed;
    const { calls } = stubFetch({
      'GET /api/scaffolder/v2/tasks/task-1': () => json(task),
      'GET /api/scaffolder/v2/tasks/task-1/eventstream': () => {
        const s = sseStream();
        s.send(ev(1, 'log', { message: 'step failed', stepId: 'publish' }));
        return s.response;
      },
      'POST /api/scaffolder/v2/tasks/task-1/retry': () => { task = { ...failed, status: 'processing', endedAt: undefined }; return json({ id: 'task-1' }, 201); },
      'GET /api/catalog/entities/by-name/*': () => json({}, 404),
    });
    renderAt('/tasks/task-1');
    expect(await screen.findByText('boom')).toBeTruthy();
    const retry = await screen.findByRole('button', { name: 'Retry from “Publish”' });
    await userEvent.click(retry);
    await waitFor(() => expect(calls.filter((c) => c.method === 'POST').map((c) => c.url)).toEqual(['/api/scaffolder/v2/tasks/task-1/retry']));
    // A second stream starts from the beginning of the new run's log.
    await waitFor(() => expect(calls.filter((c) => c.url.includes('/eventstream')).length).toBeGreaterThanOrEqual(2));
    const streamsAfterRetry = calls.filter((c) => c.url.includes('/eventstream')).slice(1);
    expect(streamsAfterRetry[0].url).toBe('/api/scaffolder/v2/tasks/task-1/eventstream');
    expect(await screen.findByRole('button', { name: 'Cancel' })).toBeTruthy();
  });

  it('shows the server message and request id when the task cannot be read', async () => {
    stubFetch({
      'GET /api/scaffolder/v2/tasks/nope': () => json({ error: { name: 'NotFoundError', message: 'no task with id "nope"' } }, 404, { 'X-Request-Id': 'rid-1' }),
      'GET /api/scaffolder/v2/tasks/nope/eventstream': () => json({ error: { name: 'NotFoundError', message: 'no task with id "nope"' } }, 404),
    });
    renderAt('/tasks/nope');
    const alert = await screen.findByText('Could not load this task');
    expect(alert.closest('[role=alert]')?.textContent).toContain('no task with id "nope"');
    expect(alert.closest('[role=alert]')?.textContent).toContain('rid-1');
  });

  it('without a Temporal UI link, shows the workflow id with a copy button', async () => {
    const writeText = vi.fn(async () => undefined);
    vi.stubGlobal('navigator', { ...navigator, clipboard: { writeText } });
    stubFetch({
      'GET /api/scaffolder/v2/tasks/task-1': () => json({ ...base, temporalUrl: '' }),
      'GET /api/scaffolder/v2/tasks/task-1/eventstream': () => sseStream().response,
      'GET /api/catalog/entities/by-name/*': () => json({}, 404),
    });
    renderAt('/tasks/task-1');
    await userEvent.click(await screen.findByRole('button', { name: 'Copy' }));
    expect(writeText).toHaveBeenCalledWith('task-1');
    expect(screen.queryByRole('link', { name: 'Open in Temporal UI' })).toBeNull();
    expect(await screen.findByRole('button', { name: 'Copied' })).toBeTruthy();
  });

  it('a step waiting for approval: Approve posts the comment; a viewer who may not decide sees why', async () => {
    const waiting: Task = {
      ...base,
      steps: [{ id: 'ok', name: 'Approve the plan', action: 'rigger:approval', status: 'processing', startedAt: '2026-12-04T10:00:02Z' }],
      approval: { stepId: 'ok', requestId: 'ok.0.1', message: 'Plan: 1 to add, 0 to change', requestedAt: '2026-12-04T10:00:02Z', deadline: '2026-12-06T10:00:02Z', canDecide: true },
    };
    let task = waiting;
    const { calls } = stubFetch({
      'GET /api/scaffolder/v2/tasks/task-1': () => json(task),
      'GET /api/scaffolder/v2/tasks/task-1/eventstream': () => sseStream().response,
      'POST /api/scaffolder/v2/tasks/task-1/approve': () => { task = { ...waiting, approval: undefined }; return json({ status: 'approved', stepId: 'ok' }); },
      'GET /api/catalog/entities/by-name/*': () => json({}, 404),
    });
    const { unmount } = renderAt('/tasks/task-1');
    const panel = await screen.findByRole('region', { name: 'Waiting for approval: Approve the plan' });
    expect(screen.getByRole('button', { name: /Approve the plan/ }).textContent).toContain('Waiting for approval');
    expect(within(panel).getByLabelText('What is asked').textContent).toBe('Plan: 1 to add, 0 to change');
    await userEvent.type(within(panel).getByLabelText('Comment (optional)'), 'ship it');
    await userEvent.click(within(panel).getByRole('button', { name: 'Approve' }));
    await waitFor(() => expect(calls.filter((c) => c.method === 'POST').map((c) => [c.url, c.body])).toEqual([['/api/scaffolder/v2/tasks/task-1/approve', '{"requestId":"ok.0.1","comment":"ship it"}']]));
    await waitFor(() => expect(screen.queryByRole('region', { name: /Waiting for approval/ })).toBeNull());
    unmount();

    task = { ...waiting, approval: { ...waiting.approval!, canDecide: false } };
    renderAt('/tasks/task-1');
    const other = await screen.findByRole('region', { name: /Waiting for approval/ });
    expect(within(other).queryByRole('button', { name: 'Approve' })).toBeNull();
    expect(within(other).getByRole('note').textContent).toMatch(/never the person who started the task/);
  });
});

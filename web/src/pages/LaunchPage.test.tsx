import { beforeEach, describe, expect, it, vi } from 'vitest';
import { render, screen, waitFor } from '@testing-library/react';
import userEvent from '@testing-library/user-event';
import { MemoryRouter, Route, Routes } from 'react-router-dom';
import LaunchPage from './LaunchPage';

const SCHEMA = {
  title: 'Go service',
  description: 'A Go HTTP service.',
  steps: [
    {
      title: 'Service',
      schema: {
        required: ['name'],
        properties: {
          name: { title: 'Name', type: 'string' },
          token: { title: 'Token', type: 'string', 'ui:field': 'Secret' },
        },
      },
    },
  ],
};

interface Seen { method: string; path: string; body?: unknown }
let seen: Seen[] = [];

function stub(taskAnswer: () => Response, previous?: unknown) {
  seen = [];
  vi.stubGlobal('fetch', vi.fn(async (input: string, init?: RequestInit) => {
    const path = new URL(input, 'http://ui.test').pathname;
    seen.push({ method: init?.method ?? 'GET', path, body: init?.body ? JSON.parse(String(init.body)) : undefined });
    if (path.endsWith('/parameter-schema')) return new Response(JSON.stringify(SCHEMA), { status: 200 });
    if (path === '/api/scaffolder/v2/tasks' && init?.method === 'POST') return taskAnswer();
    if (path.startsWith('/api/scaffolder/v2/tasks/') && previous) return new Response(JSON.stringify(previous), { status: 200 });
    return new Response(JSON.stringify({ error: { name: 'NotFoundError', message: 'nothing here' } }), { status: 404 });
  }));
}

function renderAt(url: string) {
  return render(
    <MemoryRouter initialEntries={[url]}>
      <Routes>
        <Route path="/create/templates/:namespace/:name" element={<LaunchPage />} />
        <Route path="/tasks/:id" element={<p>task page</p>} />
      </Routes>
    </MemoryRouter>,
  );
}

beforeEach(() => localStorage.clear());

describe('LaunchPage', () => {
  it('posts the template ref, values and secrets, then opens the task', async () => {
    stub(() => new Response(JSON.stringify({ id: 't-1' }), { status: 201 }));
    renderAt('/create/templates/default/go-service');
    expect(await screen.findByRole('heading', { name: 'Go service' })).toBeTruthy();
    await userEvent.type(screen.getByLabelText(/^Name/), 'svc');
    await userEvent.type(screen.getByLabelText('Token'), 'tok');
    await userEvent.click(screen.getByRole('button', { name: 'Next' }));
    await userEvent.click(await screen.findByRole('button', { name: 'Create' }));
    expect(await screen.findByText('task page')).toBeTruthy();
    const post = seen.find((s) => s.method === 'POST')!;
    expect(post.path).toBe('/api/scaffolder/v2/tasks');
    expect(post.body).toEqual({ templateRef: 'template:default/go-service', values: { name: 'svc' }, secrets: { token: 'tok' } });
    expect(seen[0].path).toBe('/api/scaffolder/v2/templates/default/template/go-service/parameter-schema');
    expect(localStorage.getItem('rigger.draft.template:default/go-service')).toBeNull();
  });

  it('shows a 400 readably, with the request id, and keeps the values', async () => {
    stub(() => new Response(JSON.stringify({ error: { name: 'InputError', message: 'invalid parameters: parameters.owner: required; parameters.port: must be integer' } }), { status: 400, headers: { 'X-Request-Id': 'req-42' } }));
    renderAt('/create/templates/default/go-service');
    await userEvent.type(await screen.findByLabelText(/^Name/), 'svc');
    await userEvent.click(screen.getByRole('button', { name: 'Next' }));
    await userEvent.click(await screen.findByRole('button', { name: 'Create' }));
    expect(await screen.findByText('The task was not started')).toBeTruthy();
    expect(screen.getByText('req-42')).toBeTruthy();
    const list = screen.getByRole('list', { name: 'Problems the server found' });
    expect(list.textContent).toContain('parameters.owner: required');
    expect(list.textContent).toContain('parameters.port: must be integer');
    // Still on the review, values intact.
    expect(screen.getByRole('definition').textContent).toBe('svc');
  });

  it('Start over fills the form with the earlier task values, never its secrets', async () => {
    stub(() => new Response('{}', { status: 500 }), { id: 'old', spec: { parameters: { name: 'again', token: 'leaked' } } });
    renderAt('/create/templates/default/go-service?from=old');
    const name = (await screen.findByLabelText(/^Name/)) as HTMLInputElement;
    expect(name.value).toBe('again');
    expect((screen.getByLabelText('Token') as HTMLInputElement).value).toBe('');
    expect(screen.getByText(/Starting over with the values of task/)).toBeTruthy();
    await waitFor(() => expect(seen.some((s) => s.path === '/api/scaffolder/v2/tasks/old')).toBe(true));
  });

  it('says so when the earlier task has no values to offer', async () => {
    stub(() => new Response('{}', { status: 500 }), { id: 'old', spec: { templateInfo: { entityRef: 'template:default/go-service' } } });
    renderAt('/create/templates/default/go-service?from=old');
    expect(await screen.findByText(/values are not available from the server/)).toBeTruthy();
    expect(((await screen.findByLabelText(/^Name/)) as HTMLInputElement).value).toBe('');
  });

  it('shows the server error when the template cannot be loaded', async () => {
    vi.stubGlobal('fetch', vi.fn(async () => new Response(JSON.stringify({ error: { name: 'NotFoundError', message: 'template:default/nope not found' } }), { status: 404, headers: { 'X-Request-Id': 'r-9' } })));
    renderAt('/create/templates/default/nope');
    expect(await screen.findByText('Could not load this template')).toBeTruthy();
    expect(screen.getByText(/template:default\/nope not found/)).toBeTruthy();
    expect(screen.getByText('r-9')).toBeTruthy();
  });
});

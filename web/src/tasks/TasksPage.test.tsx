import { render, screen, waitFor } from '@testing-library/react';
import userEvent from '@testing-library/user-event';
import { MemoryRouter, Route, Routes, useLocation } from 'react-router-dom';
import { TasksPage, tasksQuery } from '../pages/TasksPage';
import { SessionProvider } from '../session';
import { json, stubFetch } from './testutil';

afterEach(() => { vi.unstubAllGlobals(); });

function Where() {
  const l = useLocation();
  return <output data-testid="where">{l.pathname + l.search}</output>;
}

describe('tasksQuery', () => {
  it('maps the URL filters to the list API query', () => {
    const q = (s: string) => Object.fromEntries(new URLSearchParams(tasksQuery(new URLSearchParams(s), 'user:default/me')));
    expect(q('')).toEqual({ createdBy: 'user:default/me', limit: '25', offset: '0', order: 'desc:created_at' });
    expect(q('scope=all&status=failed&template=template:default/t&page=3&sort=asc:template')).toEqual({
      status: 'failed', template: 'template:default/t', limit: '25', offset: '50', order: 'asc:template',
    });
    expect(q('sort=sideways:x').order).toBe('desc:created_at');
  });
});

describe('TasksPage', () => {
  it('turns the filters into query parameters and keeps them in the URL', async () => {
    const tasks = Array.from({ length: 25 }, (_, i) => ({
      id: `t-${i}`, status: i === 0 ? 'failed' : 'completed', createdAt: '2026-12-04T10:00:00Z', endedAt: '2026-12-04T10:00:03Z',
      createdBy: 'user:default/me', spec: { templateInfo: { entityRef: 'template:default/go-service' } },
    }));
    const { calls } = stubFetch({
      'POST /api/auth/refresh': () => json({}, 401),
      'GET /api/auth/whoami': () => json({ ref: 'user:default/me' }),
      'GET /api/catalog/entities/by-query': () => json({ items: [{ kind: 'Template', metadata: { name: 'go-service', namespace: 'default', title: 'Go service' } }], totalItems: 1, pageInfo: {} }),
      'GET /api/scaffolder/v2/tasks': (u) => (u.searchParams.get('createdBy') || u.searchParams.get('status')
        ? json({ tasks, totalTasks: 60 })
        : json({ error: { name: 'NotAllowedError', message: 'you may list only your own tasks' } }, 403, { 'X-Request-Id': 'rq-7' })),
    });
    render(
      <SessionProvider>
        <MemoryRouter initialEntries={['/tasks']}>
          <Routes><Route path="/tasks" element={<><TasksPage /><Where /></>} /></Routes>
        </MemoryRouter>
      </SessionProvider>,
    );
    expect((await screen.findAllByText('3.0 s')).length).toBe(25);
    const listCalls = () => calls.filter((c) => c.url.startsWith('/api/scaffolder/v2/tasks')).map((c) => new URL(c.url, 'http://x').searchParams);
    expect(listCalls().at(-1)!.get('createdBy')).toBe('user:default/me');
    expect(screen.getByText('Page 1 of 3')).toBeTruthy();

    await screen.findByRole('option', { name: 'Go service' });
    await userEvent.selectOptions(screen.getByLabelText('Template'), 'template:default/go-service');
    await userEvent.selectOptions(screen.getByLabelText('Status'), 'failed');
    await waitFor(() => expect(listCalls().at(-1)!.get('status')).toBe('failed'));
    expect(listCalls().at(-1)!.get('template')).toBe('template:default/go-service');
    await userEvent.click(screen.getByRole('button', { name: 'Next' }));
    await waitFor(() => expect(listCalls().at(-1)!.get('offset')).toBe('25'));
    await userEvent.click(screen.getByRole('button', { name: 'Status' }));
    await waitFor(() => expect(listCalls().at(-1)!.get('order')).toBe('asc:status'));
    expect(screen.getByRole('columnheader', { name: /Status/ }).getAttribute('aria-sort')).toBe('ascending');
    const where = screen.getByTestId('where').textContent!;
    expect(where).toContain('status=failed');
    expect(where).toContain('sort=asc%3Astatus');

    // All, refused by the server: its message and request id.
    await userEvent.selectOptions(screen.getByLabelText('Status'), '');
    await userEvent.click(screen.getByRole('button', { name: 'All' }));
    const alert = await screen.findByRole('alert');
    expect(alert.textContent).toContain('you may list only your own tasks');
    expect(alert.textContent).toContain('rq-7');
  });
});

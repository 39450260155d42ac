import { describe, expect, it, vi, beforeEach } from 'vitest';
import { render, screen, waitFor, within } from '@testing-library/react';
import userEvent from '@testing-library/user-event';
import { TemplateForm, type ParameterStep } from './TemplateForm';

beforeEach(() => {
  localStorage.clear();
  vi.unstubAllGlobals();
  // Pickers may ask the catalog; answer with nothing.
  vi.stubGlobal('fetch', vi.fn(async () => new Response(JSON.stringify({ items: [], totalItems: 0, pageInfo: {} }), { status: 200 })));
});

const next = () => userEvent.click(screen.getByRole('button', { name: 'Next' }));

function stepperTitles() {
  const nav = screen.getByRole('navigation', { name: 'Form steps' });
  return within(nav).getAllByRole('listitem').map((li) => li.textContent?.replace(/^\d+/, ''));
}

describe('TemplateForm', () => {
  it('keeps secrets out of values and out of drafts', async () => {
    const steps: ParameterStep[] = [
      {
        title: 'Service',
        schema: {
          type: 'object',
          required: ['name', 'token'],
          properties: {
            name: { type: 'string', title: 'Name' },
            token: { type: 'string', title: 'Token', 'ui:field': 'Secret' } as never,
            password: { type: 'string', title: 'Password', 'ui:widget': 'password' } as never,
          },
        },
      },
    ];
    const onSubmit = vi.fn();
    render(<TemplateForm steps={steps} onSubmit={onSubmit} draftKey="d1" />);
    await userEvent.type(screen.getByLabelText(/^Name/), 'svc');
    await userEvent.type(screen.getByLabelText(/^Token/), 's3cret');
    await userEvent.type(screen.getByLabelText(/^Password/), 'hunter2');
    await waitFor(() => expect(localStorage.getItem('d1')).toContain('svc'));
    expect(localStorage.getItem('d1')).not.toContain('s3cret');
    expect(localStorage.getItem('d1')).not.toContain('hunter2');
    await next();
    // Review shows the masked secrets.
    expect(await screen.findByRole('heading', { name: 'Review' })).toBeTruthy();
    const review = screen.getByText('Token').closest('div')!;
    expect(review.textContent).toContain('******');
    expect(document.body.textContent).not.toContain('s3cret');
    await userEvent.click(screen.getByRole('button', { name: 'Create' }));
    await waitFor(() => expect(onSubmit).toHaveBeenCalledTimes(1));
    const [values, secrets] = onSubmit.mock.calls[0];
    expect(values).toEqual({ name: 'svc' });
    expect(secrets).toEqual({ token: 's3cret', password: 'hunter2' });
    // A successful submit clears the draft.
    expect(localStorage.getItem('d1')).toBeNull();
  });

  it('shows fields in the ui:order the server wrote from the YAML, other fields after', async () => {
    const steps: ParameterStep[] = [
      { title: 'P', schema: { 'ui:order': ['zeta', 'alpha', '*'], properties: { alpha: { type: 'string', title: 'Alpha' }, extra: { type: 'string', title: 'Extra' }, zeta: { type: 'string', title: 'Zeta' } } } as never },
    ];
    render(<TemplateForm steps={steps} onSubmit={vi.fn()} />);
    const labels = (await screen.findAllByRole('textbox')).map((el) => (el as HTMLInputElement).labels?.[0]?.textContent?.replace('*', '').trim());
    expect(labels).toEqual(['Zeta', 'Alpha', 'Extra']);
  });

  it('asks for no list of secrets: a notice stands in its place and submits nothing of it', async () => {
    const steps: ParameterStep[] = [
      { title: 'P', schema: { properties: { name: { type: 'string', title: 'Name' }, keys: { type: 'array', title: 'Deploy keys', items: { type: 'string', 'ui:field': 'Secret' } } } } as never },
    ];
    const onSubmit = vi.fn();
    render(<TemplateForm steps={steps} onSubmit={onSubmit} />);
    expect((await screen.findByRole('note')).textContent).toMatch(/keeps only as single fields/);
    expect(screen.getByText('Deploy keys')).toBeTruthy();
    await userEvent.type(screen.getByLabelText(/^Name/), 'svc');
    await next();
    await userEvent.click(await screen.findByRole('button', { name: 'Create' }));
    await waitFor(() => expect(onSubmit).toHaveBeenCalledTimes(1));
    const [values, secrets] = onSubmit.mock.calls[0];
    expect(values.name).toBe('svc');
    expect(values.keys ?? []).toEqual([]); // rjsf's empty default, never an item
    expect(secrets).toEqual({});
  });

  it('skips a page whose condition does not hold and drops its values', async () => {
    const steps: ParameterStep[] = [
      { title: 'Basics', schema: { type: 'object', properties: { ci: { type: 'boolean', title: 'Set up CI' }, name: { type: 'string', title: 'Name' } } } },
      { title: 'CI', if: '${{ parameters.ci }}', schema: { type: 'object', required: ['runner'], properties: { runner: { type: 'string', title: 'Runner' } } } },
      { title: 'Docs', if: "${{ parameters.name == 'docs' }}", schema: { type: 'object', properties: { site: { type: 'string', title: 'Site', default: 'x' } } } },
    ];
    const onSubmit = vi.fn();
    render(<TemplateForm steps={steps} onSubmit={onSubmit} initialValues={{ runner: 'left-over', site: 'stale' }} />);
    expect(stepperTitles()).toEqual(['Basics', 'Review']);
    await userEvent.click(screen.getByLabelText('Set up CI'));
    expect(stepperTitles()).toEqual(['Basics', 'CI', 'Review']);
    await userEvent.click(screen.getByLabelText('Set up CI'));
    expect(stepperTitles()).toEqual(['Basics', 'Review']);
    await userEvent.type(screen.getByLabelText('Name'), 'web');
    await next();
    expect(await screen.findByRole('heading', { name: 'Review' })).toBeTruthy();
    await userEvent.click(screen.getByRole('button', { name: 'Create' }));
    await waitFor(() => expect(onSubmit).toHaveBeenCalled());
    expect(onSubmit.mock.calls[0][0]).toEqual({ ci: false, name: 'web' });
  });

  it('validates a shown conditional page before moving on', async () => {
    const steps: ParameterStep[] = [
      { title: 'Basics', schema: { type: 'object', properties: { ci: { type: 'boolean', title: 'Set up CI' } } } },
      { title: 'CI', if: '${{ parameters.ci }}', schema: { type: 'object', required: ['runner'], properties: { runner: { type: 'string', title: 'Runner' } } } },
    ];
    const onSubmit = vi.fn();
    render(<TemplateForm steps={steps} onSubmit={onSubmit} />);
    await userEvent.click(screen.getByLabelText('Set up CI'));
    await next();
    expect(await screen.findByRole('heading', { name: 'CI' })).toBeTruthy();
    expect(screen.getByRole('navigation', { name: 'Form steps' }).querySelector('[aria-current="step"]')?.textContent).toContain('CI');
    await next();
    // Still on CI, with an inline error.
    expect(screen.getByRole('heading', { name: 'CI' })).toBeTruthy();
    expect(await screen.findByText(/is required/)).toBeTruthy();
    await userEvent.type(screen.getByLabelText(/Runner/), 'linux');
    await next();
    expect(await screen.findByRole('heading', { name: 'Review' })).toBeTruthy();
    await userEvent.click(screen.getByRole('button', { name: 'Create' }));
    await waitFor(() => expect(onSubmit).toHaveBeenCalled());
    expect(onSubmit.mock.calls[0][0]).toEqual({ ci: true, runner: 'linux' });
  });

  it('restores a draft with a notice, and Discard clears it', async () => {
    const steps: ParameterStep[] = [{ title: 'One', schema: { type: 'object', properties: { name: { type: 'string', title: 'Name' }, token: { type: 'string', title: 'Token', 'ui:field': 'Secret' } as never } } }];
    localStorage.setItem('d2', JSON.stringify({ savedAt: '2026-01-02T03:04:05Z', values: { name: 'from-draft', token: 'smuggled' } }));
    render(<TemplateForm steps={steps} onSubmit={vi.fn()} draftKey="d2" />);
    expect(screen.getByRole('status').textContent).toMatch(/Restored your draft from/);
    expect((screen.getByLabelText('Name') as HTMLInputElement).value).toBe('from-draft');
    // Even a draft that somehow holds a secret does not bring it back.
    expect((screen.getByLabelText(/^Token/) as HTMLInputElement).value).toBe('');
    await userEvent.click(screen.getByRole('button', { name: 'Discard' }));
    expect(localStorage.getItem('d2')).toBeNull();
    expect(screen.queryByText(/Restored your draft/)).toBeNull();
    expect((screen.getByLabelText('Name') as HTMLInputElement).value).toBe('');
  });

  it('keeps the last keystrokes when the page is left within the debounce', async () => {
    const steps: ParameterStep[] = [{ title: 'One', schema: { type: 'object', properties: { name: { type: 'string', title: 'Name' } } } }];
    const { unmount } = render(<TemplateForm steps={steps} onSubmit={vi.fn()} draftKey="d3" />);
    await userEvent.type(screen.getByLabelText('Name'), 'quick');
    unmount();
    expect(JSON.parse(localStorage.getItem('d3')!).values).toEqual({ name: 'quick' });
  });

  it('does not restore a draft without a draftKey, nor secrets from initial values', async () => {
    const steps: ParameterStep[] = [{ title: 'One', schema: { type: 'object', properties: { name: { type: 'string', title: 'Name' }, pw: { type: 'string', title: 'Pw', 'ui:widget': 'password' } as never } } }];
    render(<TemplateForm steps={steps} onSubmit={vi.fn()} initialValues={{ name: 'again', pw: 'old-secret' }} />);
    expect((screen.getByLabelText('Name') as HTMLInputElement).value).toBe('again');
    expect((screen.getByLabelText('Pw') as HTMLInputElement).value).toBe('');
  });

  it('shows a placeholder for an unknown ui:field and still accepts text', async () => {
    const steps: ParameterStep[] = [{ title: 'One', schema: { type: 'object', required: ['thing'], properties: { thing: { type: 'string', title: 'Thing', 'ui:field': 'AcmeMagicPicker' } as never } } }];
    const onSubmit = vi.fn();
    render(<TemplateForm steps={steps} onSubmit={onSubmit} />);
    expect(screen.getByText(/This field needs the extension/).textContent).toContain('AcmeMagicPicker');
    expect(screen.getByText(/which Rigger does not have/)).toBeTruthy();
    await userEvent.type(screen.getByLabelText(/Thing/), 'typed');
    await next();
    await userEvent.click(await screen.findByRole('button', { name: 'Create' }));
    await waitFor(() => expect(onSubmit).toHaveBeenCalled());
    expect(onSubmit.mock.calls[0][0]).toEqual({ thing: 'typed' });
  });

  it('review honours mask, show: false and ui:order', async () => {
    const steps: ParameterStep[] = [
      {
        title: 'One',
        schema: {
          type: 'object',
          'ui:order': ['b', '*'],
          properties: {
            a: { type: 'string', title: 'Alpha', default: 'plain' },
            b: { type: 'string', title: 'Bravo', default: 'masked-value', 'ui:backstage': { review: { mask: '<hidden>' } } },
            c: { type: 'string', title: 'Charlie', default: 'invisible', 'ui:backstage': { review: { show: false } } },
          },
        } as never,
      },
    ];
    render(<TemplateForm steps={steps} onSubmit={vi.fn()} />);
    await next();
    await screen.findByRole('heading', { name: 'Review' });
    const terms = screen.getAllByRole('term').map((t) => t.textContent);
    expect(terms).toEqual(['Bravo', 'Alpha']);
    const defs = screen.getAllByRole('definition').map((t) => t.textContent);
    expect(defs).toEqual(['<hidden>', 'plain']);
    expect(document.body.textContent).not.toContain('masked-value');
    expect(document.body.textContent).not.toContain('invisible');
  });

  it('keeps rjsf features: ui:widget, dependencies, arrays', async () => {
    const steps: ParameterStep[] = [
      {
        title: 'One',
        schema: {
          type: 'object',
          properties: {
            kind: { type: 'string', title: 'Kind', enum: ['lib', 'svc'], default: 'lib' },
            notes: { type: 'string', title: 'Notes', 'ui:widget': 'textarea' },
            items: { type: 'array', title: 'Items', items: { type: 'string' } },
          },
          dependencies: { kind: { oneOf: [{ properties: { kind: { const: 'lib' } } }, { properties: { kind: { const: 'svc' }, port: { type: 'integer', title: 'Port' } } }] } },
        } as never,
      },
    ];
    const onSubmit = vi.fn();
    render(<TemplateForm steps={steps} onSubmit={onSubmit} />);
    expect(screen.getByLabelText('Notes').tagName).toBe('TEXTAREA');
    expect(screen.queryByLabelText('Port')).toBeNull();
    await userEvent.selectOptions(screen.getByLabelText('Kind'), 'svc');
    await userEvent.type(await screen.findByLabelText('Port'), '8080');
    await userEvent.click(screen.getByRole('button', { name: /add/i }));
    const arrayInputs = document.querySelectorAll<HTMLInputElement>('input[id^="root_items_"]');
    await userEvent.type(arrayInputs[0], 'first');
    await next();
    await userEvent.click(await screen.findByRole('button', { name: 'Create' }));
    await waitFor(() => expect(onSubmit).toHaveBeenCalled());
    expect(onSubmit.mock.calls[0][0]).toEqual({ kind: 'svc', port: 8080, items: ['first'] });
    // Switching the dependency back drops the branch's value.
    await userEvent.click(screen.getByRole('button', { name: 'Back' }));
    await userEvent.selectOptions(await screen.findByLabelText('Kind'), 'lib');
    expect(screen.queryByLabelText('Port')).toBeNull();
    await next();
    await userEvent.click(await screen.findByRole('button', { name: 'Create' }));
    await waitFor(() => expect(onSubmit).toHaveBeenCalledTimes(2));
    expect(onSubmit.mock.calls[1][0]).toEqual({ kind: 'lib', items: ['first'] });
  });

  it('rejects a bad entity name inline on Next', async () => {
    const steps: ParameterStep[] = [{ title: 'One', schema: { type: 'object', properties: { name: { type: 'string', title: 'Name', 'ui:field': 'EntityNamePicker' } as never } } }];
    render(<TemplateForm steps={steps} onSubmit={vi.fn()} />);
    await userEvent.type(screen.getByLabelText(/^Name/), 'Bad Name');
    expect(screen.getAllByText(/must be lower-case letters/).length).toBeGreaterThan(0);
    await next();
    expect(screen.queryByRole('heading', { name: 'Review' })).toBeNull();
  });

  it('a page rjsf cannot render shows an error, not a blank page', async () => {
    const err = vi.spyOn(console, 'error').mockImplementation(() => {});
    const steps: ParameterStep[] = [{ title: 'Broken', schema: { type: 'object', properties: { a: { $ref: '#/definitions/missing' } } } as never }];
    render(<TemplateForm steps={steps} onSubmit={vi.fn()} />);
    expect(screen.getByRole('alert').textContent).toMatch(/cannot be shown/);
    expect(screen.getByRole('heading', { name: 'Broken' })).toBeTruthy();
    err.mockRestore();
  });

  it('ui:autofocus on a later page keeps the focus', async () => {
    const steps: ParameterStep[] = [
      { title: 'One', schema: { type: 'object', properties: { a: { type: 'string', title: 'A' } } } },
      { title: 'Two', schema: { type: 'object', properties: { b: { type: 'string', title: 'B' }, c: { type: 'string', title: 'C', 'ui:autofocus': true } as never } } },
      { title: 'Three', schema: { type: 'object', properties: { d: { type: 'string', title: 'D' } } } },
    ];
    render(<TemplateForm steps={steps} onSubmit={vi.fn()} />);
    await next();
    await screen.findByRole('heading', { name: 'Two' });
    expect(document.activeElement).toBe(screen.getByLabelText('C'));
    await next();
    await screen.findByRole('heading', { name: 'Three' });
    expect(document.activeElement).toBe(screen.getByRole('heading', { name: 'Three' }));
  });

  it('keeps a secret inside an object out of values, drafts and the review', async () => {
    const steps: ParameterStep[] = [{
      title: 'Db',
      schema: { type: 'object', properties: { db: { type: 'object', title: 'Database', properties: { host: { type: 'string', title: 'Host' }, password: { type: 'string', title: 'Password', 'ui:field': 'Secret' } } } } } as never,
    }];
    const onSubmit = vi.fn();
    render(<TemplateForm steps={steps} onSubmit={onSubmit} draftKey="d4" />);
    await userEvent.type(screen.getByLabelText('Host'), 'db.local');
    await userEvent.type(screen.getByLabelText('Password'), 'pw-123');
    await waitFor(() => expect(localStorage.getItem('d4')).toContain('db.local'));
    expect(localStorage.getItem('d4')).not.toContain('pw-123');
    await next();
    await screen.findByRole('heading', { name: 'Review' });
    expect(document.body.textContent).not.toContain('pw-123');
    expect(screen.getByRole('definition').textContent).toContain('******');
    await userEvent.click(screen.getByRole('button', { name: 'Create' }));
    await waitFor(() => expect(onSubmit).toHaveBeenCalled());
    expect(onSubmit.mock.calls[0][0]).toEqual({ db: { host: 'db.local' } });
    expect(onSubmit.mock.calls[0][1]).toEqual({ password: 'pw-123' });
  });
});

import { describe, expect, it } from 'vitest';
import { render, screen } from '@testing-library/react';
import { WaitPanel } from './Wait';

describe('WaitPanel', () => {
  it('says what the step waits for and gives the callback URL', () => {
    render(<WaitPanel stepName="Wait for the ticket system" wait={{
      requestId: 'called.0.1', for: 'callback', what: 'a call to its callback URL', message: 'The ticket system calls back.',
      requestedAt: '2026-12-04T10:00:00Z', deadline: '2026-12-18T10:00:00Z', callbackPath: '/api/scaffolder/v2/callbacks/abc.def',
    }} />);
    expect(screen.getByRole('heading', { name: 'Waiting: Wait for the ticket system' })).toBeTruthy();
    expect(screen.getByText('Waiting for a call to its callback URL.')).toBeTruthy();
    const input = screen.getByLabelText(/Callback URL/) as HTMLInputElement;
    expect(input.value).toBe(`${window.location.origin}/api/scaffolder/v2/callbacks/abc.def`);
    expect(input.readOnly).toBe(true);
    expect(screen.getByRole('button', { name: 'Copy' })).toBeTruthy();
  });

  it('shows no URL for a pull request wait', () => {
    render(<WaitPanel stepName="Merged" wait={{
      requestId: 'm.0.1', for: 'pull-request', what: 'pull request #12 of github.com/acme/payments to be merged',
      requestedAt: '2026-12-04T10:00:00Z', deadline: '2026-12-18T10:00:00Z',
    }} />);
    expect(screen.getByText('Waiting for pull request #12 of github.com/acme/payments to be merged.')).toBeTruthy();
    expect(screen.queryByLabelText(/Callback URL/)).toBeNull();
  });
});

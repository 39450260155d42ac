import { act, fireEvent, render, screen } from '@testing-library/react';
import { LOG_WINDOW, LogView } from '../pages/TaskPage';
import type { TaskEvent } from './sse';

const ev = (id: number, stepId = 's'): TaskEvent => ({ id, type: 'log', createdAt: '2026-12-04T10:00:00Z', body: { message: `line ${id}`, stepId } });

/** jsdom has no layout: the box reports a height of 100 and content of 20 px a line. */
function layout(box: HTMLElement) {
  Object.defineProperty(box, 'clientHeight', { configurable: true, get: () => 100 });
  Object.defineProperty(box, 'scrollHeight', { configurable: true, get: () => box.querySelectorAll('.logline').length * 20 });
}

describe('LogView', () => {
  it('follows new lines, pauses when the reader scrolls up, and resumes on request', () => {
    const events = Array.from({ length: 10 }, (_, i) => ev(i + 1));
    const { rerender } = render(<LogView events={events} stepId="" />);
    const box = screen.getByRole('log');
    layout(box);
    rerender(<LogView events={[...events, ev(11)]} stepId="" />);
    expect(box.scrollTop).toBe(220); // the bottom: 11 lines × 20

    // The reader scrolls up: new lines do not move the view.
    act(() => { box.scrollTop = 40; fireEvent.scroll(box); });
    rerender(<LogView events={[...events, ev(11), ev(12)]} stepId="" />);
    expect(box.scrollTop).toBe(40);
    const jump = screen.getByRole('button', { name: 'Jump to the latest line' });

    fireEvent.click(jump);
    expect(box.scrollTop).toBe(240);
    expect(screen.queryByRole('button', { name: 'Jump to the latest line' })).toBeNull();
  });

  it('shows only the chosen step and says when there is nothing yet', () => {
    render(<LogView events={[ev(1, 'a'), ev(2, 'b')]} stepId="b" />);
    expect(screen.getByRole('log').textContent).toContain('line 2');
    expect(screen.getByRole('log').textContent).not.toContain('line 1');
    render(<LogView events={[]} stepId="" />);
    expect(screen.getByText('No log lines yet.')).toBeTruthy();
  });

  it('keeps only the newest lines in the page and shows earlier ones on request', () => {
    const events = Array.from({ length: LOG_WINDOW + 5 }, (_, i) => ev(i + 1));
    render(<LogView events={events} stepId="" />);
    const box = screen.getByRole('log');
    expect(box.querySelectorAll('.logline').length).toBe(LOG_WINDOW);
    expect(box.querySelector('.logline')?.getAttribute('data-event-id')).toBe('6');
    fireEvent.click(screen.getByRole('button', { name: 'Show 5 earlier lines (5 not shown)' }));
    expect(box.querySelectorAll('.logline').length).toBe(LOG_WINDOW + 5);
  });
});

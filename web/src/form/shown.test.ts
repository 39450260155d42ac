import { describe, expect, it } from 'vitest';
import { shownPages } from './TemplateForm';
import { conditionHolds } from './condition';

describe('page conditions agree with the server', () => {
  it('treats an empty array as true (JavaScript truthiness, like templates.ShownPages)', () => {
    expect(conditionHolds('${{ parameters.list }}', { list: [] })).toBe(true);
  });
  it('decides pages in order, without the values of pages already hidden', () => {
    const pages = [
      { name: 'a', cond: undefined, keys: ['wantDb'] },
      { name: 'db', cond: '${{ parameters.wantDb }}', keys: ['engine'] },
      { name: 'tune', cond: "${{ parameters.engine == 'postgres' }}", keys: ['pool'] },
    ];
    // engine is a stale value of the hidden Database page: the tuning page must not show.
    expect(shownPages(pages, { wantDb: false, engine: 'postgres' }).map((p) => p.name)).toEqual(['a']);
    expect(shownPages(pages, { wantDb: true, engine: 'postgres' }).map((p) => p.name)).toEqual(['a', 'db', 'tune']);
  });
});

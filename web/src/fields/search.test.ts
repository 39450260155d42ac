import { describe, expect, it } from 'vitest';
import { queryUrl, SEARCH_FIELDS } from './search';

describe('queryUrl', () => {
  it('matches typed text against what an option shows, and asks for one page', () => {
    const u = new URL(queryUrl(['kind=component'], ' check '), 'http://x');
    expect(u.searchParams.get('fullTextFilterTerm')).toBe('check');
    expect(u.searchParams.get('fullTextFilterFields')).toBe(SEARCH_FIELDS);
    expect(SEARCH_FIELDS.split(',')).toEqual(['metadata.name', 'metadata.title', 'spec.profile.displayName']);
    expect(u.searchParams.get('limit')).toBe('20');
    const none = new URL(queryUrl(['kind=component'], ''), 'http://x');
    expect(none.searchParams.has('fullTextFilterTerm') || none.searchParams.has('fullTextFilterFields')).toBe(false);
  });
});

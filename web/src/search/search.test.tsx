import { render } from '@testing-library/react';
import { describe, expect, test } from 'vitest';
import { Highlighted, highlightParts } from './Highlighted';
import { pageSearch, pageStateQuery, readPageState, resultCount, resultRoute, searchQueryString } from './query';

const pre = '<rigger-hl-ab12>';
const post = '</rigger-hl-ab12>';

describe('highlights', () => {
  test('markers become <mark>', () => {
    expect(highlightParts(`the ${pre}checkout${post} service`, pre, post)).toEqual([
      { text: 'the ', hit: false }, { text: 'checkout', hit: true }, { text: ' service', hit: false },
    ]);
    const { container } = render(<p><Highlighted value={`${pre}a${post} and ${pre}b${post}`} preTag={pre} postTag={post} /></p>);
    expect(Array.from(container.querySelectorAll('mark')).map((m) => m.textContent)).toEqual(['a', 'b']);
  });
  test("a result's own HTML stays text", () => {
    const { container } = render(
      <p><Highlighted value={`<img src=x onerror="alert(1)"> ${pre}<b>x</b>${post} <mark>fake</mark>`} preTag={pre} postTag={post} /></p>,
    );
    expect(container.querySelector('img')).toBeNull();
    expect(container.querySelector('b')).toBeNull();
    expect(container.querySelectorAll('mark')).toHaveLength(1);
    expect(container.querySelector('mark')?.textContent).toBe('<b>x</b>');
    expect(container.textContent).toBe('<img src=x onerror="alert(1)"> <b>x</b> <mark>fake</mark>');
  });
  test('no tags, or an unclosed marker: plain text', () => {
    expect(highlightParts('plain', '', '')).toEqual([{ text: 'plain', hit: false }]);
    expect(highlightParts(`a ${pre}b`, pre, post)).toEqual([{ text: `a ${pre}b`, hit: false }]);
  });
});

describe('query building', () => {
  test("Backstage's query string", () => {
    const q = searchQueryString({ term: 'check out', types: ['software-catalog', 'techdocs'], filters: { kind: 'component', name: undefined }, pageCursor: 'bzI1' });
    expect(q).toBe('term=check+out&types%5B%5D=software-catalog&types%5B%5D=techdocs&filters%5Bkind%5D=component&pageCursor=bzI1');
    const p = new URLSearchParams(q);
    expect(p.getAll('types[]')).toEqual(['software-catalog', 'techdocs']);
    expect(p.get('filters[kind]')).toBe('component');
    expect(p.has('filters[name]')).toBe(false);
  });
  test('site search filters', () => {
    const p = new URLSearchParams(searchQueryString({ term: 'x', types: ['techdocs'], filters: { namespace: 'default', kind: 'component', name: 'docs' }, pageLimit: 10 }));
    expect([p.get('filters[kind]'), p.get('filters[namespace]'), p.get('filters[name]'), p.get('pageLimit')]).toEqual(['component', 'default', 'docs', '10']);
  });
  test('the page state round-trips through its URL and becomes a search', () => {
    const s = readPageState(new URLSearchParams('term=pay&type=techdocs&kind=component&cursor=abc'));
    expect(s).toEqual({ term: 'pay', type: 'techdocs', kind: 'component', cursor: 'abc' });
    expect(readPageState(new URLSearchParams(pageStateQuery(s)))).toEqual(s);
    expect(pageSearch(s)).toEqual({ term: 'pay', types: ['techdocs'], filters: { kind: 'component' }, pageCursor: 'abc' });
    expect(pageSearch({ term: 'pay' }).types).toEqual(['software-catalog', 'techdocs']);
  });
  test('result routes stay in the app', () => {
    expect(resultRoute({ title: 't', location: '/catalog/default/component/x' })).toBe('/catalog/default/component/x');
    expect(resultRoute({ title: 't', location: '/docs/default/component/x/guide/#a' })).toBe('/docs/default/component/x/guide/#a');
    expect(resultRoute({ title: 't', location: 'https://evil.example/' })).toBe('/search');
    expect(resultRoute({ title: 't', location: '//evil.example/' })).toBe('/search');
    expect(resultRoute({ title: 't', location: 'javascript:alert(1)' })).toBe('/search');
  });
});

describe('result count', () => {
  test('exact counts, and a capped count as a floor', () => {
    expect(resultCount({ numberOfResults: 1, results: [] })).toBe('1 result');
    expect(resultCount({ numberOfResults: 42, results: [] })).toBe('42 results');
    expect(resultCount({ numberOfResults: 1001, numberOfResultsCapped: true, results: [] })).toBe('1,000+ results');
    expect(resultCount({ results: [{ type: 'techdocs', document: { title: 'a', text: '', location: '/x' } }] })).toBe('1 result');
  });
});

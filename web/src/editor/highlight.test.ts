import { tokenizeLine } from './highlight';

const kinds = (line: string) => tokenizeLine(line).filter((t) => t.text.trim()).map((t) => `${t.kind}:${t.kind === 'text' ? t.text.trim() : t.text}`);

describe('tokenizeLine', () => {
  it('keeps the text whole', () => {
    for (const l of ['  - id: fetch # c', "  url: './x'  ", 'a: ${{ parameters.name }} and "q ${{ x }}"', '', '   ', '- - a', 'key:value']) {
      expect(tokenizeLine(l).map((t) => t.text).join('')).toBe(l);
    }
  });
  it('marks keys, strings, comments, expressions, dashes and scalars', () => {
    expect(kinds('  - id: fetch # the first')).toEqual(['dash:-', 'key:id', 'punct::', 'text:fetch', 'comment:# the first']);
    expect(kinds("url: 'a#b'")).toEqual(['key:url', 'punct::', "string:'a#b'"]);
    expect(kinds('name: ${{ parameters.name | lower }}')).toEqual(['key:name', 'punct::', 'expr:${{ parameters.name | lower }}']);
    expect(kinds('msg: "hi ${{ user.ref }}!"')).toEqual(['key:msg', 'punct::', 'string:"hi ', 'expr:${{ user.ref }}', 'string:!"']);
    expect(kinds('port: 8080')).toEqual(['key:port', 'punct::', 'number:8080']);
    expect(kinds('on: true')).toEqual(['key:on', 'punct::', 'bool:true']);
    expect(kinds('# only a comment')).toEqual(['comment:# only a comment']);
    expect(kinds('tags: [go, web]')).toEqual(['key:tags', 'punct::', 'punct:[', 'text:go', 'punct:,', 'text:web', 'punct:]']);
    expect(kinds('ui:field: OwnerPicker')).toEqual(['key:ui:field', 'punct::', 'text:OwnerPicker']);
    expect(kinds('url: http://x/y')).toEqual(['key:url', 'punct::', 'text:http://x/y']);
    expect(kinds('pattern: ^[a-z]{1,40}$')).toEqual(['key:pattern', 'punct::', 'text:^[a-z]{1,40}$']);
    expect(kinds('x: {a: 1}')).toEqual(['key:x', 'punct::', 'punct:{', 'text:a: 1', 'punct:}']);
  });
});

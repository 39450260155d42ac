import { describe, expect, test } from 'vitest';
import { prepareArticle, rewriteHref, rewriteSrc, selectTab, type ArticleContext } from './article';

const entity = { namespace: 'default', kind: 'component', name: 'developer-docs' };
const files = '/api/techdocs/static/docs/default/component/developer-docs';
const ctx = (pagePath: string, extra: Partial<ArticleContext> = {}): ArticleContext => ({
  entity, pagePath, routeBase: '/docs/default/component/developer-docs', ...extra,
});

function render(body: string, c: ArticleContext): HTMLDivElement {
  const div = document.createElement('div');
  const frag = prepareArticle(`<!doctype html><html><head><title>t</title></head><body><article class="md-typeset">${body}</article></body></html>`, c);
  if (frag) div.appendChild(frag);
  return div;
}

describe('links', () => {
  test.each([
    ['a page beside', 'runbooks/on-call/', '../deploying/#roll-back', '/docs/default/component/developer-docs/runbooks/deploying/#roll-back', 'page'],
    ['a page from the index', '', 'getting-started/', '/docs/default/component/developer-docs/getting-started/', 'page'],
    ['up to the index', 'architecture/', '../', '/docs/default/component/developer-docs/', 'page'],
    ['an index.html link', 'architecture/', '../guide/index.html', '/docs/default/component/developer-docs/guide/', 'page'],
    ['an anchor of the page', 'architecture/', '#conventions', '/docs/default/component/developer-docs/architecture/#conventions', 'anchor'],
    ['the same page with an anchor', 'architecture/', '../architecture/#data-stores', '/docs/default/component/developer-docs/architecture/#data-stores', 'anchor'],
    ['a file of the site', 'guide/', '../files/report.pdf', `${files}/files/report.pdf`, 'file'],
    ['an external page', 'guide/', 'https://example.com/x', 'https://example.com/x', 'external'],
    ['mail', '', 'mailto:team@example.com', 'mailto:team@example.com', 'external'],
  ])('%s', (_n, page, href, want, kind) => {
    expect(rewriteHref(href, ctx(page))).toEqual({ href: want, kind });
  });

  test.each([['javascript:alert(1)'], [' JavaScript:alert(1)'], ['data:text/html,<script>x</script>'], ['vbscript:x'], ['//evil.example/x']])('%s is dropped', (href) => {
    expect(rewriteHref(href, ctx('guide/'))).toBeUndefined();
  });

  test('the embedded reader keeps links under the entity page', () => {
    expect(rewriteHref('../b/', ctx('a/', { routeBase: '/catalog/default/component/developer-docs/docs' }))?.href)
      .toBe('/catalog/default/component/developer-docs/docs/b/');
  });

  test('rendered links carry their kind; external ones open with noopener', () => {
    const div = render('<p><a href="../b/">b</a> <a href="https://example.com/">out</a> <a href="javascript:alert(1)">bad</a></p>', ctx('a/'));
    const [b, out, bad] = Array.from(div.querySelectorAll('a'));
    expect(b.getAttribute('href')).toBe('/docs/default/component/developer-docs/b/');
    expect(b.dataset.link).toBe('page');
    expect(out.getAttribute('rel')).toBe('noopener noreferrer');
    expect(out.classList.contains('external')).toBe(true);
    expect(bad.hasAttribute('href')).toBe(false);
    expect(bad.textContent).toBe('bad');
  });
});

describe('images', () => {
  test('relative images load from the site files', () => {
    expect(rewriteSrc('../img/request-path.png', ctx('architecture/'))).toBe(`${files}/img/request-path.png`);
    expect(rewriteSrc('img/a b.png', ctx(''))).toBe(`${files}/img/a%20b.png`);
  });
  test('data: images stay, other schemes go', () => {
    expect(rewriteSrc('data:image/png;base64,AAAA', ctx(''))).toBe('data:image/png;base64,AAAA');
    expect(rewriteSrc('data:text/html;base64,AAAA', ctx(''))).toBeUndefined();
    expect(rewriteSrc('javascript:alert(1)', ctx(''))).toBeUndefined();
  });
  test('an outside image becomes a link (the CSP loads images from the app only)', () => {
    const div = render('<p><img src="https://cdn.example/x.png" alt="Chart"></p>', ctx(''));
    expect(div.querySelector('img')).toBeNull();
    const a = div.querySelector('a');
    expect(a?.getAttribute('href')).toBe('https://cdn.example/x.png');
    expect(a?.textContent).toBe('Image: Chart');
  });
  test('with a bearer token, images wait in data-src for a credentialed fetch', () => {
    const div = render('<p><img src="../img/x.png" alt="x"></p>', ctx('a/', { deferImages: true }));
    const img = div.querySelector('img')!;
    expect(img.hasAttribute('src')).toBe(false);
    expect(img.dataset.src).toBe(`${files}/img/x.png`);
  });
});

describe('sanitizing', () => {
  test('scripts, handlers, styles, iframes, forms and SVG are stripped', () => {
    const div = render(
      `<h2 id="x" onclick="alert(1)" style="color:red">Title</h2>
       <script>window.pwned = 1</script>
       <img src="../i.png" onerror="alert(2)" alt="i">
       <iframe src="https://evil.example"></iframe>
       <form action="https://evil.example"><input name="q"><button>go</button></form>
       <svg><script>alert(3)</script><a href="javascript:alert(4)">s</a></svg>
       <style>body{display:none}</style>
       <object data="x.swf"></object>
       <custom-el onmouseover="alert(5)"><b>kept text</b></custom-el>
       <a href="#x" onfocus="alert(6)" target="_top">anchor</a>`,
      ctx('a/'),
    );
    const html = div.innerHTML;
    for (const bad of ['<script', 'onclick', 'onerror', 'onmouseover', 'onfocus', 'style=', '<iframe', '<form', '<input', '<button', '<svg', '<style', '<object', 'javascript:', 'custom-el', 'target=']) {
      expect(html).not.toContain(bad);
    }
    expect(div.querySelector('h2#user-content-x')?.textContent).toBe('Title');
    expect(div.querySelector('b')?.textContent).toBe('kept text');
    expect(div.querySelector('img')?.getAttribute('src')).toBe(`${files}/i.png`);
  });

  test("the author's ids are prefixed, so no heading takes an id of the app's", () => {
    const div = render(
      `<h2 id="root">Root</h2><p id="" aria-describedby="root note">x</p><div aria-label="kept">y</div>`,
      ctx(''),
    );
    expect(div.querySelector('h2')?.id).toBe('user-content-root');
    expect(div.querySelector('#root')).toBeNull();
    expect(div.querySelector('p')?.hasAttribute('id')).toBe(false);
    expect(div.querySelector('p')?.getAttribute('aria-describedby')).toBe('user-content-root user-content-note');
    expect(div.querySelector('div')?.getAttribute('aria-label')).toBe('kept');
  });

  test('the content outside the article is not shown', () => {
    const frag = prepareArticle('<html><body><nav>site chrome</nav><article><p>content</p></article></body></html>', ctx(''));
    const div = document.createElement('div');
    div.appendChild(frag!);
    expect(div.textContent).toBe('content');
  });

  test('mermaid blocks stay text for the renderer', () => {
    const div = render('<pre class="mermaid">flowchart LR\n a --&gt; b["&lt;img src=x onerror=alert(1)&gt;"]</pre>', ctx(''));
    const pre = div.querySelector('pre.mermaid')!;
    expect(pre.textContent).toContain('a --> b["<img src=x onerror=alert(1)>"]');
    expect(pre.querySelector('img')).toBeNull();
  });
});

describe('content tabs', () => {
  const tabs = `<div class="tabbed-set">
    <div class="tabbed-block tabbed-selected"><p class="tabbed-label">PostgreSQL</p><p>pg text</p></div>
    <div class="tabbed-block"><p class="tabbed-label">Redis</p><p>redis text</p></div>
  </div>`;
  test('become a tab list with one panel shown', () => {
    const div = render(tabs, ctx(''));
    const buttons = Array.from(div.querySelectorAll('[role="tab"]'));
    expect(buttons.map((b) => b.textContent)).toEqual(['PostgreSQL', 'Redis']);
    expect(buttons.map((b) => b.getAttribute('aria-selected'))).toEqual(['true', 'false']);
    const panels = Array.from(div.querySelectorAll('[role="tabpanel"]'));
    expect(panels.map((p) => p.hasAttribute('hidden'))).toEqual([false, true]);
    expect(div.querySelector('.tabbed-label')).toBeNull();
    selectTab(buttons[1]);
    expect(buttons.map((b) => b.getAttribute('aria-selected'))).toEqual(['false', 'true']);
    expect(panels.map((p) => p.hasAttribute('hidden'))).toEqual([true, false]);
  });
});

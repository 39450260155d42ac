// Turns a served docs page into the DOM the reader shows. The page is
// sanitized by the server already; here it is rebuilt again from an
// allow-list (defence in depth): only known elements and attributes are
// copied into new nodes, so no script, event handler, style or unknown
// URL scheme can come through. Relative links and images are rewritten to
// the reader's routes and the site's file URLs, and content tabs become
// accessible tab lists.
import { staticUrl, type DocsEntity } from './site';

/** Elements copied (their allowed attributes only). */
const ALLOWED = new Set([
  'a', 'abbr', 'b', 'blockquote', 'br', 'caption', 'code', 'col', 'colgroup', 'dd', 'del', 'details', 'dfn', 'div', 'dl', 'dt',
  'em', 'figcaption', 'figure', 'h1', 'h2', 'h3', 'h4', 'h5', 'h6', 'hr', 'i', 'img', 'ins', 'kbd', 'li', 'mark', 'ol', 'p',
  'pre', 'q', 's', 'samp', 'small', 'span', 'strong', 'sub', 'summary', 'sup', 'table', 'tbody', 'td', 'tfoot', 'th', 'thead',
  'tr', 'u', 'ul', 'var', 'section',
]);
/** Elements dropped with everything inside them. */
const DROPPED = new Set([
  'script', 'style', 'iframe', 'frame', 'frameset', 'object', 'embed', 'applet', 'form', 'input', 'button', 'textarea', 'select',
  'option', 'link', 'meta', 'base', 'template', 'noscript', 'svg', 'math', 'audio', 'video', 'source', 'track', 'canvas',
  'portal', 'dialog', 'head', 'title',
]);
/**
 * Ids written by the docs' author are prefixed, as GitHub does, so a heading
 * or element of the page can never take an id the app itself uses (DOM
 * clobbering): "## Root" is `user-content-root`, not `root`. The reader
 * maps a URL's #anchor to the prefixed id.
 */
export const CONTENT_ID_PREFIX = 'user-content-';
/** aria-* attributes whose value is a list of ids (prefixed like the ids). */
const ARIA_ID_REFS = new Set([
  'aria-activedescendant', 'aria-controls', 'aria-describedby', 'aria-details', 'aria-errormessage', 'aria-flowto',
  'aria-labelledby', 'aria-owns',
]);
/** Attributes kept on any allowed element (plus aria-*). */
const GLOBAL_ATTRS = new Set(['id', 'class', 'title', 'lang', 'dir', 'role']);
const ELEMENT_ATTRS: Record<string, Set<string>> = {
  a: new Set(['href']),
  img: new Set(['src', 'alt', 'width', 'height']),
  td: new Set(['colspan', 'rowspan', 'align']),
  th: new Set(['colspan', 'rowspan', 'align', 'scope']),
  col: new Set(['span']),
  colgroup: new Set(['span']),
  ol: new Set(['start', 'type', 'reversed']),
  li: new Set(['value']),
  details: new Set(['open']),
  del: new Set(['datetime']),
  ins: new Set(['datetime']),
};

export interface ArticleContext {
  entity: DocsEntity;
  /** The page's directory URL within the site ("" = index, "guide/"). */
  pagePath: string;
  /** The reader's route for the site root, no trailing slash: page links go to `${routeBase}/${path}`. */
  routeBase: string;
  /** Put images' URLs in data-src for a script to load with credentials instead of src. */
  deferImages?: boolean;
}

const SITE = 'https://site.invalid/';

/** The site-relative path and hash of a relative URL, or undefined if it leaves the site. */
function resolveInSite(href: string, pagePath: string): { path: string; hash: string } | undefined {
  let u: URL;
  try {
    u = new URL(href, SITE + pagePath);
  } catch {
    return undefined;
  }
  if (u.origin !== new URL(SITE).origin) return undefined;
  let path: string;
  try {
    path = decodeURIComponent(u.pathname.slice(1));
  } catch {
    return undefined;
  }
  return { path, hash: u.hash };
}

const isExternal = (v: string) => /^(https?:|mailto:)/i.test(v.trim());
/** A URL with a scheme (or protocol-relative): never resolved against the site. */
const hasScheme = (v: string) => /^[a-z][a-z0-9+.-]*:/i.test(v.trim()) || v.trim().startsWith('//');

/** Where a link of the page goes: the reader's route for pages, the site's files for others. */
export function rewriteHref(href: string, ctx: ArticleContext): { href: string; kind: 'page' | 'anchor' | 'file' | 'external' } | undefined {
  const h = href.trim();
  if (h === '') return undefined;
  if (hasScheme(h)) return isExternal(h) && !h.startsWith('//') ? { href: h, kind: 'external' } : undefined;
  if (h.startsWith('#')) return { href: `${ctx.routeBase}/${ctx.pagePath}${h}`, kind: 'anchor' };
  const r = resolveInSite(h, ctx.pagePath);
  if (!r) return undefined;
  let path = r.path;
  if (path === 'index.html' || path.endsWith('/index.html')) path = path.slice(0, -'index.html'.length);
  const isPage = path === '' || path.endsWith('/') || path.endsWith('.html');
  if (!isPage) return { href: staticUrl(ctx.entity, path), kind: 'file' };
  const kind = path === ctx.pagePath && r.hash ? 'anchor' : 'page';
  return { href: `${ctx.routeBase}/${path}${r.hash}`, kind };
}

/** Where an image of the page is loaded from; undefined drops it. */
export function rewriteSrc(src: string, ctx: ArticleContext): string | undefined {
  const s = src.trim();
  if (/^data:image\/(png|gif|jpe?g|webp|svg\+xml)[;,]/i.test(s)) return s;
  if (hasScheme(s)) return undefined;
  const r = resolveInSite(s, ctx.pagePath);
  return r && r.path !== '' ? staticUrl(ctx.entity, r.path) : undefined;
}

function copyChildren(from: Node, to: Node, doc: Document, ctx: ArticleContext) {
  for (const child of Array.from(from.childNodes)) {
    const n = copyNode(child, doc, ctx);
    if (n) to.appendChild(n);
  }
}

function copyNode(node: Node, doc: Document, ctx: ArticleContext): Node | undefined {
  if (node.nodeType === Node.TEXT_NODE) return doc.createTextNode(node.nodeValue ?? '');
  if (node.nodeType !== Node.ELEMENT_NODE) return undefined; // comments, processing instructions
  const el = node as Element;
  const tag = el.localName.toLowerCase();
  if (DROPPED.has(tag) || el.namespaceURI !== 'http://www.w3.org/1999/xhtml') return undefined;
  if (!ALLOWED.has(tag)) {
    // An unknown element: keep its content, not the element.
    const frag = doc.createDocumentFragment();
    copyChildren(el, frag, doc, ctx);
    return frag;
  }
  if (tag === 'img') return copyImage(el, doc, ctx);
  const out = doc.createElement(tag);
  for (const a of Array.from(el.attributes)) {
    const name = a.name.toLowerCase();
    if (name === 'href' && tag === 'a') continue;
    if (name === 'id') {
      if (a.value !== '') out.setAttribute('id', CONTENT_ID_PREFIX + a.value);
    } else if (ARIA_ID_REFS.has(name)) {
      out.setAttribute(name, a.value.split(/\s+/).filter(Boolean).map((v) => CONTENT_ID_PREFIX + v).join(' '));
    } else if (GLOBAL_ATTRS.has(name) || ELEMENT_ATTRS[tag]?.has(name) || (name.startsWith('aria-') && /^aria-[a-z]+$/.test(name))) {
      out.setAttribute(name, a.value);
    }
  }
  if (tag === 'a') {
    const href = el.getAttribute('href');
    const r = href != null ? rewriteHref(href, ctx) : undefined;
    if (r) {
      out.setAttribute('href', r.href);
      out.setAttribute('data-link', r.kind);
      if (r.kind === 'external') {
        out.setAttribute('rel', 'noopener noreferrer');
        out.classList.add('external');
      }
    }
  }
  copyChildren(el, out, doc, ctx);
  return out;
}

function copyImage(el: Element, doc: Document, ctx: ArticleContext): Node {
  const alt = el.getAttribute('alt') ?? '';
  const raw = el.getAttribute('src') ?? '';
  const src = rewriteSrc(raw, ctx);
  if (!src) {
    // The app loads images from itself only: an outside image becomes a link to it.
    if (isExternal(raw) && !raw.trim().startsWith('//')) {
      const a = doc.createElement('a');
      a.href = raw.trim();
      a.rel = 'noopener noreferrer';
      a.className = 'external';
      a.setAttribute('data-link', 'external');
      a.textContent = alt ? `Image: ${alt}` : 'An image hosted elsewhere';
      return a;
    }
    return doc.createTextNode(alt);
  }
  const img = doc.createElement('img');
  img.setAttribute('alt', alt);
  for (const k of ['width', 'height', 'title']) {
    const v = el.getAttribute(k);
    if (v != null && (k === 'title' || /^\d{1,5}$/.test(v))) img.setAttribute(k, v);
  }
  if (ctx.deferImages && !src.startsWith('data:')) img.setAttribute('data-src', src);
  else img.setAttribute('src', src);
  img.setAttribute('loading', 'lazy');
  return img;
}

/** Content tabs (`.tabbed-set > .tabbed-block > .tabbed-label`) become a tab list with panels. */
function enhanceTabs(root: ParentNode, doc: Document) {
  root.querySelectorAll('.tabbed-set').forEach((set, si) => {
    const blocks = Array.from(set.children).filter((c) => c.classList.contains('tabbed-block'));
    if (blocks.length === 0) return;
    let selected = blocks.findIndex((b) => b.classList.contains('tabbed-selected'));
    if (selected < 0) selected = 0;
    const list = doc.createElement('div');
    list.className = 'tabbed-labels';
    list.setAttribute('role', 'tablist');
    blocks.forEach((b, bi) => {
      const label = Array.from(b.children).find((c) => c.classList.contains('tabbed-label'));
      const text = label?.textContent?.trim() || `Tab ${bi + 1}`;
      label?.remove();
      const tabId = `tabset-${si}-tab-${bi}`;
      const panelId = `tabset-${si}-panel-${bi}`;
      const btn = doc.createElement('button');
      btn.type = 'button';
      btn.id = tabId;
      btn.textContent = text;
      btn.setAttribute('role', 'tab');
      btn.setAttribute('aria-controls', panelId);
      btn.setAttribute('data-tab', String(bi));
      btn.setAttribute('aria-selected', String(bi === selected));
      btn.tabIndex = bi === selected ? 0 : -1;
      list.appendChild(btn);
      b.id = panelId;
      b.setAttribute('role', 'tabpanel');
      b.setAttribute('aria-labelledby', tabId);
      b.classList.toggle('tabbed-selected', bi === selected);
      if (bi === selected) b.removeAttribute('hidden');
      else b.setAttribute('hidden', '');
    });
    set.insertBefore(list, set.firstChild);
  });
}

/** Shows the tab a button of a content tab list stands for. */
export function selectTab(button: Element) {
  const list = button.closest('[role="tablist"]');
  const set = list?.parentElement;
  if (!list || !set) return;
  list.querySelectorAll('[role="tab"]').forEach((b) => {
    const on = b === button;
    b.setAttribute('aria-selected', String(on));
    (b as HTMLElement).tabIndex = on ? 0 : -1;
    const id = b.getAttribute('aria-controls');
    const panel = Array.from(set.children).find((c) => c.id === id);
    if (!panel) return;
    panel.classList.toggle('tabbed-selected', on);
    if (on) panel.removeAttribute('hidden');
    else panel.setAttribute('hidden', '');
  });
}

/**
 * The page's article, rebuilt into `doc` from the allow-list with its
 * links and images rewritten. Undefined when the HTML has no article.
 */
export function prepareArticle(html: string, ctx: ArticleContext, doc: Document = document): DocumentFragment | undefined {
  const parsed = new DOMParser().parseFromString(html, 'text/html');
  const article = parsed.querySelector('article') ?? parsed.body;
  if (!article) return undefined;
  const frag = doc.createDocumentFragment();
  copyChildren(article, frag, doc, ctx);
  enhanceTabs(frag, doc);
  return frag;
}

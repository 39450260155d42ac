// Mermaid diagrams of a docs page, drawn in the browser. The diagram text
// is data: mermaid parses it in strict mode (no click handlers, no HTML
// labels, its own sanitizer on every label) and the SVG it makes is shown
// as an <img> from a data: URL, so nothing in it runs. Mermaid is loaded
// only when a page has a diagram (its own chunk).
//
// The app's CSP forbids inline styles (style="" attributes and <style>
// elements), and mermaid uses both while it lays a diagram out in the
// page: while it renders, style attributes go through the CSSOM instead
// (allowed), its stylesheet is adopted as a constructed sheet (allowed)
// rather than inserted as a <style> element, and markup it parses carries
// its style attributes under another name; rules and style attributes are
// put back into the SVG text, where they style the image only.
type Mermaid = typeof import('mermaid').default;

let loading: Promise<Mermaid> | undefined;
let seq = 0;

function load(): Promise<Mermaid> {
  loading ??= import('mermaid').then((m) => m.default);
  return loading;
}

/** The data: URL an SVG is shown from. */
export function svgDataUrl(svg: string): string {
  return `data:image/svg+xml;charset=utf-8,${encodeURIComponent(svg)}`;
}

const STYLE_STANDIN = 'rigger-mermaid-style';
const STYLE_ATTR_STANDIN = 'data-rigger-style';

/** Inserts a stylesheet as the first child of an SVG document's text, and puts back the style attributes hidden while it was sanitized. */
export function withStyle(svg: string, rules: string): string {
  let out = svg
    .replace(new RegExp(`<${STYLE_STANDIN}[^>]*>[^<]*</${STYLE_STANDIN}>`, 'g'), '')
    .replace(new RegExp(`(\\s)${STYLE_ATTR_STANDIN}=`, 'g'), '$1style=');
  if (rules) {
    const style = `<style><![CDATA[${rules.replace(/\]\]>/g, '')}]]></style>`;
    out = out.replace(/^(\s*<svg\b[^>]*>)/, (m) => m + style);
  }
  return out;
}

/**
 * Runs a mermaid render without inline styles in the page: style
 * attributes are set through the CSSOM; a <style> element is replaced by
 * an inert stand-in whose rules are adopted as a constructed stylesheet
 * (removed afterwards); markup parsed meanwhile (mermaid's sanitizer
 * parses the SVG it made) carries its style attributes under another name,
 * since even an inert document reports them. Answers the SVG with its
 * rules and style attributes back inside it. Renders run one at a time.
 */
let queue: Promise<unknown> = Promise.resolve();
function withoutInlineStyles(render: () => Promise<{ svg: string }>): Promise<string> {
  const run = queue.then(() => renderPatched(render));
  queue = run.catch(() => undefined);
  return run;
}

async function renderPatched(render: () => Promise<{ svg: string }>): Promise<string> {
  const doc = document;
  const realCreate = doc.createElement;
  const realSetAttribute = Element.prototype.setAttribute;
  const realParse = DOMParser.prototype.parseFromString;
  const realInnerHTML = Object.getOwnPropertyDescriptor(Element.prototype, 'innerHTML');
  const sheets: CSSStyleSheet[] = [];
  let rules = '';
  doc.createElement = function (this: Document, tag: string, opts?: ElementCreationOptions) {
    if (String(tag).toLowerCase() !== 'style') return realCreate.call(this, tag, opts);
    const el = realCreate.call(this, STYLE_STANDIN);
    const adopt = (v: string) => {
      rules += String(v);
      const sheet = new CSSStyleSheet();
      sheet.replaceSync(String(v));
      sheets.push(sheet);
      doc.adoptedStyleSheets = [...doc.adoptedStyleSheets, sheet];
    };
    Object.defineProperty(el, 'innerHTML', { configurable: true, get: () => '', set: adopt });
    Object.defineProperty(el, 'textContent', { configurable: true, get: () => '', set: adopt });
    return el;
  } as typeof doc.createElement;
  Element.prototype.setAttribute = function (this: Element, name: string, value: string) {
    const style = (this as HTMLElement | SVGElement).style;
    if (name.toLowerCase() === 'style' && style) {
      style.cssText = String(value);
      return;
    }
    realSetAttribute.call(this, name, value);
  };
  // The sanitizer may hand over TrustedHTML: its text is what is parsed.
  const hide = (text: unknown) => (text == null ? text : String(text).replace(/(\s)style=/gi, `$1${STYLE_ATTR_STANDIN}=`));
  DOMParser.prototype.parseFromString = function (this: DOMParser, text: string, type: DOMParserSupportedType) {
    return realParse.call(this, hide(text) as string, type);
  };
  Object.defineProperty(Element.prototype, 'innerHTML', {
    ...realInnerHTML,
    set(this: Element, v: string) { realInnerHTML?.set?.call(this, hide(v)); },
  });
  try {
    const { svg } = await render();
    return withStyle(svg, rules);
  } finally {
    doc.createElement = realCreate;
    Element.prototype.setAttribute = realSetAttribute;
    DOMParser.prototype.parseFromString = realParse;
    if (realInnerHTML) Object.defineProperty(Element.prototype, 'innerHTML', realInnerHTML);
    doc.adoptedStyleSheets = doc.adoptedStyleSheets.filter((s) => !sheets.includes(s));
  }
}

/** Replaces every `pre.mermaid` under root by its rendered diagram (the source stays readable below it). */
export async function renderDiagrams(root: HTMLElement, dark: boolean): Promise<void> {
  const blocks = Array.from(root.querySelectorAll('pre.mermaid'));
  if (blocks.length === 0) return;
  const mermaid = await load();
  mermaid.initialize({
    startOnLoad: false,
    securityLevel: 'strict',
    theme: dark ? 'dark' : 'default',
    htmlLabels: false,
    flowchart: { htmlLabels: false },
  });
  for (const pre of blocks) {
    if (!pre.isConnected) continue;
    const source = pre.textContent ?? '';
    const figure = document.createElement('figure');
    figure.className = 'mermaid-diagram';
    try {
      const svg = await withoutInlineStyles(() => mermaid.render(`docs-mermaid-${++seq}`, source));
      const img = document.createElement('img');
      img.src = svgDataUrl(svg);
      img.alt = `Diagram: ${source.split('\n')[0].trim()}`;
      figure.appendChild(img);
    } catch (e) {
      const p = document.createElement('p');
      p.className = 'mermaid-error';
      p.textContent = `This diagram could not be drawn: ${(e as Error)?.message ?? String(e)}`;
      figure.appendChild(p);
    }
    const details = document.createElement('details');
    const summary = document.createElement('summary');
    summary.textContent = 'Diagram source';
    const code = document.createElement('pre');
    code.textContent = source;
    details.append(summary, code);
    figure.appendChild(details);
    pre.replaceWith(figure);
  }
}

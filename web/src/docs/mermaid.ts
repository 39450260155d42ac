// Mermaid diagrams of a docs page, drawn in the browser. The diagram text
// is data: mermaid parses it in strict mode (no click handlers, no HTML
// labels, its own sanitizer on every label) and the SVG it makes is shown
// as an <img> from a data: URL, so nothing in it runs and its <style>
// needs no exception to the app's CSP. Mermaid is loaded only when a page
// has a diagram (its own chunk).
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
      const { svg } = await mermaid.render(`docs-mermaid-${++seq}`, source);
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

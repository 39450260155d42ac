// The developer docs of the example catalog, read on the entity's Docs
// tab: the site's nav and the page's table of contents; "Architecture"
// draws its mermaid diagram (as an image, under the app's CSP), loads its
// image, shows its content tabs and links "Edit this page" to the
// source; links inside a page stay in the app. Then the full-page reader
// at /docs/... in a narrow window and in dark mode.
export default async function docs(ctx) {
  const { page, expect } = ctx;
  // The site is built when rigger dev starts; a reader that comes first sees "not built yet".
  ctx.allow({ status: 404, url: /\/api\/techdocs\/metadata\/techdocs\/default\/component\/developer-docs$/ });
  // Site search falls back to the site's own index where the server has no search API.
  ctx.allow({ status: 404, url: /\/api\/search\/query\?/ });

  await ctx.goto('/catalog/default/component/developer-docs');
  await page.getByRole('navigation', { name: 'Entity sections' }).getByRole('link', { name: 'Docs' }).click();
  const nav = page.getByRole('navigation', { name: 'Site navigation' });
  await expect.visible(nav.getByRole('link', { name: 'Getting started' }), 'the site nav', 60_000);
  await expect.visible(nav.getByText('Runbooks'), 'a nav group');
  await expect.visible(nav.getByRole('link', { name: 'On call' }), 'a nested nav page');
  await expect.visible(page.getByRole('heading', { name: 'Acme developer docs', level: 1 }), 'the home page');
  await expect.equal(await nav.getByRole('link', { name: 'Home' }).getAttribute('aria-current'), 'page', 'the current page is marked in the nav');
  await expect.visible(page.locator('.admonition.tip'), 'an admonition');

  await nav.getByRole('link', { name: 'Architecture' }).click();
  await expect.poll(() => /\/catalog\/default\/component\/developer-docs\/docs\/architecture\/?$/.test(page.url()), 'the page is in the URL');
  const article = page.locator('.docs-article');
  await expect.visible(article.getByRole('heading', { name: 'Architecture', level: 1 }), 'the Architecture page');
  const toc = page.getByRole('navigation', { name: 'On this page' });
  await expect.visible(toc.getByRole('link', { name: 'Data stores' }), 'the table of contents');
  await expect.visible(toc.getByRole('link', { name: 'Conventions' }), 'the TOC lists every h2');

  const diagram = article.locator('figure.mermaid-diagram img');
  await expect.visible(diagram, 'the mermaid diagram, drawn', 30_000);
  await expect.poll(async () => (await diagram.evaluate((img) => img.complete && img.naturalWidth)) > 0, 'the diagram image decodes');
  const svg = decodeURIComponent((await diagram.getAttribute('src')).replace(/^data:image\/svg\+xml;charset=utf-8,/, ''));
  const words = svg.replace(/<style>[\s\S]*?<\/style>/g, ' ').replace(/<[^>]+>/g, ' ').replace(/\s+/g, ' ');
  await expect.ok(words.includes('Checkout service') && words.includes('Fraud detector'), `the diagram holds the flowchart nodes (got: ${words.slice(0, 200)})`);
  await expect.equal(await article.locator('pre.mermaid').count(), 0, 'no diagram is left as source');

  const img = article.getByRole('img', { name: 'The request path' });
  await expect.visible(img, 'the page image');
  await expect.poll(async () => (await img.evaluate((i) => i.complete && i.naturalWidth)) > 0, 'the image loads');
  await expect.match(await img.getAttribute('src'), /^\/api\/techdocs\/static\/docs\/default\/component\/developer-docs\/img\/request-path\.png$/, 'the image URL');

  const tabs = article.getByRole('tablist');
  await expect.visible(tabs.getByRole('tab', { name: 'PostgreSQL', selected: true }), 'the content tabs, first selected');
  await expect.visible(article.getByText('Orders and payments live in PostgreSQL'), 'the selected tab panel');
  await expect.hidden(article.getByText('Sessions and carts are cached in Redis'), 'the other tab panel is hidden');
  await tabs.getByRole('tab', { name: 'Redis' }).click();
  await expect.visible(article.getByText('Sessions and carts are cached in Redis'), 'a click shows the other tab');

  const edit = page.getByRole('link', { name: /Edit this page/ });
  await expect.equal(await edit.getAttribute('href'), 'https://github.com/acme/developer-docs/edit/main/docs/architecture.md', 'the edit link');
  await ctx.shot('docs-architecture');
  await ctx.axe(page, 'docs tab');

  // A TOC link scrolls to its heading and keeps the page.
  await toc.getByRole('link', { name: 'Conventions' }).click();
  await expect.poll(() => page.url().endsWith('#conventions'), 'the anchor is in the URL');
  await expect.poll(async () => page.evaluate(() => window.scrollY > 0), 'the page scrolled');
  await expect.poll(async () => article.locator('#user-content-conventions').evaluate((h) => { const r = h.getBoundingClientRect(); return r.top >= 0 && r.bottom <= window.innerHeight; }), 'the heading is in view');

  // A link inside a page goes to the other page within the app (no full reload).
  await nav.getByRole('link', { name: 'Home' }).click();
  await page.evaluate(() => { window.__stillHere = true; });
  await article.getByRole('link', { name: 'Getting started' }).first().click();
  await expect.visible(article.getByRole('heading', { name: 'Build and test locally' }), 'the linked page');
  await expect.ok(await page.evaluate(() => window.__stillHere === true), 'the link navigated inside the app');
  await expect.visible(article.locator('pre.chroma .kd').first(), 'highlighted code');

  // Search within the site.
  const box = page.getByRole('searchbox', { name: 'Search these docs' });
  await box.fill('escalation');
  const hit = page.locator('.site-search-results').getByRole('link').first();
  await expect.visible(hit, 'a site search result');
  await hit.click();
  await expect.visible(article.getByRole('heading', { name: 'On call', level: 1 }), 'the result opens its page');
  await ctx.shot('docs-on-call');

  // The full-page reader, narrow and dark.
  const narrow = await ctx.openPage({ width: 390, height: 844, colorScheme: 'dark' });
  await ctx.goto('/docs/default/component/developer-docs/architecture/', narrow);
  await expect.visible(narrow.getByRole('heading', { name: 'Acme developer docs', level: 1 }), 'the reader page title');
  await expect.visible(narrow.locator('figure.mermaid-diagram img'), 'the diagram on the narrow page', 30_000);
  await ctx.shot('docs-reader-narrow-dark', narrow);
  await ctx.axe(narrow, 'docs reader (narrow, dark)');
}

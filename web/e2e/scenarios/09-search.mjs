// One search box for the catalog and the docs: the header's box opens
// /search?term=…; a service is found by its name and by a typo of it, a
// docs page by a word of one of its headings, and a result opens its page.
export default async function search(ctx) {
  const { page, expect } = ctx;
  await ctx.goto('/catalog');
  const box = page.getByRole('banner').getByRole('searchbox', { name: 'Search the catalog and the docs' });
  await box.fill('checkout-service');
  await box.press('Enter');
  await expect.poll(() => /\/search\?term=checkout-service/.test(page.url()), 'the term is in the URL');
  const results = page.getByRole('region', { name: 'Results' });
  const checkout = results.getByRole('link', { name: /Checkout service/i }).first();
  await expect.visible(checkout, 'the service by its name');
  await expect.visible(results.locator('mark').first(), 'a highlighted match');
  await ctx.shot('search-name');
  await ctx.axe(page, 'search page');

  // One letter missing: still found.
  await box.fill('chekout');
  await box.press('Enter');
  await expect.poll(() => /term=chekout/.test(page.url()), 'the typo is in the URL');
  await expect.visible(results.getByRole('link', { name: /Checkout service/i }).first(), 'the service by a typo of its name');

  // A word of a docs heading finds the docs page; the Docs filter keeps only docs.
  await box.fill('conventions');
  await box.press('Enter');
  const docHit = results.locator('.search-result', { has: page.locator('.chip.type-docs') }).first();
  await expect.visible(docHit, 'a docs result');
  await page.getByRole('radio', { name: /^Docs/ }).check();
  await expect.poll(() => /type=techdocs/.test(page.url()), 'the type filter is in the URL');
  await expect.poll(async () => (await results.locator('.chip.type-catalog').count()) === 0, 'only docs results');
  await ctx.shot('search-docs');
  await docHit.getByRole('link').first().click();
  await expect.poll(() => /\/docs\/default\/component\/developer-docs\/architecture\//.test(page.url()), 'the docs page opens');
  await expect.visible(page.locator('.docs-article').getByRole('heading', { name: 'Conventions' }), 'the page with the heading');

  // Narrow window.
  const narrow = await ctx.openPage({ width: 390, height: 844 });
  await ctx.goto('/search?term=payments', narrow);
  await expect.visible(narrow.getByRole('region', { name: 'Results' }).getByRole('link').first(), 'results on a narrow page');
  await ctx.shot('search-narrow', narrow);
}

// The shell every page shares: header with the brand and the main
// navigation, rigger dev's banner, the document title, deep links served
// by the app (not the API's JSON 404), keyboard entry by the skip link,
// no serious axe violations; wide, narrow and dark screenshots.
export default async function shell(ctx) {
  const { page, expect } = ctx;

  const resp = await ctx.goto('/');
  expect.equal(resp.status(), 200, 'GET / status');
  expect.match(resp.headers()['content-type'], /^text\/html/, 'GET / content type');
  const header = page.getByRole('banner');
  await expect.visible(header.getByRole('link', { name: 'Rigger home' }), 'the brand "Rigger" in the header');
  expect.equal((await header.getByRole('link', { name: 'Rigger home' }).innerText()).trim(), 'Rigger', 'brand text');
  const nav = page.getByRole('navigation', { name: 'Main' });
  for (const [name, href] of [['Catalog', '/catalog'], ['Create', '/create'], ['Tasks', '/tasks']]) {
    const link = nav.getByRole('link', { name, exact: true });
    await expect.visible(link, `nav link ${name}`);
    expect.equal(await link.getAttribute('href'), href, `nav link ${name} href`);
  }
  await expect.visible(page.getByRole('note').filter({ hasText: 'Dev mode' }), 'the dev-mode banner');
  await expect.visible(page.getByRole('searchbox', { name: 'Search the catalog' }), 'the global search box');
  await expect.poll(async () => /Rigger/.test(await page.title()), 'document title names Rigger');
  ctx.log(`title at /: ${JSON.stringify(await page.title())}`);

  await ctx.shot('shell-home');
  await ctx.axe(page, 'home');

  // Keyboard: the first Tab reaches the skip link, which is then visible
  // and moves focus to the page's content.
  await page.keyboard.press('Tab');
  const focused = await page.evaluate(() => document.activeElement?.textContent ?? '');
  expect.equal(focused.trim(), 'Skip to content', 'first Tab focuses');
  await expect.visible(page.getByRole('link', { name: 'Skip to content' }), 'the focused skip link');
  await page.keyboard.press('Enter');
  await expect.poll(() => page.evaluate(() => document.activeElement?.id === 'main'), 'Enter on the skip link focuses <main>');

  // A deep link is the app's, routed in the browser. The entity does not
  // exist: the page may ask the API for it and get a 404, which is expected.
  ctx.allow({ status: 404, url: /\/api\/catalog\/entities\/by-name\/component\/default\/does-not-exist/ });
  const deep = await ctx.goto('/catalog/default/component/does-not-exist');
  expect.equal(deep.status(), 200, 'deep link status');
  expect.match(deep.headers()['content-type'], /^text\/html/, 'deep link content type (the app, not a JSON 404)');
  await expect.visible(page.getByRole('navigation', { name: 'Main' }).getByRole('link', { name: 'Catalog', exact: true }), 'the header on a deep link');
  await ctx.shot('shell-deep-link');
  await ctx.axe(page, 'deep link');

  // The API's unknown routes stay JSON errors.
  const api = await page.request.get(ctx.baseURL + '/api/no-such-route');
  expect.equal(api.status(), 404, '/api/no-such-route status');
  expect.equal((await api.json()).error?.name, 'NotFoundError', '/api/no-such-route error name');

  // A narrow window (a phone): the header still offers the navigation.
  const narrow = await ctx.openPage({ width: 390, height: 844 });
  await ctx.goto('/', narrow);
  await expect.visible(narrow.getByRole('navigation', { name: 'Main' }).getByRole('link', { name: 'Create', exact: true }), 'nav in a narrow window');
  await ctx.shot('shell-home-narrow', narrow);
  await ctx.axe(narrow, 'home (narrow)');

  // The dark theme (the system's preference) keeps its contrast.
  const dark = await ctx.openPage({ colorScheme: 'dark' });
  await ctx.goto('/', dark);
  await expect.visible(dark.getByRole('navigation', { name: 'Main' }), 'nav in the dark theme');
  await ctx.shot('shell-home-dark', dark);
  await ctx.axe(dark, 'home (dark)');
}

// Browse the example catalog: the table lists components, a filter goes
// into the URL and narrows the rows, the back button restores them, "owned by
// me" shows the guest's team's components, and a
// component's page shows its owner and its relations.
export default async function catalog(ctx) {
  const { page, expect } = ctx;
  await ctx.goto('/catalog');
  const table = page.getByRole('table');
  await expect.visible(table.getByRole('link', { name: /checkout-service/ }), 'checkout-service in the catalog table');
  await ctx.shot('catalog');
  await ctx.axe(page, 'catalog');

  await page.selectOption('#cat-lifecycle', 'experimental');
  await expect.poll(() => /lifecycle=experimental/.test(page.url()), 'the lifecycle filter is in the URL');
  await expect.poll(async () => (await table.getByRole('link', { name: /checkout-service/ }).count()) === 0, 'a production service is filtered out');
  await ctx.shot('catalog-filtered');
  await page.goBack();
  await expect.visible(table.getByRole('link', { name: /checkout-service/ }), 'back restores the unfiltered table');

  // examples/rigger.yaml makes the dev guest act for the platform team.
  await page.getByLabel('Owned by me').check();
  await expect.visible(table.getByRole('link', { name: /go-kit/ }), "a platform-owned component under 'Owned by me'");
  await expect.poll(async () => (await table.getByRole('link', { name: /checkout-service/ }).count()) === 0, "a payments service is not 'owned by me'");
  await ctx.shot('catalog-owned-by-me');
  await page.goBack();
  await expect.visible(table.getByRole('link', { name: /checkout-service/ }), 'back restores the table');

  await table.getByRole('link', { name: /checkout-service/ }).click();
  await expect.poll(() => /\/catalog\/default\/component\/checkout-service/.test(page.url()), 'the entity page URL');
  const about = page.getByRole('region', { name: 'About' });
  await expect.visible(about, 'the About card');
  await expect.poll(async () => /owner/i.test(await about.innerText()), 'About has an Owner row');
  await expect.visible(about.getByRole('link', { name: /payments/ }), "the owner's link (group payments)");
  await expect.visible(page.locator('svg a').first(), 'the relations graph with clickable nodes');
  await ctx.shot('entity-checkout-service');
  await ctx.axe(page, 'entity page');
}

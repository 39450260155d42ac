// Launch release-approval: the task page shows the approval it waits on,
// with the question; Approve with a comment lets the run go on to
// completed, and the log says who approved. (examples/rigger.yaml makes the
// dev guest a member of the platform team that owns the template.)
export default async function approval(ctx) {
  const { page, expect } = ctx;
  await ctx.goto('/create/templates/default/release-approval');
  const service = page.getByRole('combobox', { name: /Service/ });
  await expect.visible(service, 'the Service picker');
  await service.fill('payment-gate');
  const option = page.getByRole('option', { name: /payment-gateway/ });
  await expect.visible(option, 'payment-gateway among the options');
  await option.click();
  await page.getByLabel(/^Version/).fill('1.4.0');
  await ctx.shot('launch-release-approval');
  await page.getByRole('button', { name: 'Next' }).click();
  await expect.visible(page.getByRole('heading', { name: 'Review' }), 'the review page');
  await page.getByRole('button', { name: 'Create' }).click();
  await expect.poll(() => /\/tasks\/[^/]+$/.test(new URL(page.url()).pathname), 'the task page after submit', 20000);

  const panel = page.getByRole('region', { name: /Waiting for approval: Approve the release/ });
  await expect.visible(panel, 'the approval panel', 60000);
  await expect.poll(async () => /Release 1\.4\.0 of component:default\/payment-gateway\?/.test(await panel.innerText()), 'the question the step asks');
  await ctx.shot('task-waiting-for-approval');
  await ctx.axe(page, 'task waiting for an approval');
  await panel.getByLabel('Comment (optional)').fill('ship it');
  await panel.getByRole('button', { name: 'Approve' }).click();
  await expect.poll(async () => /completed/i.test(await page.locator('.badge').first().innerText()), 'the approved task completes', 60000);
  await expect.hidden(panel, 'the approval panel once decided');
  await expect.poll(async () => /Approved by user:default\/guest: ship it/.test(await page.getByRole('log', { name: 'Task log' }).innerText()), 'the log names who approved');
  await ctx.shot('task-approved');
}

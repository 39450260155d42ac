// Create → launch flaky-demo from the gallery → its task page streams the
// steps live; step 2 fails on the first run; Retry from the failed step runs
// it again without rerunning step 1, to completed.
export default async function runRetry(ctx) {
  const { page, expect } = ctx;
  await ctx.goto('/create');
  await expect.visible(page.getByRole('link', { name: /Choose Flaky demo/ }), 'the flaky-demo card');
  await ctx.shot('create-gallery');
  await ctx.axe(page, 'create gallery');
  await page.getByRole('link', { name: /Choose Flaky demo/ }).click();
  await expect.visible(page.getByRole('button', { name: 'Next' }), 'the launch form');
  await ctx.shot('launch-flaky-demo');
  await ctx.axe(page, 'launch form');
  await page.getByRole('button', { name: 'Next' }).click();
  await expect.visible(page.getByRole('heading', { name: 'Review' }), 'the review page');
  await page.getByRole('button', { name: 'Create' }).click();
  await expect.poll(() => /\/tasks\/[^/]+$/.test(new URL(page.url()).pathname), 'the task page after submit', 20000);
  const id = new URL(page.url()).pathname.split('/').pop();

  const retry = page.getByRole('button', { name: /Retry from/ });
  await expect.visible(retry, 'Retry after step 2 failed', 60000);
  await ctx.shot('task-failed');
  const before = await (await page.request.get(`${ctx.baseURL}/api/scaffolder/v2/tasks/${id}`)).json();
  const setup = (before.steps ?? before.spec?.steps ?? []).find((s) => s.id === 'setup');
  await retry.click();
  await expect.poll(async () => /completed/i.test(await page.locator('.badge').first().innerText()), 'the retried task completes', 60000);
  const after = await (await page.request.get(`${ctx.baseURL}/api/scaffolder/v2/tasks/${id}`)).json();
  const setupAfter = (after.steps ?? []).find((s) => s.id === 'setup');
  expect.equal(after.status, 'completed', 'task status after retry');
  if (setup && setupAfter) expect.equal(setupAfter.startedAt, setup.startedAt, 'step 1 was not rerun (same start time)');
  else throw new Error(`no step "setup" in the task response: ${JSON.stringify(after).slice(0, 400)}`);
  await expect.visible(page.getByRole('log', { name: 'Task log' }), 'the live log');
  await ctx.shot('task-completed');
  await ctx.axe(page, 'task page');

  await ctx.goto('/tasks');
  await expect.visible(page.getByRole('link').filter({ hasText: /flaky/i }).first(), 'the task in the tasks list');
  await ctx.shot('tasks');
  await ctx.axe(page, 'tasks');
}

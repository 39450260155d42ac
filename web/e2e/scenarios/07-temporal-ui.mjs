// Operators read runs in the Temporal UI: rigger dev's embedded UI shows a
// run's input decoded through rigger's codec endpoint, though Temporal
// stores it encrypted (internal/payloadcodec).
export default async function temporalUI(ctx) {
  const { page, expect } = ctx;
  const name = `codec-${Date.now().toString(36)}`;
  const created = await page.request.post(`${ctx.baseURL}/api/scaffolder/v2/tasks`, {
    data: { templateRef: 'template:default/go-service', values: { name, owner: 'group:default/team-a' } },
  });
  expect.equal(created.status(), 201, 'task created');
  const { id } = await created.json();
  let task;
  await expect.poll(async () => {
    task = await (await page.request.get(`${ctx.baseURL}/api/scaffolder/v2/tasks/${id}`)).json();
    return task.status === 'completed';
  }, 'the task completes', 60000);
  expect.ok(task.temporalUrl, 'the task links its run in the Temporal UI');
  // The Temporal UI is not rigger's page: its own quirks are not this scenario's subject.
  ctx.allowConsole(/./);
  ctx.allow({ url: new RegExp('^' + new URL(task.temporalUrl).origin.replace(/[.]/g, '\\.')) });
  await page.goto(task.temporalUrl);
  // The link lists the task's runs; its newest run's page shows the input.
  const run = page.getByRole('link', { name: id }).first();
  await expect.visible(run, 'the run in the Temporal UI', 30000);
  await run.click();
  await expect.poll(async () => (await page.locator('body').innerText()).includes(name), "the run's input, decoded, shows the task's name", 30000);
  expect.ok(!(await page.locator('body').innerText()).includes('binary/encrypted'), 'no payload shows as encrypted');
  await ctx.shot('temporal-ui-decoded');
}

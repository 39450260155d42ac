// The template editor: broken YAML (a duplicate key on line 8) is reported at its line; fixed, it
// validates and its form preview renders.
export default async function editor(ctx) {
  const { page, expect } = ctx;
  await ctx.goto('/create/edit');
  const box = page.locator('textarea').first();
  await expect.visible(box, 'the YAML editor');
  const good = [
    'apiVersion: scaffolder.backstage.io/v1beta3',
    'kind: Template',
    'metadata:',
    '  name: editor-demo',
    'spec:',
    '  owner: group:default/platform',
    '  type: service',
    '  parameters:',
    '    - title: Basics',
    '      properties:',
    '        name: {title: Name, type: string}',
    '  steps:',
    '    - id: log',
    '      action: debug:log',
    "      input: {message: 'hello ${{ parameters.name }}'}",
  ].join('\n');
  const broken = good.replace('  type: service', '  type: service\n  type: website');
  await box.fill(broken);
  await expect.poll(async () => /Line 8\b/.test(await page.locator('main').innerText()), 'the duplicate key is reported at line 8', 15000);
  await ctx.shot('editor-error');
  await box.fill(good);
  await expect.visible(page.getByText('Basics').first(), 'the form preview of the fixed template', 15000);
  await ctx.shot('editor-fixed');
  await ctx.axe(page, 'template editor');
}

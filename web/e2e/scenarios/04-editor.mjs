// The template editor: broken YAML (a duplicate key on line 8) is reported at its line; fixed, it
// validates and its form preview renders; the preview's values then go to a dry run, whose
// Files, Log and Output tabs show what the template made, logged and answered.
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
    '    - id: write',
    '      action: fs:write',
    "      input: {path: greeting.txt, content: 'hello ${{ parameters.name }} from a file'}",
    '  output:',
    '    text:',
    '      - title: Greeting',
    "        content: 'Said hello to ${{ parameters.name }}'",
  ].join('\n');
  const broken = good.replace('  type: service', '  type: service\n  type: website');
  await box.fill(broken);
  await expect.poll(async () => /Line 8\b/.test(await page.locator('main').innerText()), 'the duplicate key is reported at line 8', 15000);
  await ctx.shot('editor-error');
  await box.fill(good);
  await expect.visible(page.getByText('Basics').first(), 'the form preview of the fixed template', 15000);
  await ctx.shot('editor-fixed');
  await ctx.axe(page, 'template editor');

  // The preview's values go to a dry run, once the fixed template is checked (the preview then
  // shows its form, not the last one that parsed).
  await expect.poll(async () => /^✓ Valid/.test(await page.locator('#editor-problems-summary').innerText()), 'the fixed template is valid', 15000);
  const who = `world-${Date.now().toString(36)}`;
  const right = page.getByRole('region', { name: 'Preview and dry run' });
  await right.getByLabel(/^Name\b/).fill(who);
  await right.getByRole('button', { name: 'Next' }).click();
  await expect.visible(right.getByRole('heading', { name: 'Review' }), 'the preview form\'s review page');
  await right.getByRole('button', { name: 'Use these values for a dry run' }).click();
  await expect.poll(async () => (await page.getByRole('tab', { name: 'Dry run' }).getAttribute('aria-selected')) === 'true', 'the Dry run tab opens with the values');
  const runButton = right.getByRole('button', { name: 'Run a dry run' });
  await expect.poll(() => runButton.isEnabled(), 'the dry run can start (the template is valid)');
  await runButton.click();
  await expect.visible(right.getByRole('status').filter({ hasText: /Dry run completed/ }), 'the dry run completes', 30_000);

  // Files: the file the fs:write step made, with the name in it.
  const files = right.getByRole('tab', { name: /^Files \(1\)$/ });
  await expect.visible(files, 'the Files tab counts one file');
  expect.equal(await files.getAttribute('aria-selected'), 'true', 'Files is the tab shown first');
  await expect.visible(right.getByRole('button', { name: 'greeting.txt' }), 'greeting.txt in the file tree');
  expect.equal(await right.getByLabel('Contents of greeting.txt').innerText(), `hello ${who} from a file`, 'greeting.txt rendered with the value');
  await ctx.shot('editor-dryrun-files');
  await ctx.axe(page, 'template editor: dry run');

  // Log: the debug:log step's message.
  await right.getByRole('tab', { name: /^Log \(\d+\)$/ }).click();
  const log = right.getByRole('log', { name: 'Dry run log' });
  await expect.visible(log, 'the dry run log');
  await expect.poll(async () => (await log.innerText()).includes(`hello ${who}`), `the log has the debug:log message "hello ${who}"`);
  await ctx.shot('editor-dryrun-log');

  // Output: the template's output text.
  await right.getByRole('tab', { name: 'Output' }).click();
  await expect.visible(right.getByRole('heading', { name: 'Greeting' }), 'the output text\'s title');
  await expect.visible(right.getByText(`Said hello to ${who}`), 'the output text rendered with the value');
  await ctx.shot('editor-dryrun-output');
}

// Create → "Create a service" (examples/templates/create-service): the name, an owner and a
// component picked by typing into the OwnerPicker and EntityPicker and choosing with the
// keyboard, the conditional Database page that appears only once "It needs a database" is
// ticked, a secret password, the RepoUrlPicker; the review masks the password; submitted, the
// task page streams its steps live to completed without ever showing the password, and its
// output link opens the new component, owned by the chosen group.
export default async function launch(ctx) {
  const { page, expect } = ctx;
  // Unique per run: the scenario can run again against the same rigger.
  const run = Date.now().toString(36) + Math.random().toString(36).slice(2, 5);
  const name = `svc-${run}`;
  const dbName = `db_${run}`;
  const password = `pw-Sekr3t-${run}-${Math.random().toString(36).slice(2, 8)}`;

  await ctx.goto('/create');
  const card = page.getByRole('link', { name: /Choose Create a service/ });
  await expect.visible(card, 'the "Create a service" card in the gallery');
  await card.click();
  await expect.poll(() => /\/create\/templates\/default\/create-service$/.test(new URL(page.url()).pathname), 'the launch page of create-service');

  // The stepper: without a database there is no Database page.
  const stepper = page.getByRole('navigation', { name: 'Form steps' });
  const stepTitles = async () => (await stepper.getByRole('listitem').allInnerTexts()).map((t) => t.replace(/^\s*\d+\s*/, '').trim());
  await expect.visible(page.getByRole('heading', { name: 'Service', level: 2 }), 'the first page, Service');
  await expect.poll(async () => (await stepTitles()).join('|') === 'Service|Repository|Review', `the steps without a database are Service, Repository, Review (got ${(await stepTitles()).join(', ')})`);

  // Name (EntityNamePicker, autofocused).
  const nameBox = page.getByRole('textbox', { name: 'Name', exact: true });
  await expect.poll(() => nameBox.evaluate((el) => el === document.activeElement), 'the Name field has the focus (ui:autofocus)');
  await nameBox.fill(name);

  // Owner (OwnerPicker): type part of a group's name, choose with the arrow keys and Enter.
  const owner = page.getByRole('combobox', { name: 'Owner' });
  await owner.click();
  await owner.pressSequentially('paym', { delay: 30 });
  await chooseByKeyboard(ctx, owner, 'Owner', /Payments team/);
  await expect.poll(async () => (await owner.inputValue()) === 'group:default/payments', `the owner is group:default/payments (got ${await owner.inputValue()})`);
  await expect.poll(async () => (await owner.getAttribute('aria-expanded')) === 'false', 'the owner list closes after choosing');

  // Depends on (EntityPicker over components), the same way.
  const dep = page.getByRole('combobox', { name: 'Depends on' });
  await dep.click();
  await dep.pressSequentially('checkout', { delay: 30 });
  await chooseByKeyboard(ctx, dep, 'Depends on', /checkout-service/);
  await expect.poll(async () => (await dep.inputValue()) === 'component:default/checkout-service', `depends on component:default/checkout-service (got ${await dep.inputValue()})`);

  await ctx.shot('launch-service-page');
  await ctx.axe(page, 'launch form: Service page');

  // The conditional page appears once the box is ticked.
  await page.getByRole('checkbox', { name: 'It needs a database' }).check();
  await expect.poll(async () => (await stepTitles()).join('|') === 'Service|Database|Repository|Review', `the Database page joins the steps (got ${(await stepTitles()).join(', ')})`);
  await page.getByRole('button', { name: 'Next' }).click();

  // Database: engine, name and the secret password.
  await expect.visible(page.getByRole('heading', { name: 'Database', level: 2 }), 'the Database page');
  await page.getByLabel(/^Engine\b/).selectOption('mysql');
  await page.getByLabel(/^Database name\b/).fill(dbName);
  const pw = page.getByLabel(/^Database password/);
  expect.equal(await pw.getAttribute('type'), 'password', 'the password input type');
  await pw.fill(password);
  await ctx.shot('launch-database-page');
  await ctx.axe(page, 'launch form: Database page');
  await page.getByRole('button', { name: 'Next' }).click();

  // Repository (RepoUrlPicker): host, owner, repository.
  await expect.visible(page.getByRole('heading', { name: 'Repository', level: 2 }), 'the Repository page');
  const repo = page.getByRole('group', { name: /Repository location/ });
  await repo.getByRole('combobox', { name: 'Host', exact: true }).selectOption('localhost');
  await repo.getByRole('textbox', { name: 'Owner', exact: true }).fill('acme');
  await repo.getByRole('textbox', { name: 'Repository', exact: true }).fill(name);
  await expect.visible(repo.getByText(`localhost/acme/${name}`), 'the picker shows the repository it will use');
  await ctx.shot('launch-repository-page');
  await ctx.axe(page, 'launch form: Repository page');
  await page.getByRole('button', { name: 'Next' }).click();

  // Review: every value, the password masked.
  await expect.visible(page.getByRole('heading', { name: 'Review', level: 2 }), 'the review page');
  const review = page.locator('.review');
  const row = (label) => review.locator('.review-row').filter({ has: page.getByRole('term').filter({ hasText: new RegExp(`^${label}$`) }) }).getByRole('definition');
  expect.equal(await row('Name').innerText(), name, 'review: Name');
  expect.equal(await row('Owner').innerText(), 'group:default/payments', 'review: Owner');
  expect.equal(await row('Depends on').innerText(), 'component:default/checkout-service', 'review: Depends on');
  expect.equal(await row('Database name').innerText(), dbName, 'review: Database name');
  expect.equal(await row('Repository location').innerText(), `localhost?owner=acme&repo=${name}`, 'review: Repository location');
  expect.match(await row('Database password').innerText(), /^\*+$/, 'review: the password is masked');
  expect.ok(!(await page.locator('main').innerText()).includes(password), 'the review page never shows the password in clear');
  expect.ok(!(await page.content()).includes(password), 'the review page holds the password nowhere in its HTML');
  await ctx.shot('launch-review');
  await ctx.axe(page, 'launch form: review');

  // Record the task page as it renders, from before it exists: every change to the status
  // badge, the steps' states, the number of log lines, and whether the password ever showed.
  await page.evaluate((secret) => {
    const w = window;
    w.__trace = [];
    w.__secretSeen = false;
    let last = '';
    const record = () => {
      if (!location.pathname.startsWith('/tasks/')) return;
      const badge = document.querySelector('.taskhead .badge')?.textContent?.trim() ?? '';
      const steps = [...document.querySelectorAll('.steplist .steptext')].map((e) => e.textContent?.trim() ?? '');
      const lines = document.querySelectorAll('.logbox .logline').length;
      if (document.body.innerText.includes(secret)) w.__secretSeen = true;
      const key = `${badge}|${steps.join(',')}|${lines}`;
      if (key === last) return;
      last = key;
      w.__trace.push({ t: Math.round(performance.now()), badge, steps, lines });
    };
    new MutationObserver(record).observe(document.body, { subtree: true, childList: true, characterData: true });
  }, password);

  await page.getByRole('button', { name: 'Create' }).click();
  await expect.poll(() => /^\/tasks\/[^/]+$/.test(new URL(page.url()).pathname), 'the task page after submit', 20_000);
  const id = decodeURIComponent(new URL(page.url()).pathname.split('/').pop());
  await expect.visible(page.getByRole('heading', { name: 'Steps' }), 'the task page');
  await ctx.shot('launch-task-running');

  const badge = page.locator('.taskhead .badge');
  await expect.poll(async () => /Completed/.test(await badge.innerText()), 'the task completes', 90_000);
  const log = page.getByRole('log', { name: 'Task log' });
  await expect.poll(async () => /Task Completed/.test(await log.innerText()), 'the log ends with the completion line');
  const stepsList = page.locator('.steplist .steptext');
  await expect.poll(async () => (await stepsList.allInnerTexts()).every((s) => s === 'Completed'), 'every step shows Completed (the database step ran)');
  expect.equal(await stepsList.count(), 6, 'six steps on the task page');
  // Published to rigger dev's own git host: the output links to the new repository.
  const repoLink = page.getByRole('link', { name: 'Repository', exact: true });
  await expect.visible(repoLink, 'the output link to the new repository');
  // The dev host's page for the repository (its files and clone command), as GitHub's html_url is.
  expect.match(await repoLink.getAttribute('href'), new RegExp(`/git/acme/${name}$`), "the repository link points at the repository's page on the dev git host");

  // It streamed: before the task completed, a step showed as running or the log grew.
  const trace = await page.evaluate(() => window.__trace);
  const live = trace.filter((s) => s.badge && !/Completed|Failed|Cancelled/.test(s.badge));
  const runningStep = live.some((s) => s.steps.includes('Running'));
  const grew = live.some((s, i) => i > 0 && s.lines > live[i - 1].lines);
  ctx.log(`task ${id}: ${trace.length} renders, ${live.length} before completion; a step running: ${runningStep}; log grew live: ${grew}; final ${trace.at(-1)?.lines} log lines`);
  expect.ok(runningStep || grew, `the task page did not show the task's progress live before completion: ${JSON.stringify(trace.slice(0, 12))}`);

  // The secret stays secret: in the log, on the page at any moment, in the task's JSON and events.
  const logText = await log.innerText();
  expect.match(logText, /The database password in a log line reads:/, "the check step's log line");
  expect.ok(!logText.includes(password), 'the log does not show the password');
  expect.ok(!(await page.evaluate(() => window.__secretSeen)), 'the task page never showed the password');
  const fetched = await page.evaluate(async (taskId) => {
    const get = async (path) => {
      const r = await fetch(path, { credentials: 'same-origin' });
      return { status: r.status, body: await r.text() };
    };
    return { task: await get(`/api/scaffolder/v2/tasks/${encodeURIComponent(taskId)}`), events: await get(`/api/scaffolder/v2/tasks/${encodeURIComponent(taskId)}/events`) };
  }, id);
  expect.equal(fetched.task.status, 200, 'GET the task');
  expect.ok(fetched.task.body.includes(`Open ${name} in the catalog`), "the task's JSON is this task's (its output names the service)");
  expect.ok(!fetched.task.body.includes(password), "the task's JSON does not contain the password");
  expect.equal(fetched.events.status, 200, "GET the task's events");
  expect.ok(!fetched.events.body.includes(password), "the task's events do not contain the password");
  await ctx.shot('launch-task-completed');
  await ctx.axe(page, 'task page (create-service)');

  // The output link opens the new component, owned by the group chosen above.
  const out = page.getByRole('link', { name: `Open ${name} in the catalog` });
  await expect.visible(out, 'the output link to the new component');
  await out.click();
  await expect.poll(() => new URL(page.url()).pathname === `/catalog/default/component/${name}`, 'the new component\'s entity page');
  const about = page.getByRole('region', { name: 'About' });
  await expect.visible(about, "the new component's About card", 20_000);
  const ownerLink = about.getByRole('link', { name: 'payments', exact: true });
  await expect.visible(ownerLink, 'the owner (payments) on the entity page');
  expect.equal(await ownerLink.getAttribute('href'), '/catalog/default/group/payments', "the owner link's target");
  await expect.visible(page.getByRole('table').getByRole('link', { name: 'checkout-service', exact: true }), 'the dependency on checkout-service among the relations');
  await expect.poll(async () => /A new service/.test(await about.innerText()), "the component's description from the form");
  await ctx.shot('launch-entity');
  await ctx.axe(page, 'entity page of the created component');
}

/**
 * Chooses the option matching want in a picker's open list with the keyboard: waits for the
 * search to settle, moves down with ArrowDown until that option is the highlighted one
 * (aria-activedescendant), then presses Enter.
 */
async function chooseByKeyboard(ctx, input, label, want) {
  const { page, expect } = ctx;
  const list = page.getByRole('listbox', { name: label });
  await expect.visible(list.getByRole('option', { name: want }), `${want} among the ${label} options`);
  await expect.poll(async () => !/Searching/.test(await input.locator('xpath=..').getByRole('status').innerText()), `the ${label} search settles`);
  const names = await list.getByRole('option').allInnerTexts();
  const at = names.findIndex((n) => want.test(n));
  expect.ok(at >= 0, `${want} in the ${label} options ${JSON.stringify(names)}`);
  for (let i = 0; i <= at; i++) await input.press('ArrowDown');
  const active = await input.getAttribute('aria-activedescendant');
  expect.ok(!!active, `ArrowDown highlights a ${label} option`);
  const activeText = await page.locator(`[id="${active}"]`).innerText();
  expect.match(activeText, want, `the highlighted ${label} option`);
  await input.press('Enter');
}

// Real-browser test of the dashboard, run by web/tests/browser.mjs with the shared browser.
// crates/server/tests/api/browser.rs starts the server and prepares:
//   SITECHAT_BASE      the server
//   DASH_SITE          a loopback website to train a bot on
//   DASH_QUESTION      a question that site answers
//   DASH_OWNER_EMAIL / DASH_OWNER_PASSWORD   an owner of the account
//   DASH_ANALYTICS_BOT a bot with a scripted set of conversations
//   DASH_EXPECTED      the figures the page must show for it, computed by the test (JSON)
//   OUT_DIR            where the screenshots go
import fs from "node:fs";
import path from "node:path";
import { createRequire } from "node:module";

const require = createRequire(import.meta.url);
const AXE = fs.readFileSync(require.resolve("axe-core/axe.min.js"), "utf8");
const env = process.env;
const BASE = env.SITECHAT_BASE;

function fail(message) {
  throw new Error(`dashboard test: ${message}`);
}
function check(condition, message) {
  if (!condition) fail(message);
}

async function axe(page, state) {
  await page.evaluate(AXE);
  const result = await page.evaluate(() => window.axe.run(document, { resultTypes: ["violations"] }));
  const bad = result.violations.filter((v) => v.impact === "serious" || v.impact === "critical");
  check(bad.length === 0, `axe (${state}): ${JSON.stringify(bad.map((v) => ({ id: v.id, impact: v.impact, nodes: v.nodes.map((n) => n.target).slice(0, 5) })))}`);
}

export async function run(browser) {
  // From the top: a page scrolled by the test would show its sticky sidebar part-way down the
  // full-page capture.
  const shot = async (page, name) => {
    await page.evaluate(() => window.scrollTo(0, 0));
    await page.screenshot({ path: path.join(env.OUT_DIR, `dashboard-${name}.png`), fullPage: true });
  };
  const errors = [];
  const watch = (page) => {
    page.on("pageerror", (e) => errors.push(String(e)));
    // Anything the Content-Security-Policy blocked is a defect of the page.
    page.on("console", (m) => { if (m.type() === "error" && /Content.Security.Policy/i.test(m.text())) errors.push(m.text()); });
  };

  // ------------------------------------------------------------ the owner signs in
  const ownerContext = await browser.newContext({ viewport: { width: 1280, height: 800 } });
  const owner = await ownerContext.newPage();
  watch(owner);
  await owner.goto(`${BASE}/`);
  check(owner.url().startsWith(`${BASE}/dashboard/sign-in`), `/ leads to signing in (got ${owner.url()})`);
  await axe(owner, "sign-in");
  await shot(owner, "sign-in-1280x800");
  await owner.fill("#f-email", env.DASH_OWNER_EMAIL);
  await owner.fill("#f-password", "not the password");
  await owner.click("button[type=submit]");
  await owner.locator(".form-error", { hasText: "wrong" }).waitFor();
  await owner.fill("#f-password", env.DASH_OWNER_PASSWORD);
  await owner.click("button[type=submit]");
  await owner.waitForURL(`${BASE}/dashboard/bots`);
  await axe(owner, "bots");

  // ------------------------------------------------------------ a bot from a website, trained live
  await owner.fill("#f-name", "Lyon Garden");
  await owner.fill("#f-website_url", env.DASH_SITE);
  await owner.click("form[data-api='/v1/bots'] button[type=submit]");
  await owner.waitForURL(/\/dashboard\/bots\/bot_/);
  const bot = owner.url().split("/").pop();
  await owner.locator(".phase", { hasText: "succeeded" }).waitFor({ timeout: 60000 });
  const indexed = Number(await owner.locator('[data-count="pages_indexed"]').textContent());
  check(indexed >= 2, `the training page counts the indexed pages (got ${indexed})`);
  check((await owner.locator(".bar").getAttribute("aria-valuenow")) === "100", "the progress bar ends full");
  const finished = await owner.locator(".eta").textContent();
  check(/^Finished \d{4}-\d{2}-\d{2} \d{2}:\d{2} UTC$/.test(finished), `the finish time is written as the other pages write times (got ${finished})`);
  await axe(owner, "bot overview");
  await shot(owner, "bot-1280x800");
  // A setting saved from the form is what the API then says.
  await owner.fill("#f-settings-greeting", "Hello from the garden!");
  await owner.click("form[data-method=PATCH] button[type=submit]");
  await owner.locator(".form-ok").first().waitFor();
  const saved = await owner.evaluate(async (id) => (await (await fetch(`/v1/bots/${id}`)).json()).settings.greeting, bot);
  check(saved === "Hello from the garden!", `the greeting was saved (got ${saved})`);
  // Business hours: a week of days in a time zone, not JSON.
  const settingsForm = owner.locator("form[data-method=PATCH]").first();
  await owner.uncheck("#f-always");
  check(await owner.locator("#f-zone").inputValue() !== "", "the time zone is filled in from the browser's");
  await owner.fill("#f-zone", "Mars/Olympus");
  await owner.check("#o-mon");
  await settingsForm.locator("button[type=submit]").click();
  await settingsForm.locator(".form-error", { hasText: "not a time zone" }).waitFor();
  await owner.fill("#f-zone", "Europe/Berlin");
  await owner.check("#o-sat");
  await owner.fill("[data-day=sat] input[aria-label='Saturday opens']", "10:00");
  await owner.fill("[data-day=sat] input[aria-label='Saturday closes']", "14:00");
  await owner.click("[data-day=mon] [data-add-slot]");
  await owner.fill("[data-day=mon] input[aria-label='Monday opens (2)']", "18:00");
  await owner.fill("[data-day=mon] input[aria-label='Monday closes (2)']", "20:00");
  await axe(owner, "bot overview with business hours");
  await settingsForm.locator("button[type=submit]").click();
  await settingsForm.locator(".form-ok").waitFor();
  const hours = await owner.evaluate(async (id) => (await (await fetch(`/v1/bots/${id}`)).json()).settings.business_hours, bot);
  const expectedHours = { time_zone: "Europe/Berlin", slots: [
    { day: "mon", open: "09:00", close: "17:00" }, { day: "mon", open: "18:00", close: "20:00" },
    { day: "sat", open: "10:00", close: "14:00" }] };
  check(JSON.stringify(hours) === JSON.stringify(expectedHours), `the business hours were saved (got ${JSON.stringify(hours)})`);
  await owner.reload();
  check(await owner.locator("[data-day=mon] .slot").count() === 2 && !(await owner.isChecked("#o-tue")), "the saved hours show again after a reload");
  await shot(owner, "bot-hours-1280x800");
  // Back to always open, so that the visitor later reaches an agent at any hour.
  await owner.check("#f-always");
  await settingsForm.locator("button[type=submit]").click();
  await settingsForm.locator(".form-ok").waitFor();
  const cleared = await owner.evaluate(async (id) => (await (await fetch(`/v1/bots/${id}`)).json()).settings.business_hours, bot);
  check(cleared === null || cleared === undefined, `always open saves no hours (got ${JSON.stringify(cleared)})`);

  await owner.goto(`${BASE}/dashboard/bots/${bot}/knowledge`);
  check(await owner.locator("table[data-sortable] tbody tr").count() >= 2, "the knowledge page lists the crawled pages");
  // Sorting by a column, by keyboard-reachable buttons in the headings.
  await owner.locator("table[data-sortable] th button", { hasText: "Title" }).click();
  const titles = await owner.locator("table[data-sortable] tbody tr td:first-child").allTextContents();
  check(JSON.stringify(titles) === JSON.stringify([...titles].sort((a, b) => a.toLowerCase() < b.toLowerCase() ? -1 : 1)), `sorted by title: ${titles}`);
  check(!(await owner.locator("label.sort-by").isVisible()), "on a wide screen the headings sort, and no sort list is shown");
  // The re-sync schedule is set here.
  await owner.fill("#f-recrawl", "24");
  await owner.click("form:has(#f-recrawl) button[type=submit]");
  await owner.locator("form:has(#f-recrawl) .form-ok").waitFor();
  const crawl = await owner.evaluate(async (id) => (await (await fetch(`/v1/bots/${id}`)).json()).settings.crawl, bot);
  check(crawl.recrawl_hours === 24, `the re-sync schedule was saved (got ${JSON.stringify(crawl)})`);
  await axe(owner, "knowledge");
  await shot(owner, "knowledge-1280x800");

  // ------------------------------------------------------------ the playground, and fixing an answer
  await owner.goto(`${BASE}/dashboard/bots/${bot}/playground`);
  await owner.fill("#f-question", env.DASH_QUESTION);
  await owner.click("form[data-playground] button[type=submit]");
  const answer = owner.locator(".answer");
  await answer.waitFor({ timeout: 20000 });
  check(await answer.locator("[data-outcome]").count() === 1, "the reply shows its outcome");
  check(await answer.locator("[data-confidence]").count() === 1, "the reply shows its confidence");
  check(await answer.locator("ol li").count() >= 1, "the reply shows the passages it came from");
  await axe(owner, "playground");
  await shot(owner, "playground-1280x800");
  const curated = "Our curated answer: parcels leave Lyon every weekday at noon.";
  await owner.locator("[data-fix]").waitFor();
  await owner.fill("[data-fix] textarea[name=answer]", curated);
  await owner.click("[data-fix] button[type=submit]");
  await owner.locator("[data-fix] .form-ok").waitFor();
  await owner.click("form[data-playground] button[type=submit]");
  await owner.locator("[data-reply]", { hasText: curated }).waitFor({ timeout: 20000 });
  check((await owner.locator("[data-outcome]").textContent()).includes("curated"), "the fixed answer is curated");

  // ------------------------------------------------------------ the widget tab: make it public
  await owner.goto(`${BASE}/dashboard/bots/${bot}/widget`);
  check((await owner.locator("#f-snippet").inputValue()).includes(`data-bot="${bot}"`), "the embed snippet names the bot");
  check(await owner.locator("[data-private-notice]").isVisible(), "a private widget is said not to answer yet");
  await owner.check("#f-public");
  await owner.click("form[data-preview] button[type=submit]");
  await owner.locator("form[data-preview] .form-ok").waitFor();
  check(!(await owner.locator("[data-private-notice]").isVisible()), "once the widget is public, the notice that it does not answer is gone");
  await axe(owner, "widget settings");
  await shot(owner, "widget-settings-1280x800");

  // The widget now gives the curated answer.
  const visitorContext = await browser.newContext({ viewport: { width: 1280, height: 800 } });
  const visitor = await visitorContext.newPage();
  watch(visitor);
  await visitor.goto(`${BASE}/preview/${bot}`);
  await visitor.locator("[data-sitechat] button.launcher").click();
  const input = visitor.locator("[data-sitechat] textarea");
  await input.fill(env.DASH_QUESTION);
  await input.press("Enter");
  await visitor.locator("[data-sitechat] .msg.bot", { hasText: "parcels leave Lyon" }).waitFor({ timeout: 20000 });

  // ------------------------------------------------------------ analytics of a scripted set of conversations
  const expected = JSON.parse(env.DASH_EXPECTED);
  await owner.goto(`${BASE}/dashboard/analytics?bot=${env.DASH_ANALYTICS_BOT}`);
  for (const [key, value] of Object.entries(expected)) {
    const shown = (await owner.locator(`[data-total="${key}"]`).textContent()).trim();
    check(shown === String(value), `analytics ${key}: expected ${value}, the page shows ${shown}`);
  }
  check(await owner.locator("figure.chart svg").count() === 9, "a chart per measure");
  check(await owner.locator("figure.chart details table").count() === 9, "every chart has a table view");
  // Each question the bot could not answer offers a curated answer for it, in the playground.
  const fix = owner.locator("#unanswered ~ table a[data-fix]").first();
  check((await fix.getAttribute("href") ?? "").includes("/playground?q="), "an unanswered question links to the playground to add a curated answer");
  await axe(owner, "analytics");
  await shot(owner, "analytics-1280x800");

  for (const page of ["leads", "webhooks", "settings"]) {
    await owner.goto(`${BASE}/dashboard/${page}`);
    await axe(owner, page);
    await shot(owner, `${page}-1280x800`);
  }

  // ------------------------------------------------------------ an agent is invited and joins
  await owner.goto(`${BASE}/dashboard/settings`);
  await owner.fill("#f-email", "arno@example.org");
  await owner.selectOption("#f-invite-role", "agent");
  await owner.click("form[data-api='/v1/users/invitations'] button[type=submit]");
  const link = owner.locator("[data-link-out] input");
  await link.waitFor();
  const invitation = await link.inputValue();
  check(invitation.startsWith(`${BASE}/dashboard/join/`), `an invitation link (got ${invitation})`);

  const agentContext = await browser.newContext({ viewport: { width: 1280, height: 800 } });
  const agent = await agentContext.newPage();
  watch(agent);
  await agent.goto(invitation);
  await axe(agent, "join");
  await agent.fill("#f-name", "Arno");
  await agent.fill("#f-password", "arno's long password");
  await agent.click("button[type=submit]");
  await agent.waitForURL(`${BASE}/dashboard/inbox`);

  // CSRF and role refusals, as the browser would meet them.
  const refusals = await agent.evaluate(async () => {
    const csrf = document.querySelector('meta[name="csrf-token"]').content;
    const post = (headers) => fetch("/v1/bots", { method: "POST", headers: { "content-type": "application/json", ...headers }, body: JSON.stringify({ name: "Mine" }) })
      .then(async (r) => ({ status: r.status, message: (await r.json()).error.message }));
    return { forged: await post({}), role: await post({ "x-csrf-token": csrf }) };
  });
  check(refusals.forged.status === 403 && refusals.forged.message.includes("CSRF"), `a change without the CSRF token is refused: ${JSON.stringify(refusals.forged)}`);
  check(refusals.role.status === 403 && refusals.role.message.includes("role (agent)"), `an agent cannot make a bot: ${JSON.stringify(refusals.role)}`);
  await agent.goto(`${BASE}/dashboard/bots`);
  check(await agent.locator("form[data-api='/v1/bots']").count() === 0, "an agent is not offered to make a bot");
  await agent.goto(`${BASE}/dashboard/inbox`);
  await agent.locator(".empty", { hasText: "Nobody is waiting" }).waitFor();

  // ------------------------------------------------------------ a visitor asks for a person; the agent answers
  await input.fill("I want to talk to a human please");
  await input.press("Enter");
  const row = agent.locator(".conversations a").first();
  await row.waitFor({ timeout: 15000 });
  // By keyboard: open the conversation and take it over.
  await row.focus();
  await agent.keyboard.press("Enter");
  await agent.waitForURL(/[?&]c=conv_/);
  await agent.locator("button", { hasText: "Take over" }).focus();
  await agent.keyboard.press("Enter");
  const reply = agent.locator("form.reply textarea");
  await reply.waitFor();
  check((await agent.locator("[data-status-line]").textContent()).includes("Arno"), "the conversation is the signed-in agent's");
  check(await agent.locator("dd", { hasText: "The visitor asked for a person" }).count() === 1, "the agent reads why the conversation was handed over");
  await axe(agent, "inbox with a conversation");
  await reply.fill("Hello, this is Arno from the shop.");
  await reply.press("Enter");
  await visitor.locator("[data-sitechat] .msg.agent", { hasText: "this is Arno" }).waitFor({ timeout: 15000 });
  await agent.locator(".msg.agent", { hasText: "this is Arno" }).waitFor({ timeout: 10000 });
  const author = await agent.locator(".msg.agent .author").last().textContent();
  check(author === "Arno", `the agent's reply carries their name (got ${author})`);
  // The visitor's next message arrives live in the agent's thread.
  await input.fill("Thanks Arno!");
  await input.press("Enter");
  await agent.locator(".msg.visitor", { hasText: "Thanks Arno!" }).waitFor({ timeout: 10000 });
  await shot(agent, "inbox-1280x800");

  // ------------------------------------------------------------ every page at phone size
  // A lead and a webhook delivery first, so that their tables are on the phone's pages too.
  const made = await owner.evaluate(async ({ bot, hook }) => {
    const csrf = document.querySelector('meta[name="csrf-token"]').content;
    const post = (path, body) => fetch(path, { method: "POST", headers: { "content-type": "application/json", "x-csrf-token": csrf }, body: JSON.stringify(body) })
      .then(async (r) => ({ status: r.status, body: await r.json() }));
    const lead = await post(`/v1/bots/${bot}/chat`, { message: "I'm Ana, ana@example.org, when do parcels leave?" });
    const endpoint = await post("/v1/webhooks", { url: hook, events: ["lead.captured"] });
    const test = endpoint.body.id ? await post(`/v1/webhooks/${endpoint.body.id}/test`, {}) : null;
    return { lead: lead.status, endpoint: endpoint.status, detail: JSON.stringify(endpoint.body).slice(0, 200), test: test && test.status };
  }, { bot, hook: "https://127.0.0.1:9/hook" });
  // The endpoint does not answer; the delivery is logged all the same.
  check(made.lead === 200 && made.endpoint === 201 && made.test !== null, `a lead and a webhook delivery for the phone's pages: ${JSON.stringify(made)}`);
  const phone = await browser.newContext({ viewport: { width: 390, height: 844 }, storageState: await ownerContext.storageState() });
  const small = await phone.newPage();
  watch(small);
  for (const [name, route] of [["bots", "/dashboard/bots"], ["bot", `/dashboard/bots/${bot}`], ["knowledge", `/dashboard/bots/${bot}/knowledge`],
    ["playground", `/dashboard/bots/${bot}/playground`], ["widget", `/dashboard/bots/${bot}/widget`], ["inbox", "/dashboard/inbox?status=all"],
    ["leads", "/dashboard/leads"], ["analytics", `/dashboard/analytics?bot=${env.DASH_ANALYTICS_BOT}`], ["webhooks", "/dashboard/webhooks"],
    ["settings", "/dashboard/settings"]]) {
    await small.goto(BASE + route);
    const overflow = await small.evaluate(() => document.documentElement.scrollWidth - window.innerWidth);
    check(overflow <= 1, `${name} fits a 390 px screen (${overflow} px too wide)`);
    // Its tables fit too, without scrolling sideways: wide ones show each row as labelled cells.
    const wide = await small.evaluate(() => [...document.querySelectorAll("table")].filter((t) => t.scrollWidth > t.clientWidth + 1).map((t) => t.caption?.textContent));
    check(wide.length === 0, `${name}: the tables fit a 390 px screen (too wide: ${wide.join(", ")})`);
    if (name === "leads" || name === "webhooks") {
      check(await small.locator("table[data-stack] td[data-label]").count() > 0, `${name}: its table is on the page, its cells labelled`);
    }
    if (name === "knowledge") {
      const kind = await small.locator('td[data-label="Kind"]').first().evaluate((td) => getComputedStyle(td, "::before").content);
      check(kind === '"Kind"', `a source's cells are labelled with their column on a phone (got ${kind})`);
      // The headings are hidden on a phone: a list above the table sorts it.
      const sortBy = small.locator("label.sort-by select");
      check(await sortBy.isVisible(), "on a phone the sources are sorted from a list above them");
      // Both ways, so that a list that does nothing cannot pass on the page's own order.
      const titlesNow = () => small.locator("table[data-sortable] tbody tr td:first-child").allTextContents();
      await sortBy.selectOption({ label: "Title, ascending" });
      const up = await titlesNow();
      check(JSON.stringify(up) === JSON.stringify([...up].sort((a, b) => a.toLowerCase() < b.toLowerCase() ? -1 : 1)), `sorted by title, ascending, on a phone: ${up}`);
      await sortBy.selectOption({ label: "Title, descending" });
      const down = await titlesNow();
      check(JSON.stringify(down) === JSON.stringify([...up].reverse()), `sorted by title, descending, on a phone: ${down}`);
    }
    await axe(small, `${name} at 390 px`);
    await shot(small, `${name}-390x844`);
  }

  // Signing out ends the session.
  await owner.goto(`${BASE}/dashboard/bots`);
  await owner.click("[data-sign-out]");
  await owner.waitForURL(/sign-in/);
  await owner.goto(`${BASE}/dashboard/bots`);
  check(owner.url().includes("/dashboard/sign-in"), "after signing out, pages ask to sign in");

  check(errors.length === 0, `page errors: ${errors.join("; ")}`);
  for (const c of [ownerContext, visitorContext, agentContext, phone]) await c.close();
  console.log("dashboard test: passed");
}

// Real-browser test of the chat widget, run by web/tests/browser.mjs with the shared browser
// (Debian's chromium driven by playwright-core). crates/server/tests/api/browser.rs starts the
// server and makes the bots:
//   SITECHAT_BASE  the server (http://127.0.0.1:PORT)
//   SITECHAT_KEY   the bots' owner's API key (to take a conversation over as an agent)
//   BOT            a public bot that knows the shop's FAQ
//   HOSTILE_BOT    a public bot whose name and knowledge are hostile markup
//   REFUSED_BOT    a public bot that allows another origin only
//   OUT_DIR        where the screenshots go
// The host page is served from another loopback origin than the server, with CSS that would
// break the widget if it leaked in. Exits non-zero with a message on the first failure.
import http from "node:http";
import { createRequire } from "node:module";
import fs from "node:fs";
import path from "node:path";

const require = createRequire(import.meta.url);
const { SITECHAT_BASE: BASE, SITECHAT_KEY: KEY, BOT, HOSTILE_BOT, REFUSED_BOT, OUT_DIR } = process.env;
const AXE = fs.readFileSync(require.resolve("axe-core/axe.min.js"), "utf8");

function fail(message) {
  console.error(`widget test: ${message}`);
  process.exit(1);
}
function check(condition, message) {
  if (!condition) fail(message);
}

export async function run(browser) {
  // The host site: another origin, hostile CSS.
  const host = http.createServer((req, res) => {
    const query = new URL(req.url, "http://x").searchParams;
    const bot = query.get("bot");
    const lang = query.get("lang") || "en";
    res.writeHead(200, { "content-type": "text/html; charset=utf-8" });
    res.end(`<!doctype html><html lang="${lang}"><head><meta charset="utf-8">
  <meta name="viewport" content="width=device-width, initial-scale=1"><title>Hazel &amp; Moss</title>
  <style>* { color: red !important; font-size: 40px !important; display: block; } button { width: 10px !important }</style></head>
  <body><main><h1>Hazel &amp; Moss</h1><p>Garden supplies.</p></main>
  <script src="${BASE}/widget.js" data-bot="${bot}" async></script></body></html>`);
  });
  await new Promise((ok) => host.listen(0, "127.0.0.1", ok));
  const HOST = `http://127.0.0.1:${host.address().port}`;

  const shot = (page, name) => page.screenshot({ path: path.join(OUT_DIR, `${name}.png`) });

  async function api(method, route, body) {
    const r = await fetch(BASE + route, {
      method,
      headers: { authorization: `Bearer ${KEY}`, "content-type": "application/json" },
      body: body === undefined ? undefined : JSON.stringify(body),
    });
    const text = await r.text();
    check(r.ok, `${method} ${route}: ${r.status} ${text}`);
    return JSON.parse(text || "null");
  }

  async function axe(page, state) {
    await page.evaluate(AXE);
    const result = await page.evaluate(() => window.axe.run(document, { resultTypes: ["violations"] }));
    const bad = result.violations.filter((v) => v.impact === "serious" || v.impact === "critical");
    check(bad.length === 0, `axe (${state}): ${JSON.stringify(bad.map((v) => ({ id: v.id, impact: v.impact, nodes: v.nodes.map((n) => n.target) })))}`);
  }

  try {
    // ---------------------------------------------------------------- desktop: ask, stream, sources, reload
    const desktop = await browser.newContext({ viewport: { width: 1280, height: 800 } });
    const page = await desktop.newPage();
    const errors = [];
    page.on("pageerror", (e) => errors.push(String(e)));
    await page.goto(`${HOST}/?bot=${BOT}`);
    const launcher = page.locator("[data-sitechat] button.launcher");
    await launcher.waitFor();
    check(await page.evaluate(() => Object.keys(window.sitechat).sort().join(",")) === "close,identify,on,open,version",
      "the widget's global API");
    const size = await launcher.boundingBox();
    check(Math.round(size.width) === 56 && Math.round(size.height) === 56, `the launcher is 56 px (got ${size.width}×${size.height}): the host's CSS leaked in`);
    await axe(page, "closed");
    await launcher.click();
    const input = page.locator("[data-sitechat] textarea");
    await input.waitFor();
    check(await page.evaluate(() => document.querySelector("[data-sitechat]").shadowRoot.activeElement?.tagName) === "TEXTAREA",
      "opening the widget focuses its input");
    await page.locator("[data-sitechat] h2", { hasText: "Hazel Shop" }).waitFor();
    await input.fill("How long do refunds take?");
    await input.press("Enter");
    const answer = page.locator("[data-sitechat] .msg.bot", { hasText: "5 business days" });
    await answer.waitFor({ timeout: 15000 });
    const source = answer.locator(".sources a");
    check(await source.count() > 0, "the answer lists its sources as links");
    check(/^https?:/.test(await source.first().getAttribute("href")), "a source link is http(s)");
    check(await source.first().getAttribute("rel") === "noopener noreferrer", "a source opens safely");
    await shot(page, "widget-1280x800-answer");
    await axe(page, "open with an answer");
    // Survives a reload: the conversation comes back.
    await page.reload();
    await launcher.waitFor();
    await launcher.click();
    await page.locator("[data-sitechat] .msg.visitor", { hasText: "How long do refunds take?" }).waitFor();
    await page.locator("[data-sitechat] .msg.bot", { hasText: "5 business days" }).waitFor();
    // Escape closes and gives focus back to the launcher.
    await page.keyboard.press("Escape");
    check(await page.locator("[data-sitechat] .panel").isHidden(), "Escape closes the widget");

    // ---------------------------------------------------------------- a person answers, live
    await launcher.click();
    const visit = await page.evaluate((bot) => JSON.parse(localStorage.getItem(`sitechat:${bot}`)), BOT);
    check(visit && visit.token.startsWith("vt1."), "the visit is kept in localStorage");
    await api("POST", `/v1/conversations/${visit.conversation_id}/takeover`, { agent: "Marie" });
    await page.locator("[data-sitechat] .status", { hasText: "Marie joined" }).waitFor({ timeout: 10000 });
    await api("POST", `/v1/conversations/${visit.conversation_id}/messages`, { role: "agent", text: "Hi, Marie here <b>hello</b>." });
    const agent = page.locator("[data-sitechat] .msg.agent", { hasText: "Marie here <b>hello</b>." });
    await agent.waitFor({ timeout: 10000 });
    check(await agent.locator("b").count() === 0, "an agent's markup stays text");
    await api("POST", `/v1/conversations/${visit.conversation_id}/messages`, { role: "agent", text: "See [our returns page](https://shop.example/returns), https://shop.example/faq. or [this](javascript:alert(1))." });
    const linked = page.locator("[data-sitechat] .msg.agent", { hasText: "our returns page" });
    await linked.waitFor({ timeout: 10000 });
    const hrefs = await linked.locator("a").evaluateAll((links) => links.map((a) => a.getAttribute("href")));
    check(JSON.stringify(hrefs) === JSON.stringify(["https://shop.example/returns", "https://shop.example/faq"]), `Markdown and bare links only, http(s) only (got ${hrefs})`);
    check((await linked.textContent()).includes("[this](javascript:alert(1))"), "a javascript: link stays text");
    await shot(page, "widget-1280x800-agent");
    // Closed, an agent's message shows on the launcher's badge; opening reads it.
    await page.keyboard.press("Escape");
    await api("POST", `/v1/conversations/${visit.conversation_id}/messages`, { role: "agent", text: "One more thing." });
    const badge = page.locator("[data-sitechat] .badge");
    await badge.waitFor({ timeout: 10000 });
    check((await badge.textContent()) === "1", "one unread message on the badge");
    await launcher.click();
    check(await badge.isHidden(), "opening the widget reads the unread messages");
    await page.reload();
    await launcher.waitFor();
    check(await page.locator("[data-sitechat] .badge").isHidden(), "history is not counted as unread after a reload");
    await launcher.click();
    await api("POST", `/v1/conversations/${visit.conversation_id}/release`, {});
    await page.locator("[data-sitechat] .status", { hasText: "Usually answers instantly" }).waitFor({ timeout: 10000 });

    // ---------------------------------------------------------------- a fallback asks for an email, inline
    await input.fill("Do you sell helicopters?");
    await input.press("Enter");
    const lead = page.locator("[data-sitechat] form.lead");
    await lead.waitFor({ timeout: 15000 });
    check(await page.locator("[data-sitechat] .chip", { hasText: "Talk to a person" }).count() === 1, "a fallback offers a person");
    check((await lead.locator(".consent").textContent()) === "We handle your email as our privacy notice says.", "the form shows the bot's consent text");
    await lead.locator("input").fill("not an email");
    await lead.locator("button").click();
    await lead.locator(".error", { hasText: "check" }).waitFor();
    await lead.locator("input").fill("jane@example.org");
    await lead.locator("button").click();
    await page.locator("[data-sitechat] .lead", { hasText: "get back to you" }).waitFor();
    const leads = await api("GET", "/v1/leads");
    check(JSON.stringify(leads).includes("jane@example.org"), "the lead is captured");
    await shot(page, "widget-1280x800-lead");
    await axe(page, "lead form");

    // ---------------------------------------------------------------- the end: a rating
    await api("POST", `/v1/conversations/${visit.conversation_id}/end`, {});
    const stars = page.locator("[data-sitechat] .stars");
    await stars.waitFor({ timeout: 10000 });
    await stars.locator("button[aria-label='5 of 5']").click();
    await page.locator("[data-sitechat] .stars", { hasText: "Thank you" }).waitFor();
    check(await input.isDisabled(), "an ended conversation takes no more messages");
    for (let i = 0; i < 20; i++) {
      const c = await api("GET", `/v1/conversations/${visit.conversation_id}`);
      if (c.rating === 5) break;
      check(i < 19, "the rating is saved");
      await page.waitForTimeout(100);
    }
    await shot(page, "widget-1280x800-rated");
    await axe(page, "ended and rated");
    // A new conversation.
    await page.locator("[data-sitechat] .stars button.again").click();
    check(!(await input.isDisabled()), "a new conversation takes messages");
    const again = await page.evaluate((bot) => JSON.parse(localStorage.getItem(`sitechat:${bot}`)), BOT);
    check(again === null, "the ended visit is forgotten");

    // ---------------------------------------------------------------- the live stream drops and comes back
    // The first live connection ends at once (as a dropped network would end it) and asks to be
    // retried in 2 s; what an agent says meanwhile must appear once it is back, once.
    const flaky = await (await browser.newContext()).newPage();
    let dropped = false;
    await flaky.route("**/stream?*", (route) => {
      if (dropped) return route.continue();
      dropped = true;
      return route.fulfill({
        status: 200,
        headers: { "content-type": "text/event-stream", "access-control-allow-origin": HOST },
        body: "retry: 2000\n\n",
      });
    });
    await flaky.goto(`${HOST}/?bot=${BOT}`);
    await flaky.locator("[data-sitechat] button.launcher").click();
    const flakyInput = flaky.locator("[data-sitechat] textarea");
    await flakyInput.fill("How long do refunds take?");
    await flakyInput.press("Enter");
    await flaky.locator("[data-sitechat] .msg.bot", { hasText: "5 business days" }).waitFor({ timeout: 15000 });
    const flakyVisit = await flaky.evaluate((bot) => JSON.parse(localStorage.getItem(`sitechat:${bot}`)), BOT);
    check(dropped, "the first live connection was dropped");
    await api("POST", `/v1/conversations/${flakyVisit.conversation_id}/takeover`, { agent: "Sam" });
    await api("POST", `/v1/conversations/${flakyVisit.conversation_id}/messages`, { role: "agent", text: "Sam here, said while you were away." });
    await flaky.locator("[data-sitechat] .msg.agent", { hasText: "said while you were away" }).waitFor({ timeout: 15000 });
    await flaky.locator("[data-sitechat] .status", { hasText: "Sam joined" }).waitFor({ timeout: 5000 });
    await flaky.waitForTimeout(300);
    check(await flaky.locator("[data-sitechat] .msg.agent").count() === 1, "a message missed while disconnected is shown once");
    check(await flaky.locator("[data-sitechat] .msg.bot", { hasText: "5 business days" }).count() === 1, "nothing is shown twice after reconnecting");
    await flaky.context().close();

    // ---------------------------------------------------------------- a person asked for, out of hours
    const days = ["mon", "tue", "wed", "thu", "fri", "sat", "sun"];
    await api("PATCH", `/v1/bots/${BOT}`, { settings: { business_hours: { utc_offset: "+00:00", slots: days.map((day) => ({ day, open: "00:00", close: "00:01" })) } } });
    const night = await (await browser.newContext()).newPage();
    await night.goto(`${HOST}/?bot=${BOT}`);
    await night.locator("[data-sitechat] button.launcher").click();
    const nightInput = night.locator("[data-sitechat] textarea");
    await nightInput.fill("Do you sell helicopters?");
    await nightInput.press("Enter");
    await night.locator("[data-sitechat] .chip", { hasText: "Talk to a person" }).click();
    await night.locator("[data-sitechat] .status", { hasText: "away" }).waitFor({ timeout: 10000 });
    await shot(night, "widget-1280x800-away");
    await night.context().close();
    await api("PATCH", `/v1/bots/${BOT}`, { settings: { business_hours: null } });

    // ---------------------------------------------------------------- a signed-in user on two devices
    const { identity_secret: secret } = await api("POST", `/v1/bots/${BOT}/identity-secret`, {});
    const crypto = await import("node:crypto");
    const hash = crypto.createHmac("sha256", secret).update("user-42").digest("hex");
    const deviceA = await (await browser.newContext()).newPage();
    await deviceA.goto(`${HOST}/?bot=${BOT}`);
    await deviceA.locator("[data-sitechat] button.launcher").waitFor();
    await deviceA.evaluate((h) => window.sitechat.identify("user-42", h), hash);
    await deviceA.locator("[data-sitechat] button.launcher").click();
    const inputA = deviceA.locator("[data-sitechat] textarea");
    await inputA.fill("When are you open on Saturdays?");
    await inputA.press("Enter");
    await deviceA.locator("[data-sitechat] .msg.bot", { hasText: "10am" }).waitFor({ timeout: 15000 });
    const deviceB = await (await browser.newContext()).newPage();
    await deviceB.goto(`${HOST}/?bot=${BOT}`);
    await deviceB.locator("[data-sitechat] button.launcher").waitFor();
    await deviceB.evaluate((h) => window.sitechat.identify("user-42", h), hash);
    await deviceB.locator("[data-sitechat] button.launcher").click();
    await deviceB.locator("[data-sitechat] .msg.visitor", { hasText: "When are you open on Saturdays?" }).waitFor({ timeout: 10000 });
    await api("DELETE", `/v1/bots/${BOT}/identity-secret`);

    // ---------------------------------------------------------------- the page's language
    const french = await (await browser.newContext()).newPage();
    await french.goto(`${HOST}/?bot=${BOT}&lang=fr-FR`);
    const frLauncher = french.locator("[data-sitechat] button.launcher[aria-label='Ouvrir le chat']");
    await frLauncher.waitFor({ timeout: 10000 });
    await frLauncher.click();
    check(await french.locator("[data-sitechat] textarea").getAttribute("placeholder") === "Écrivez un message…", "the widget's texts follow the page's lang");
    await french.context().close();

    // ---------------------------------------------------------------- mobile: full screen
    const mobile = await browser.newContext({ viewport: { width: 375, height: 667 }, isMobile: true, hasTouch: true });
    const phone = await mobile.newPage();
    await phone.goto(`${HOST}/?bot=${BOT}`);
    await phone.locator("[data-sitechat] button.launcher").click();
    await phone.locator("[data-sitechat] textarea").waitFor();
    const panel = await phone.locator("[data-sitechat] .panel").boundingBox();
    check(Math.round(panel.width) === 375 && Math.round(panel.height) === 667, `full screen below 480 px (got ${panel.width}×${panel.height})`);
    await shot(phone, "widget-375x667-open");
    await axe(phone, "mobile, open");

    // ---------------------------------------------------------------- keyboard only, and the dark theme
    await api("PATCH", `/v1/bots/${BOT}`, { settings: { branding: { theme: "dark", primary_color: "#0ea5e9", launcher_text: "Questions? Ask us here." } } });
    const dark = await (await browser.newContext()).newPage();
    await dark.goto(`${HOST}/?bot=${BOT}`);
    await dark.locator("[data-sitechat] button.launcher").waitFor();
    await dark.locator("[data-sitechat] .bubble", { hasText: "Questions? Ask us here." }).waitFor();
    await shot(dark, "widget-1280x800-launcher-text");
    // The host page has no focusable element of its own: Tab reaches the launcher.
    await dark.keyboard.press("Tab");
    check(await dark.evaluate(() => document.querySelector("[data-sitechat]").shadowRoot.activeElement?.className) === "launcher",
      "Tab reaches the launcher");
    await dark.keyboard.press("Enter");
    await dark.locator("[data-sitechat] textarea").waitFor();
    await dark.keyboard.type("When are you open on Saturdays?");
    await dark.keyboard.press("Enter");
    await dark.locator("[data-sitechat] .msg.bot", { hasText: "10am" }).waitFor({ timeout: 15000 });
    await shot(dark, "widget-1280x800-dark");
    await axe(dark, "dark theme");
    check(await dark.locator("[data-sitechat] .bubble").isHidden(), "the launcher text goes once the widget opens");
    await dark.keyboard.press("Escape");
    check(await dark.evaluate(() => document.querySelector("[data-sitechat]").shadowRoot.activeElement?.className) === "launcher",
      "closing gives focus back to the launcher");
    await dark.reload();
    await dark.locator("[data-sitechat] button.launcher").waitFor();
    await dark.waitForTimeout(300);
    check(await dark.locator("[data-sitechat] .bubble").isHidden(), "the launcher text is shown once a visit");
    await api("PATCH", `/v1/bots/${BOT}`, { settings: { branding: {} } });

    // ---------------------------------------------------------------- hostile strings stay inert
    const hostile = await desktop.newPage();
    await hostile.goto(`${HOST}/?bot=${HOSTILE_BOT}`);
    await hostile.locator("[data-sitechat] button.launcher").click();
    const name = await hostile.locator("[data-sitechat] h2").textContent();
    check(name.includes("<img src=x onerror="), `the bot's name is shown as text (got ${name})`);
    const hostileInput = hostile.locator("[data-sitechat] textarea");
    await hostileInput.fill("<img src=x onerror=window.__pwned=3> what is on offer?");
    await hostileInput.press("Enter");
    await hostile.locator("[data-sitechat] .msg.bot", { hasText: "offer" }).last().waitFor({ timeout: 15000 });
    check(await hostile.evaluate(() => window.__pwned === undefined), "no hostile markup ran");
    check(await hostile.locator("[data-sitechat] img:not(.logo)").count() === 0, "no hostile element was made");
    await shot(hostile, "widget-1280x800-hostile");

    // ---------------------------------------------------------------- a refused origin sends nothing
    const refused = await desktop.newPage();
    const sent = [];
    refused.on("request", (r) => { if (r.method() === "POST") sent.push(r.url()); });
    await refused.goto(`${HOST}/?bot=${REFUSED_BOT}`);
    await refused.locator("[data-sitechat] button.launcher").click();
    await refused.locator("[data-sitechat] .notice", { hasText: "not available" }).waitFor({ timeout: 10000 });
    check(await refused.locator("[data-sitechat] textarea").isDisabled(), "a refused widget's input is disabled");
    check(sent.length === 0, `a refused widget sends nothing (sent ${sent.join(", ")})`);
    await shot(refused, "widget-1280x800-refused");

    check(errors.length === 0, `page errors: ${errors.join("; ")}`);
    console.log("widget test: passed");
  } catch (e) {
    fail(e && e.stack ? e.stack : String(e));
  } finally {
    host.close();
  }
}

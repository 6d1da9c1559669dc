// Widget open to first streamed token, in Debian's chromium (run by crates/server/benches/widget.rs):
// for each run a fresh visitor opens the widget on a host page of another origin and asks a
// question; the time from the launcher's click to the first piece of the answer on screen is
// measured in the page (performance.now()). Prints one JSON line.
import http from "node:http";
import { chromium } from "playwright-core";

const { SITECHAT_BASE: BASE, BOT } = process.env;
const RUNS = Number(process.env.RUNS || 10);
const host = http.createServer((req, res) => {
  res.writeHead(200, { "content-type": "text/html; charset=utf-8" });
  res.end(`<!doctype html><html lang="en"><head><title>Host</title></head><body>
<script src="${BASE}/widget.js" data-bot="${BOT}" async></script></body></html>`);
});
await new Promise((ok) => host.listen(0, "127.0.0.1", ok));
const browser = await chromium.launch({
  executablePath: process.env.CHROMIUM || "/usr/bin/chromium",
  args: ["--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking",
    "--disable-component-update", "--no-first-run"],
});
const times = [];
try {
  for (let i = 0; i < RUNS; i++) {
    const context = await browser.newContext({ viewport: { width: 1280, height: 800 } });
    const page = await context.newPage();
    await page.goto(`http://127.0.0.1:${host.address().port}/`);
    await page.locator("[data-sitechat] button.launcher").waitFor();
    await page.evaluate(() => {
      const root = document.querySelector("[data-sitechat]").shadowRoot;
      window.__bench = {};
      root.querySelector(".launcher").addEventListener("click", () => { window.__bench.open = performance.now(); }, { capture: true });
      new MutationObserver(() => {
        const replies = root.querySelectorAll(".msg.bot:not(.dots) .text");
        const last = replies[replies.length - 1];
        if (replies.length > 1 && last.textContent && !window.__bench.token) window.__bench.token = performance.now();
      }).observe(root.querySelector(".log"), { childList: true, subtree: true, characterData: true });
    });
    await page.locator("[data-sitechat] button.launcher").click();
    const input = page.locator("[data-sitechat] textarea");
    await input.fill(`How long do refunds take? (${i})`);
    await input.press("Enter");
    await page.waitForFunction(() => window.__bench.token, null, { timeout: 30000 });
    const t = await page.evaluate(() => window.__bench.token - window.__bench.open);
    times.push(Math.round(t * 10) / 10);
    await context.close();
  }
} finally {
  await browser.close();
  host.close();
}
console.log(JSON.stringify({ open_to_first_token_ms: times }));

// The browser tests: one headless chromium (Debian's, driven by playwright-core) shared by the
// widget's and the dashboard's suites. Run by crates/server/tests/api/browser.rs; exits non-zero
// with a message on the first failure.
import { chromium } from "playwright-core";
import { run as widget } from "./widget.mjs";
import { run as dashboard } from "./dashboard.mjs";

// Starting chromium on a loaded 2-core machine has failed once in a while ("browser has been
// closed" before it was up): that is the machine, not sitechat, so a failed start is retried.
async function launch() {
  for (let attempt = 1; ; attempt++) {
    try {
      return await chromium.launch({
        executablePath: process.env.CHROMIUM || "/usr/bin/chromium",
        args: ["--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking",
          "--disable-component-update", "--no-first-run"],
      });
    } catch (e) {
      if (attempt >= 3) throw e;
      console.error(`chromium did not start (attempt ${attempt}): ${String(e).split("\n")[0]}`);
      await new Promise((ok) => setTimeout(ok, 2000));
    }
  }
}
const browser = await launch();
try {
  const only = process.env.ONLY;
  if (!only || only === "widget") await widget(browser);
  if (!only || only === "dashboard") await dashboard(browser);
  console.log("browser tests: passed");
} catch (e) {
  console.error(e && e.stack ? e.stack : String(e));
  // What every open page showed when it failed.
  let n = 0;
  for (const context of browser.contexts()) {
    for (const page of context.pages()) {
      n += 1;
      await page.screenshot({ path: `${process.env.OUT_DIR}/failure-${n}.png`, fullPage: true }).catch(() => {});
      console.error(`failure-${n}.png: ${page.url()}`);
    }
  }
  process.exitCode = 1;
} finally {
  await browser.close();
}

// Opens each HTML page given on the command line in headless Chromium, on a desktop and on a phone
// screen, runs axe-core's WCAG 2.1 A and AA rules, and fails on any violation. A full-page
// screenshot of each is written beside the page (…-desktop.png, …-phone.png) for people to look at.
import { readFileSync } from "node:fs";
import { createRequire } from "node:module";
import path from "node:path";
import { chromium } from "playwright-core";

const require = createRequire(import.meta.url);
const axeSource = readFileSync(require.resolve("axe-core/axe.min.js"), "utf8");
const pages = process.argv.slice(2);
if (pages.length === 0) {
  console.error("usage: node check.mjs PAGE.html…");
  process.exit(2);
}

const browser = await chromium.launch({
  executablePath: process.env.CHROMIUM ?? "/usr/bin/chromium",
  args: ["--no-sandbox"],
});
const screens = [
  { name: "desktop", width: 1280, height: 900 },
  { name: "phone", width: 390, height: 844 },
];
let violations = 0;
for (const file of pages) {
  for (const screen of screens) {
    const page = await browser.newPage({ viewport: { width: screen.width, height: screen.height } });
    await page.goto("file://" + path.resolve(file));
    await page.addScriptTag({ content: axeSource });
    const result = await page.evaluate(() =>
      window.axe.run(document, {
        runOnly: { type: "tag", values: ["wcag2a", "wcag2aa", "wcag21a", "wcag21aa"] },
      }),
    );
    const shot = file.replace(/\.html$/, `-${screen.name}.png`);
    await page.screenshot({ path: shot, fullPage: true });
    console.log(
      `${file} (${screen.name}): ${result.passes.length} rules pass, ` +
        `${result.violations.length} violated, ${result.incomplete.length} to check by hand; screenshot ${shot}`,
    );
    for (const v of result.violations) {
      violations += 1;
      console.log(`  VIOLATION ${v.id} (${v.impact}): ${v.help}`);
      for (const node of v.nodes) console.log(`    at ${node.target.join(" ")}: ${node.failureSummary}`);
    }
    await page.close();
  }
}
await browser.close();
if (violations > 0) {
  console.error(`axe-core: ${violations} WCAG 2.1 A/AA violation(s)`);
  process.exit(1);
}
console.log("axe-core: no WCAG 2.1 A/AA violations");

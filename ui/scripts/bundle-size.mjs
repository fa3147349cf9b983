// Prints the gzipped size of the production JS and CSS after `vite build`,
// and fails the build when the JS passes the budget.
import { readdirSync, readFileSync } from "node:fs";
import { join } from "node:path";
import { gzipSync } from "node:zlib";

const BUDGET_KB = 60;
const dir = new URL("../dist/assets/", import.meta.url).pathname;
let js = 0;
let css = 0;
for (const name of readdirSync(dir)) {
  const size = gzipSync(readFileSync(join(dir, name)), { level: 9 }).length;
  if (name.endsWith(".js")) js += size;
  if (name.endsWith(".css")) css += size;
}
const kb = (n) => (n / 1024).toFixed(1);
console.log(`bundle: JS ${kb(js)} KB gzipped (budget ${BUDGET_KB} KB), CSS ${kb(css)} KB gzipped`);
if (js > BUDGET_KB * 1024) {
  console.error(`bundle: JS is over the ${BUDGET_KB} KB budget`);
  process.exit(1);
}

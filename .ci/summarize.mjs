// Prints the CI closing line `N passed, N failed` from vitest's JSON report, and exits non-zero
// when anything failed, the report is missing (the build broke), or the test command failed.
import { existsSync, readFileSync } from 'node:fs';

const [file, rcArg] = process.argv.slice(2);
const rc = Number(rcArg ?? 0);
if (!existsSync(file)) {
  console.log(`no test report (${file}): the build or the test run failed before any test ran`);
  console.log('0 passed, 1 failed');
  process.exit(1);
}
const r = JSON.parse(readFileSync(file, 'utf8'));
const passed = r.numPassedTests ?? 0;
let failed = r.numFailedTests ?? 0;
// A test file that fails to load counts as a failure even though it ran no test.
const brokenFiles = (r.testResults ?? []).filter((t) => t.status === 'failed' && (t.assertionResults ?? []).length === 0).length;
failed += brokenFiles;
if (rc !== 0 && failed === 0) failed = 1;
const skipped = (r.numPendingTests ?? 0) + (r.numTodoTests ?? 0);
console.log(`${passed} passed, ${failed} failed${skipped ? `, ${skipped} skipped` : ''}`);
process.exit(failed > 0 ? 1 : 0);

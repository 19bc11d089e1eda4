import type { Reporter, TestModule } from 'vitest/node';

/**
 * Prints the closing line CI reads: `N passed, N failed, N skipped`.
 * Vitest's own summary is kept; this line comes last.
 */
export default class SummaryReporter implements Reporter {
  onTestRunEnd(testModules: ReadonlyArray<TestModule>, unhandledErrors: ReadonlyArray<unknown>): void {
    let passed = 0;
    let failed = 0;
    let skipped = 0;
    for (const mod of testModules) {
      for (const test of mod.children.allTests()) {
        const state = test.result().state;
        if (state === 'passed') passed++;
        else if (state === 'failed') failed++;
        else skipped++;
      }
      // A suite whose beforeAll/afterAll threw, or a module that failed to load, failed with no
      // failed test to show for it (its tests count as skipped): each counts as one failure.
      // Counted at the deepest place: not again for the suites and the module around it.
      for (const suite of [mod, ...mod.children.allSuites()]) {
        if (suite.state() !== 'failed') continue;
        const testFailed = [...suite.children.allTests()].some((t) => t.result().state === 'failed');
        const innerFailed = [...suite.children.allSuites()].some((s) => s.state() === 'failed');
        if (!testFailed && !innerFailed) failed++;
      }
    }
    failed += unhandledErrors.length;
    process.stdout.write(`\n${passed} passed, ${failed} failed, ${skipped} skipped\n`);
  }
}

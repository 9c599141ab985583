import type { Reporter, TestModule } from 'vitest/node'

/** Ends the run with one plain line, `Tests: N passed, N failed, N skipped`, that any CI can read. */
export default class SummaryReporter implements Reporter {
  onTestRunEnd (modules: ReadonlyArray<TestModule>, errors: ReadonlyArray<unknown>) {
    const n = { passed: 0, failed: 0, skipped: 0 }
    for (const m of modules) {
      for (const c of m.children.allTests()) {
        const s = c.result().state
        if (s === 'passed') n.passed++
        else if (s === 'failed') n.failed++
        else n.skipped++
      }
      // A file that failed to load has no tests to count: count it as one failure.
      if (m.state() === 'failed' && [...m.children.allTests()].length === 0) n.failed++
    }
    n.failed += errors.length
    console.log(`Tests: ${n.passed} passed, ${n.failed} failed, ${n.skipped} skipped`)
  }
}

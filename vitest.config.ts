import { defineConfig } from 'vitest/config'

// Real services in every suite (embedded store, PostgreSQL, MQTT over TCP, chromium): files run
// in separate processes, two at a time on these 2-core machines; tests inside a file in order.
export default defineConfig({
  test: {
    include: ['test/**/*.test.ts'],
    pool: 'forks',
    maxWorkers: 2,
    testTimeout: 300_000,
    hookTimeout: 300_000,
    teardownTimeout: 30_000,
    reporters: ['default', './test/summary-reporter.ts'],
  },
})

import { defineConfig } from 'vitest/config'

export default defineConfig({
  // src/ has CommonJS TypeScript (.cts: the service descriptors the ESM modules and the jest helper
  // share); compile it as vite compiles .ts.
  oxc: { include: /\.(m?ts|cts|[jt]sx)$/ },
  test: {
    include: ['test/**/*.test.ts'],
    testTimeout: 20_000,
    hookTimeout: 20_000,
  },
})

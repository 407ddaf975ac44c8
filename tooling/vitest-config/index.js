// Shared vitest defaults. Real-process tests are slow on a shared two-core machine, so the
// timeouts are generous; tests wait on events, so a long timeout only costs time on failure.
export const sharedTestConfig = {
  restoreMocks: true,
  testTimeout: 60_000,
  hookTimeout: 60_000,
  pool: 'forks',
  fileParallelism: false,
  passWithNoTests: true,
};

// Shared vitest defaults. Real-process tests are slow on a shared two-core machine, so the
// timeouts are generous; tests wait on events, so a long timeout only costs time on failure.
export const sharedTestConfig = {
  restoreMocks: true,
  testTimeout: 60_000,
  hookTimeout: 60_000,
  pool: 'forks',
  fileParallelism: false,
  passWithNoTests: true,
  // Terminals in tests run /bin/sh, not the developer's login shell: a test that kills a
  // shell mid-start-up can leave an rc file's lock behind (pyenv's rehash lock, seen here),
  // and then every later interactive bash stalls for a minute waiting on it.
  env: { SHELL: '/bin/sh' },
};

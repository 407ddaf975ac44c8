import { defineConfig } from 'vitest/config';
import { sharedTestConfig } from '@tether/vitest-config';

export default defineConfig({
  test: { ...sharedTestConfig, include: ['src/**/*.test.ts', 'src/**/*.test.tsx'] },
});

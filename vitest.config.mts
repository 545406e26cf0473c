import { configDefaults, defineConfig } from 'vitest/config';

export default defineConfig({
  test: {
    testTimeout: 60_000,
    hookTimeout: 60_000,
    // Two cores: more workers only add contention for the emulators' event loops.
    maxWorkers: 2,
    env: {
      AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED: 'true',
      CDK_DISABLE_CLI_TELEMETRY: 'true',
    },
    // Two tiers (docs/development.md, "Tests"): `npm run test:unit` runs the first, `npm test` both.
    projects: [
      {
        extends: true,
        test: {
          // In-memory fakes only: no emulator, no socket, no child process, no bundle. Runs in a few seconds.
          name: 'unit',
          include: ['test/unit/**/*.test.ts'],
        },
      },
      {
        extends: true,
        test: {
          // `*.test-d.ts` files hold `expectTypeOf` tests. vitest runs tsc over the project (tsconfig.json) and fails
          // a test on a type error in its file; a type error anywhere else fails the run as a source error. Its own
          // project so that `npm run test:unit` stays a few seconds (tsc takes 4-6 s cold on this machine).
          name: 'types',
          typecheck: { enabled: true, only: true, include: ['test/**/*.test-d.ts'] },
        },
      },
      {
        extends: true,
        test: {
          // Everything else: the real parts (fauxqs, the PostHog emulator over HTTP, esbuild bundles, cdk synth).
          name: 'integration',
          include: ['test/**/*.test.ts'],
          exclude: [...configDefaults.exclude, 'test/unit/**'],
        },
      },
    ],
  },
});

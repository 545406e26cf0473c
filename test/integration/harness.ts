import { mkdir, mkdtemp, readFile, rm } from 'node:fs/promises';
import path from 'node:path';
import {
  demoSeed,
  type PostHogEmulator,
  type PostHogEmulatorOptions,
  startPostHogEmulator,
} from '../../local/posthog-emulator/index.ts';
import { buildBundles, bundlePath } from '../../local/runner/build.ts';
import { emulatorTarget, timeScaledEnv } from '../../local/runner/emulator-target.ts';
import {
  type LocalStack,
  type LocalStackOptions,
  startLocalStack,
} from '../../local/runner/stack.ts';
import { sendCommandLines } from '../../local/sqs/send-commands.ts';

/** One real minute per second: the emulator's rate windows, Retry-After and delays; the functions' budgets match. */
export const TIME_SCALE = 60;

/** The handlers' environment for a time-scaled emulator (what `npm start` uses). */
export function scaledEnv(overrides: Record<string, string> = {}): Record<string, string> {
  return { ...timeScaledEnv(TIME_SCALE), RETRY_MAX_DELAY_SECONDS: '4', ...overrides };
}

/** Builds the real deployable bundles into a private directory (no clash with other test files). */
export async function buildTestBundles(): Promise<{
  modules: LocalStackOptions['modules'];
  cleanup: () => Promise<void>;
}> {
  // Inside the project (git-ignored tmp/): the bundles keep `@aws-sdk/*` external, as on Lambda, and
  // resolve it from the project's node_modules.
  const root = path.resolve(import.meta.dirname, '../../tmp');
  await mkdir(root, { recursive: true });
  const dir = await mkdtemp(path.join(root, 'bundles-'));
  await buildBundles(dir);
  return {
    modules: { deletions: bundlePath('deletions', dir), changes: bundlePath('changes', dir) },
    cleanup: () => rm(dir, { recursive: true, force: true }),
  };
}

/** A running pipeline around a seeded, time-scaled emulator. */
export interface Pipeline {
  readonly emulator: PostHogEmulator;
  readonly stack: LocalStack;
  /** Sends NDJSON lines like `npm start` (invalid lines to the deletions queue). */
  send(lines: readonly string[]): ReturnType<typeof sendCommandLines>;
  close(): Promise<void>;
}

export async function startPipeline(
  modules: LocalStackOptions['modules'],
  options: {
    emulator?: PostHogEmulatorOptions;
    env?: Record<string, string>;
    stack?: Partial<LocalStackOptions>;
  } = {},
): Promise<Pipeline> {
  const emulator = await startPostHogEmulator({
    seed: demoSeed(),
    timeScale: TIME_SCALE,
    ...options.emulator,
  });
  const stack = await startLocalStack({
    posthog: emulatorTarget(emulator),
    modules,
    startPolling: false,
    env: scaledEnv(options.env),
    ...options.stack,
  });
  return {
    emulator,
    stack,
    send: (lines) =>
      sendCommandLines(
        stack.sqs.client,
        lines,
        { deletions: stack.sqs.queues.deletions.url, changes: stack.sqs.queues.changes.url },
        { invalidTo: stack.sqs.queues.deletions.url },
      ),
    async close() {
      await stack.close();
      await emulator.close();
    },
  };
}

/** The example file's lines. */
export async function exampleLines(): Promise<string[]> {
  const text = await readFile(
    path.resolve(import.meta.dirname, '../../examples/events.ndjson'),
    'utf8',
  );
  return text.split('\n').filter((line) => line.trim() !== '');
}

/** Persons as comparable plain data: sorted distinct ids and properties, ordered by first distinct id. */
export function personsState(
  emulator: PostHogEmulator,
): { distinctIds: string[]; properties: Record<string, unknown> }[] {
  return emulator.state.persons
    .map((p) => ({
      distinctIds: [...p.distinctIds].sort(),
      properties: p.properties as Record<string, unknown>,
    }))
    .sort((a, b) => (a.distinctIds[0] ?? '').localeCompare(b.distinctIds[0] ?? ''));
}

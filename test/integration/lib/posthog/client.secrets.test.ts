import { inspect } from 'node:util';
import { afterEach, describe, expect, it } from 'vitest';
import { PostHogClient, type PostHogLogger } from '../../../../lib/posthog/index.ts';
import {
  type PostHogEmulator,
  startPostHogEmulator,
} from '../../../../local/posthog-emulator/index.ts';

let emulator: PostHogEmulator | undefined;

afterEach(async () => {
  await emulator?.close();
  emulator = undefined;
});

/** Every rendering of an error a log pipeline might produce, down its cause chain. */
function renderError(error: unknown): string {
  const out: string[] = [];
  let current: unknown = error;
  for (let depth = 0; depth < 6 && current !== undefined && current !== null; depth++) {
    out.push(String(current), inspect(current, { depth: 10, showHidden: true }));
    try {
      out.push(JSON.stringify(current));
    } catch {
      // circular cause objects are inspected above
    }
    if (current instanceof Error) out.push(current.message, current.stack ?? '');
    current = current instanceof Error ? current.cause : undefined;
  }
  return out.join('\n');
}

describe('PostHogClient keeps keys out of logs and errors', () => {
  it('a failing run (401, outage, throttle past the deadline, reset, timeout) never prints a key', async () => {
    // Prepare
    const emu = await startPostHogEmulator({ seed: { persons: [{ distinctIds: ['a'] }] } });
    emulator = emu;
    const wrongKey = 'phx_wrong_key_that_must_not_leak_42';
    const output: string[] = [];
    const logger: PostHogLogger = {
      debug: (msg, extra) => output.push(msg, JSON.stringify(extra), inspect(extra, { depth: 10 })),
      warn: (msg, extra) => output.push(msg, JSON.stringify(extra), inspect(extra, { depth: 10 })),
    };
    const base = {
      host: emu.url,
      projectId: emu.projectId,
      projectToken: emu.projectToken,
      logger,
      backoffBaseMs: 1,
      backoffCapMs: 5,
    };
    const good = new PostHogClient({ ...base, personalApiKey: emu.personalApiKey, timeoutMs: 200 });
    const bad = new PostHogClient({ ...base, personalApiKey: wrongKey });
    const errors: unknown[] = [];
    const capture = async (p: Promise<unknown>) => {
      await p.then(
        () => errors.push(new Error('expected a failure')),
        (e: unknown) => errors.push(e),
      );
    };

    // Act
    await capture(bad.findByDistinctId('a'));
    emu.setOutage(true);
    await capture(good.bulkDelete({ distinctIds: ['a'] }));
    await capture(good.capture({ event: '$set', distinctId: 'a' }));
    emu.setOutage(false);
    emu.setFaults({ throttleRate: 1, retryAfterSeconds: 1 });
    await capture(good.updateProperty(1, 'k', 'v', { deadline: Date.now() + 500 }));
    emu.setFaults({ resetRate: 1 });
    await capture(good.split(1));
    emu.setFaults({ hangRate: 1 });
    await capture(good.retrieve(1));
    emu.setFaults({});
    output.push(
      ...errors.map(renderError),
      String(good),
      JSON.stringify(good),
      inspect(good, { showHidden: true }),
    );
    const everything = output.join('\n');

    // Assess
    expect(errors.map((e) => (e as Error).name)).toEqual([
      'PostHogAuthError',
      'PostHogServerError',
      'PostHogServerError',
      'PostHogDeadlineError',
      'PostHogConnectionError',
      'PostHogTimeoutError',
    ]);
    expect(output.length).toBeGreaterThan(20);
    expect(everything).not.toContain(emu.personalApiKey);
    expect(everything).not.toContain(wrongKey);
    expect(everything).not.toContain(emu.projectToken);
    expect(everything).not.toMatch(/phx_[A-Za-z0-9]/);
  });
});

import { execFile } from 'node:child_process';
import { mkdir, rm, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, it, onTestFinished } from 'vitest';
import { buildTestBundles, type Pipeline, startPipeline } from './harness.ts';

const run = promisify(execFile);
const ROOT = path.resolve(import.meta.dirname, '../..');

let bundles: Awaited<ReturnType<typeof buildTestBundles>>;
let pipeline: Pipeline;

beforeAll(async () => {
  bundles = await buildTestBundles();
  pipeline = await startPipeline(bundles.modules, { stack: { startPolling: true } });
});

afterAll(async () => {
  await pipeline.close();
  await bundles.cleanup();
});

/** Runs the real CLI (bin/persons-relay.js) against the local SQS endpoint. */
async function cli(...args: string[]): Promise<{ code: number; stdout: string; stderr: string }> {
  return run(process.execPath, ['bin/persons-relay.js', ...args], {
    cwd: ROOT,
    env: { ...process.env, AWS_ENDPOINT_URL_SQS: pipeline.stack.sqs.endpoint },
  }).then(
    ({ stdout, stderr }) => ({ code: 0, stdout, stderr }),
    (error: { code: number; stdout: string; stderr: string }) => ({
      code: error.code,
      stdout: error.stdout,
      stderr: error.stderr,
    }),
  );
}

// Five spawns of the CLI plus two drains; on a loaded 2-core machine one spawn can take 10 s.
describe('send and dlq commands against the local pipeline', { timeout: 240_000 }, () => {
  it('sends valid commands, dead-letters one for an unknown person, and redrives it after the fix', async () => {
    // Prepare: one update for a person PostHog does not know yet, one invalid line, and the update again (a
    // producer retry: same command id, so SQS FIFO drops it)
    const dir = path.join(ROOT, 'tmp');
    await mkdir(dir, { recursive: true });
    const file = path.join(dir, `cli-${process.pid}.ndjson`);
    onTestFinished(() => rm(file, { force: true }));
    const update = JSON.stringify({
      type: 'person.properties.update',
      id: 'cli-1',
      time: '2026-11-28T10:00:00Z',
      data: { distinctId: 'crm-5555', set: { plan: 'team' } },
    });
    await writeFile(file, [update, '{"type":"persons.delete"', update].join('\n'));
    const { queues } = pipeline.stack.sqs;

    // Act: send (the invalid line is refused, not sent)
    const sent = await cli('send', '--queue-url', queues.changes.url, '--file', file);
    await pipeline.stack.waitUntilDrained({ timeoutMs: 90_000 });
    const listed = await cli('dlq', 'list', '--queue-url', queues.changes.dlqUrl, '--json');
    const table = await cli(
      'dlq',
      'list',
      '--queue-url',
      queues.changes.dlqUrl,
      '--output',
      'table',
    );

    // Assess
    expect(sent.code).toBe(1);
    expect(sent.stderr.split('\n')).toEqual([
      'sent 1 of 3 lines (0 to the deletions queue, 1 to the changes queue); 2 not sent, 1 of them dropped by SQS as duplicates',
      '  line 2: not_json: The message body is not valid JSON',
      "  line 3: dropped by SQS as a duplicate of line 1 (same command id within SQS's 5-minute deduplication window)",
      '',
    ]);
    const letters = listed.stdout
      .trim()
      .split('\n')
      .map((l) => JSON.parse(l) as { errorCode: string; body: string; groupId: string });
    expect(letters).toHaveLength(1);
    expect(letters[0]).toMatchObject({ errorCode: 'person_not_found', groupId: 'crm-5555' });
    const [header, row] = table.stdout.split('\n');
    expect(header).toMatch(
      /^error_code\s+reason\s+source_queue\s+first_received\s+receives\s+body$/,
    );
    expect(row).toMatch(/^person_not_found\s/);

    // Act: the fix (the person now exists), then the redrive
    pipeline.emulator.seedPersons([{ distinctIds: ['crm-5555'], properties: { plan: 'free' } }]);
    const redriven = await cli(
      'dlq',
      'redrive',
      '--queue-url',
      queues.changes.dlqUrl,
      '--to',
      queues.changes.url,
    );
    await pipeline.stack.waitUntilDrained({ timeoutMs: 90_000 });
    await pipeline.emulator.flush();

    // Assess
    expect(redriven.stdout).toContain('moved 1 message to');
    expect(redriven.stdout).toContain('0 left in the DLQ');
    expect(pipeline.emulator.state.personByDistinctId('crm-5555')?.properties).toEqual({
      plan: 'team',
    });
    expect((await pipeline.stack.depth()).changes).toEqual({ queued: 0, inFlight: 0, dlq: 0 });
  });
});

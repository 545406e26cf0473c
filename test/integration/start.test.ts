import { execFile } from 'node:child_process';
import path from 'node:path';
import { promisify } from 'node:util';
import { describe, expect, it } from 'vitest';

const run = promisify(execFile);
const ROOT = path.resolve(import.meta.dirname, '../..');

describe('npm start', () => {
  it('runs the whole local pipeline over the examples and exits 0 with the report', async () => {
    // Act: what `npm start` runs (tsx local/start.ts), as a separate process
    const { stdout } = await run(process.execPath, ['--import', 'tsx', 'local/start.ts'], {
      cwd: ROOT,
      env: { ...process.env, AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED: 'true' },
    });

    // Assess (a failed run exits non-zero and rejects above)
    expect(stdout).toContain('persons-relay: local pipeline against PostHog emulator');
    // command type, messages, applied, rejected, waiting for retry (then "retried at least once", which a slow
    // machine can push above 0 through invocation timeouts)
    expect(stdout).toMatch(/persons\.delete\s+16\s+16\s+0\s+0\s/);
    expect(stdout).toMatch(/\(invalid message\)\s+6\s+0\s+6\s+0\s/);
    expect(stdout).toContain('429 responses: 0 (emulator request log: 0)');
    expect(stdout).toMatch(
      /calls made (\d+) · calls planned \1 · lower bound \d+ · one message at a time \d+/,
    );
    expect(stdout).toContain('Dead-letter queues: 6 messages');
    expect(stdout).toMatch(/^\s+sent to\s+error_code\s+message\s+reason$/m);
    expect(stdout).toMatch(/^\s+deletions\s+not_json\s/m);
    expect(stdout).toMatch(/PostHog persons: \d+ deleted \(metric PersonsDeleted\), 8 remain/);
    // The webhook rows (docs/webhooks.md): every sample answered 200 and its commands were applied.
    expect(stdout).toMatch(/stripe\s+stripe-customer-deleted\.json\s+200\s+1\s+0\s+1\s+0/);
    expect(stdout).toMatch(/hubspot\s+hubspot-contact-events\.json\s+200\s+4\s+1\s+4\s+0/);
    expect(stdout).toMatch(/salesforce\s+salesforce-cdc-merge-delete\.json\s+EB\s+1\s+0\s+1\s+0/);
    expect(stdout).toContain('10 persons remain in the emulator after the webhooks');
    // npm start now also runs the webhook samples through the bundled ingress: more than the default 60 s under load.
  }, 120_000);
});

import { execFile } from 'node:child_process';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { dryRun, renderDryRun } from '../../../../cli/plan.ts';

const run = promisify(execFile);

const lines = [
  '{"type":"persons.delete","id":"d1","time":"2026-11-28T21:00:00Z","data":{"distinctIds":["user-1","user-2"]}}',
  '{"type":"persons.delete","id":"d2","time":"2026-11-28T21:00:00Z","data":{"distinctIds":["user-2","user-3"]}}',
  '{"type":"person.properties.update","id":"u1","time":"2026-11-28T21:00:05Z","data":{"distinctId":"crm-1","set":{"plan":"pro"}}}',
  '{"type":"person.properties.update","id":"u2","time":"2026-11-28T21:00:03Z","data":{"distinctId":"crm-1","set":{"plan":"free"}}}',
  '{"type":"person.properties.update","id":"u3","time":"2026-11-28T21:00:03Z","data":{"distinctId":"user-1","set":{"plan":"free"}}}',
  '',
  '{"type":"persons.delete","id":"bad","time":"2026-11-28T21:00:00Z","data":{"distinctIds":["a",""]}}',
  'not json',
];

// Two tests spawn the bin (Node + tsx); on a loaded 2-core machine one spawn can take 10 s or more.
describe('persons-relay plan (dry run)', { timeout: 240_000 }, () => {
  let dir: string;
  beforeAll(async () => {
    dir = await mkdtemp(join(tmpdir(), 'plan-cli-'));
    await writeFile(join(dir, 'events.ndjson'), `${lines.join('\n')}\n`);
  });
  afterAll(async () => {
    await rm(dir, { recursive: true, force: true });
  });

  it('plans the valid lines as one batch and lists rejections by line', () => {
    const result = dryRun(lines.join('\n'));
    expect(result.messages).toBe(7);
    expect(result.rejected).toEqual([
      {
        messageId: 'line-7',
        rejection: {
          code: 'invalid_field',
          path: 'data.distinctIds[1]',
          reason: 'data.distinctIds[1]: must be a non-empty string',
        },
      },
      {
        messageId: 'line-8',
        rejection: { code: 'not_json', path: '', reason: 'The message body is not valid JSON' },
      },
    ]);
    expect(result.plan.calls.map((c) => [c.endpoint, c.serves])).toEqual([
      ['bulk_delete', ['line-1', 'line-2']],
      ['batch_by_distinct_ids', ['line-3', 'line-4']],
      ['update_property', ['line-3', 'line-4']],
    ]);
    expect(result.plan.skipped.map((s) => s.messageId)).toEqual(['line-5']);
  });

  it('prints calls, lower bound versus one message at a time, skips and rejections through the bin, and exits 1 for the rejected lines', async () => {
    const failure = await run('node', [
      'bin/persons-relay.js',
      'plan',
      '--file',
      join(dir, 'events.ndjson'),
    ]).catch((error: { code: number; stdout: string }) => error);
    expect(failure).toMatchObject({ code: 1 });
    const { stdout } = failure as { stdout: string };
    expect(stdout).toBe(renderDryRun(dryRun(`${lines.join('\n')}\n`)));
    expect(stdout).toContain(
      'calls planned 3 · lower bound 3 · one message at a time 8 (63% fewer calls planned)',
    );
    expect(stdout).toMatch(/bulk_delete\s+3 distinct ids: user-1, user-2, user-3\s+line-1, line-2/);
    expect(stdout).toMatch(
      /line-5\s+person\.properties\.update of the person of distinct id "user-1" is skipped/,
    );
    expect(stdout).toMatch(/line-8\s+not_json\s+The message body is not valid JSON/);
  });

  it('aligns every column under its header and gets plurals right', () => {
    const text = renderDryRun(
      dryRun(
        '{"type":"persons.delete","id":"d1","time":"2026-11-28T21:00:00Z","data":{"distinctIds":["only-one"]}}',
      ),
    );
    expect(text).toContain('1 message: 1 valid, 0 rejected');
    expect(text).toContain('1 distinct id: only-one');
    const all = text.split('\n');
    const start = all.findIndex((l) => /^\s*#\s+stage/.test(l));
    const end = all.indexOf('', start);
    const table = all.slice(start, end);
    const header = table[0] ?? '';
    expect(table).toHaveLength(2);
    expect(header).toMatch(/^ ?#\s+stage\s+endpoint\s+what\s+serves$/);
    // Every row starts its "what" and "serves" cells where the header's do.
    for (const row of table.slice(1)) {
      expect(row.slice(header.indexOf('what')).startsWith('1 distinct id')).toBe(true);
      expect(row.slice(header.indexOf('serves'))).toBe('line-1');
    }
  });

  it('prints JSON with --json and capture mode with --property-writes capture', async () => {
    const { stdout } = await run('node', [
      'bin/persons-relay.js',
      'plan',
      '--file',
      join(dir, 'events.ndjson'),
      '--json',
      '--property-writes',
      'capture',
    ]).catch((error: { stdout: string }) => error);
    const parsed = JSON.parse(stdout);
    expect(parsed.propertyWrites).toBe('capture');
    expect(parsed.plan.calls.map((c: { endpoint: string }) => c.endpoint)).toEqual([
      'bulk_delete',
      'capture_batch',
    ]);
  });
});

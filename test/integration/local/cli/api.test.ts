import { execFile } from 'node:child_process';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { splitPersonUuid } from '../../../../lib/posthog/index.ts';
import {
  type PostHogEmulator,
  startPostHogEmulator,
} from '../../../../local/posthog-emulator/index.ts';

interface RunResult {
  code: number;
  stdout: string;
  stderr: string;
}

const { PATH, HOME } = process.env;
let emu: PostHogEmulator;
let dir: string;

/** Runs the real bin, configured only through the environment like an operator would. */
function cli(args: string[], env: Record<string, string> = {}): Promise<RunResult> {
  return new Promise((resolve) => {
    execFile(
      'node',
      ['bin/persons-relay.js', 'api', ...args],
      {
        env: {
          PATH: PATH ?? '',
          HOME: HOME ?? '',
          POSTHOG_HOST: emu.url,
          POSTHOG_PROJECT_ID: String(emu.projectId),
          POSTHOG_PERSONAL_API_KEY: emu.personalApiKey,
          POSTHOG_PROJECT_TOKEN: emu.projectToken,
          ...env,
        },
        maxBuffer: 10 * 1024 * 1024,
      },
      (error, stdout, stderr) => {
        const code = error === null ? 0 : typeof error.code === 'number' ? error.code : 1;
        resolve({ code, stdout, stderr });
      },
    );
  });
}

const json = (r: RunResult): unknown => JSON.parse(r.stdout);

beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'persons-relay-api-'));
  emu = await startPostHogEmulator({
    // The funnel routes answer only on older self-hosted PostHog (`emulator --funnel-routes legacy`).
    funnelRoutes: 'legacy',
    seed: {
      persons: [
        {
          distinctIds: ['alice', 'alice-phone', 'alice-laptop'],
          properties: { email: 'alice@example.com' },
        },
        { distinctIds: ['bob'], properties: { email: 'bob@example.com' } },
        ...Array.from({ length: 2500 }, (_, i) => ({ distinctIds: [`gone-${i}`] })),
        ...Array.from({ length: 1200 }, (_, i) => ({ distinctIds: [`tty-${i}`] })),
      ],
      events: [
        { event: 'signup', distinctId: 'alice' },
        { event: 'pay', distinctId: 'alice' },
        { event: 'signup', distinctId: 'bob' },
      ],
    },
  });
});

afterAll(async () => {
  await emu?.close();
  await rm(dir, { recursive: true, force: true });
});

// Each test spawns the CLI several times; on a loaded 2-core machine one spawn can take 10 s.
describe('persons-relay api (spawned bin against the emulator)', { timeout: 240_000 }, () => {
  it('bulk-deletes any number of ids from a file in chunks, with a summary on stderr', async () => {
    // Prepare
    const file = join(dir, 'ids.txt');
    const lines = Array.from({ length: 2500 }, (_, i) => `gone-${i}`);
    await writeFile(file, `# exported from the CRM\n${lines.join('\n')}\n\n`);

    // Act
    const r = await cli(['bulk-delete', '--distinct-ids-file', file, '--delete-events']);

    // Assess
    expect(r.code).toBe(0);
    expect(json(r)).toMatchObject({
      personsFound: 2500,
      personsDeleted: 2500,
      calls: 3,
      deletionErrors: [],
    });
    expect(r.stderr).toContain('bulk-delete: 2500 unique ids in 3 calls, 2500 persons found');
    expect(r.stderr).not.toContain('ids |'); // no progress bar when stderr is not a terminal
    expect(emu.state.count({ endpoint: 'persons/bulk_delete' })).toBe(3);
  });

  it('draws a progress bar when stderr is a terminal', async () => {
    // Prepare: util-linux `script` gives the CLI a pseudo-terminal
    const file = join(dir, 'tty-ids.txt');
    await writeFile(file, Array.from({ length: 1200 }, (_, i) => `tty-${i}`).join('\n'));
    const command = `node bin/persons-relay.js api bulk-delete --distinct-ids-file ${file}`;

    // Act
    const output = await new Promise<string>((resolve) => {
      execFile(
        'script',
        ['-qefc', command, '/dev/null'],
        {
          env: {
            PATH: PATH ?? '',
            HOME: HOME ?? '',
            TERM: 'xterm',
            POSTHOG_HOST: emu.url,
            POSTHOG_PROJECT_ID: String(emu.projectId),
            POSTHOG_PERSONAL_API_KEY: emu.personalApiKey,
          },
        },
        (_error, stdout) => resolve(stdout),
      );
    });

    // Assess
    expect(output).toContain('1200/1200 ids | 1200 found | 2 calls');
    expect(output).toContain('bulk-delete: 1200 unique ids in 2 calls');
  });

  it('lists persons as JSON and as PostHog CSV, and looks ids up in CSV', async () => {
    const one = await cli(['persons', '--distinct-id', 'alice-phone']);
    expect(one.code).toBe(0);
    expect(json(one)).toEqual([
      expect.objectContaining({ distinct_ids: ['alice', 'alice-phone', 'alice-laptop'] }),
    ]);

    const csv = await cli(['--format', 'csv', 'persons', '--email', 'bob@example.com']);
    expect(csv.code).toBe(0);
    expect(csv.stdout.split('\n')[0]).toContain('distinct_ids');
    expect(csv.stdout).toContain('bob@example.com');

    const batch = await cli(['--format', 'csv', 'batch-by-distinct-ids', 'alice', 'bob', 'nobody']);
    expect(batch.code).toBe(0);
    const [header, ...rows] = batch.stdout.trim().split('\n');
    expect(header?.split(',')[0]).toBe('key');
    expect(rows.map((r) => r.split(',')[0]).sort()).toEqual(['alice', 'bob']);
  });

  it('splits, updates and deletes properties, and reads activity and cohorts', async () => {
    // Prepare
    const alice = emu.state.personByDistinctId('alice');
    const uuid = alice?.uuid ?? '';
    emu.seedCohort({ name: 'Early adopters', members: [uuid] });

    // Act
    const split = await cli(['split', uuid, '--distinct-id', 'alice-laptop']);
    await emu.flush();
    const update = await cli(['update-property', uuid, 'plan', '{"tier":"pro"}', '--json']);
    const unset = await cli(['delete-property', uuid, 'email']);
    await emu.flush();
    const activity = await cli(['activity', '--person', uuid]);
    const cohorts = await cli(['cohorts', uuid]);

    // Assess
    const laptop = splitPersonUuid(emu.projectId, 'alice-laptop', uuid);
    expect(json(split)).toEqual({ queued: true, newPersonUuids: { 'alice-laptop': laptop } });
    expect(emu.state.personByUuid(laptop)?.distinctIds).toEqual(['alice-laptop']);
    expect(json(update)).toEqual({ accepted: true });
    expect(json(unset)).toEqual({ success: true });
    expect(emu.state.personByUuid(uuid)?.properties).toEqual({ plan: { tier: 'pro' } });
    expect((json(activity) as { activity: string }[]).map((a) => a.activity)).toEqual([
      'delete_property',
      'updated',
      'split_person',
    ]);
    expect(json(cohorts)).toEqual([expect.objectContaining({ name: 'Early adopters' })]);
  });

  it('updates several properties in one PATCH, and refuses properties that are not a JSON object', async () => {
    // Prepare
    const bob = emu.state.personByDistinctId('bob');
    const uuid = bob?.uuid ?? '';
    const before = emu.state.requests().length;

    // Act
    const update = await cli(['update-properties', uuid, '{"plan":"pro","seats":12}']);
    await emu.flush();
    const notObject = await cli(['update-properties', uuid, '[1,2]']);

    // Assess
    expect(json(update)).toEqual({ accepted: true });
    expect(
      emu.state
        .requests()
        .slice(before)
        .map((r) => r.method),
    ).toEqual(['PATCH']);
    expect(emu.state.personByUuid(uuid)?.properties).toMatchObject({ plan: 'pro', seats: 12 });
    expect(notObject.code).toBe(2);
    expect(notObject.stderr).toContain('<properties> must be a JSON object');
  });

  it('merges, reads deletion status and queries the funnel routes over GET and POST', async () => {
    const merge = await cli([
      'merge',
      'bob',
      'carol-anon',
      '--uuid',
      '0190f4a8-7e2b-7c3d-8e4f-a1b2c3d4e5f6',
    ]);
    await emu.flush();
    expect(merge.code).toBe(0);
    expect(emu.state.personByDistinctId('carol-anon')?.uuid).toBe(
      emu.state.personByDistinctId('bob')?.uuid,
    );

    const status = await cli(['deletion-status', '--status', 'pending', '--max', '5']);
    expect(status.code).toBe(0);
    expect(json(status)).toHaveLength(5);

    const params = JSON.stringify({
      events: [
        { id: 'signup', order: 0 },
        { id: 'pay', order: 1 },
      ],
      funnel_step: 1,
    });
    const get = await cli(['funnel', '--params', params]);
    const post = await cli(['funnel', '--params', params, '--method', 'POST']);
    expect(get.code).toBe(0);
    expect((json(get) as unknown[]).length).toBe(2);
    expect(json(post)).toEqual(json(get));
    const correlation = await cli([
      'funnel-correlation',
      '--method',
      'POST',
      '--params',
      JSON.stringify({
        events: [
          { id: 'signup', order: 0 },
          { id: 'pay', order: 1 },
        ],
        funnel_correlation_person_entity: { id: 'pay', type: 'events' },
        funnel_correlation_person_converted: 'true',
      }),
    ]);
    expect(correlation.code).toBe(0);
    expect(json(correlation)).toEqual([
      expect.objectContaining({ distinct_ids: expect.arrayContaining(['alice']) }),
    ]);
  });

  it('prints one clear line and exits non-zero on failures, never the key', async () => {
    const wrongKey = 'phx_this_key_is_wrong_and_secret_123';
    const auth = await cli(['persons', '--distinct-id', 'bob'], {
      POSTHOG_PERSONAL_API_KEY: wrongKey,
    });
    expect(auth.code).toBe(1);
    expect(auth.stderr.trim().split('\n')).toHaveLength(1);
    expect(auth.stderr).toMatch(/^error: PostHog list failed with 401 authentication_failed/);
    expect(`${auth.stdout}${auth.stderr}`).not.toContain(wrongKey);

    const scoped = emu.addApiKey({ scopes: ['*'] });
    const funnel = await cli(['funnel', '--params', '{"funnel_step":1}'], {
      POSTHOG_PERSONAL_API_KEY: scoped,
    });
    expect(funnel.code).toBe(1);
    expect(funnel.stderr).toMatch(/refuses personal API keys/);
    expect(funnel.stderr).toMatch(/mid-2026/);
    expect(funnel.stderr).not.toContain(scoped);

    const missing = await cli(['persons'], { POSTHOG_HOST: '' });
    expect(missing.code).toBe(2);
    expect(missing.stderr.trim()).toBe('error: missing --host or POSTHOG_HOST');

    const insecure = await cli(['persons'], { POSTHOG_HOST: 'http://posthog.example.com' });
    expect(insecure.code).toBe(2);
    expect(insecure.stderr).toMatch(/must use https/);
  });

  it('takes a distinct id with a comma whole, says which # lines of a file it skipped, and names flags in refusals', async () => {
    // Prepare
    const [roe] = emu.seedPersons([
      { distinctIds: ['Roe, Jane'], properties: { email: 'jane@example.com' } },
      { distinctIds: ['Doe, John'] },
      { distinctIds: ['#hashtag-user'] },
      { distinctIds: ['plain-9'] },
    ]);
    const file = join(dir, 'commented.txt');
    await writeFile(file, '# exported 2026-11-28\nplain-9\n#hashtag-user\n');

    // Act
    const table = await cli(['--output', 'table', 'persons', '--distinct-id', 'Roe, Jane']);
    const [comma, fromFile, keepAlone, noIds, splitAll, merge] = await Promise.all([
      cli(['bulk-delete', '--distinct-ids', 'Doe, John']),
      cli(['bulk-delete', '--distinct-ids-file', file]),
      cli(['bulk-delete', '--distinct-ids', 'plain-9', '--keep-person']),
      cli(['bulk-delete']),
      cli(['split', roe?.uuid ?? '']),
      cli(['merge', 'a', 'b'], { POSTHOG_PROJECT_TOKEN: '' }),
    ]);

    // Assess: --output table
    expect(table.code).toBe(0);
    const [header, row] = table.stdout.split('\n');
    expect(header).toMatch(/\buuid\s.*\bdistinct_ids\b/);
    expect(row).toContain(roe?.uuid);
    expect(row).toContain('["Roe, Jane"]');
    // 'Doe, John' is one id, not "Doe" and "John"
    expect(json(comma)).toMatchObject({ personsFound: 1, personsDeleted: 1 });
    expect(emu.state.personByDistinctId('Doe, John')).toBeUndefined();
    // the file's comment lines are skipped, and stderr says so
    expect(json(fromFile)).toMatchObject({ personsFound: 1, personsDeleted: 1 });
    expect(fromFile.stderr).toContain(
      `--distinct-ids-file ${file}: skipped 2 comment lines starting with # (lines 1, 3)`,
    );
    expect(emu.state.personByDistinctId('#hashtag-user')).toBeDefined();
    // refusals: one line, exit 2, in the CLI's own terms
    for (const [result, message] of [
      [keepAlone, '--keep-person only makes sense with --delete-events or --delete-recordings'],
      [noIds, 'give --distinct-ids or --ids'],
      [splitAll, 'or --all to split off every distinct id'],
      [merge, 'merge needs --project-token or POSTHOG_PROJECT_TOKEN'],
    ] as const) {
      expect(result.code).toBe(2);
      expect(result.stderr.trim().split('\n')).toHaveLength(1);
      expect(result.stderr).toContain(message);
      expect(result.stderr).not.toMatch(/projectToken|distinctIds|keepPerson/);
    }
  });

  it('explains that current PostHog removed the funnel routes (the emulator default), in one line', async () => {
    const current = await startPostHogEmulator();
    try {
      const onCurrent = {
        POSTHOG_HOST: current.url,
        POSTHOG_PERSONAL_API_KEY: current.personalApiKey,
      };
      const removed = await cli(['funnel', '--params', '{"funnel_step":1}'], onCurrent);
      const removedCorrelation = await cli(['funnel-correlation', '--params', '{}'], onCurrent);
      expect(removed.code).toBe(1);
      expect(removed.stderr.trim().split('\n')).toHaveLength(1);
      expect(removed.stderr).toMatch(/persons\/funnel\/ is not available on this instance \(400/);
      expect(removedCorrelation.code).toBe(1);
      expect(removedCorrelation.stderr).toMatch(/not available on this instance \(404/);
      expect(removedCorrelation.stderr).toMatch(/PR #61218/);
    } finally {
      await current.close();
    }
  });
});

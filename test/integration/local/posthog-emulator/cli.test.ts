import { type ChildProcess, execFile, spawn } from 'node:child_process';
import { readFile } from 'node:fs/promises';
import { promisify } from 'node:util';
import { afterEach, describe, expect, it } from 'vitest';

const run = promisify(execFile);
const children: ChildProcess[] = [];
afterEach(() => {
  for (const child of children.splice(0)) if (child.exitCode === null) child.kill('SIGTERM');
});

// Each test spawns the bin (Node + tsx); on a loaded 2-core machine one spawn can take 10 s or more.
describe('persons-relay emulator (CLI)', { timeout: 240_000 }, () => {
  it('documents its flags', async () => {
    // Act
    const { stdout } = await run('node', ['bin/persons-relay.js', 'emulator', '--help']);

    // Assess
    for (const flag of [
      '--port',
      '--time-scale',
      '--seed-demo',
      '--bulk-delete-mode',
      '--funnel-routes',
    ])
      expect(stdout).toContain(flag);
  });

  it('runs in the foreground, prints the base URL, project id and keys, serves the seeded API, and stops on SIGTERM', async () => {
    // Prepare
    const child = spawn(
      'node',
      ['bin/persons-relay.js', 'emulator', '--port', '0', '--seed-demo', '--time-scale', '60'],
      {
        stdio: ['ignore', 'pipe', 'pipe'],
      },
    );
    children.push(child);
    let out = '';
    const url = await new Promise<string>((resolve, reject) => {
      child.stdout?.on('data', (chunk: Buffer) => {
        out += chunk.toString();
        const match = out.match(/base URL:\s+(http:\/\/127\.0\.0\.1:\d+)/);
        if (match?.[1] && out.includes('project token')) resolve(match[1]);
      });
      child.once('exit', (code) => reject(new Error(`emulator exited early with ${code}: ${out}`)));
    });
    const key = out.match(/personal API key:\s+(\S+)/)?.[1] ?? '';

    // Act
    const res = await fetch(`${url}/api/projects/1/persons/?include_total`, {
      headers: { Authorization: `Bearer ${key}` },
    });
    const body = (await res.json()) as { count: number };
    const exited = new Promise<number | null>((resolve) =>
      child.once('exit', (code) => resolve(code)),
    );
    child.kill('SIGTERM');

    // Assess
    expect(out).toContain('project id:        1');
    expect(out).toMatch(/project token:\s+phc_/);
    expect(key).toMatch(/^phx_/);
    expect(body.count).toBe(12);
    expect(await exited).toBe(0);
  });

  it("lists the demo funnel's events, and the documented funnel example (docs/cli.md) works against --seed-demo --funnel-routes legacy", async () => {
    // Prepare
    const readme = await readFile('docs/cli.md', 'utf8');
    const example = readme.match(
      /npx persons-relay api funnel --params '([^']+)'( --method POST)?/,
    );
    const child = spawn(
      'node',
      [
        'bin/persons-relay.js',
        'emulator',
        '--port',
        '0',
        '--seed-demo',
        '--funnel-routes',
        'legacy',
      ],
      { stdio: ['ignore', 'pipe', 'pipe'] },
    );
    children.push(child);
    let out = '';
    const url = await new Promise<string>((resolve, reject) => {
      child.stdout?.on('data', (chunk: Buffer) => {
        out += chunk.toString();
        const match = out.match(/base URL:\s+(http:\/\/127\.0\.0\.1:\d+)/);
        if (match?.[1] && out.includes('demo funnel')) resolve(match[1]);
      });
      child.once('exit', (code) => reject(new Error(`emulator exited early with ${code}: ${out}`)));
    });
    const key = out.match(/personal API key:\s+(\S+)/)?.[1] ?? '';
    const bannerEvents = JSON.parse(out.match(/demo funnel:\s+events=(\S+)/)?.[1] ?? 'null') as {
      id: string;
    }[];

    // Act: docs/cli.md's command, exactly as documented
    const params = example?.[1] ?? '';
    const { stdout } = await run(
      'node',
      [
        'bin/persons-relay.js',
        'api',
        'funnel',
        '--params',
        params,
        ...(example?.[2] ? ['--method', 'POST'] : []),
      ],
      {
        env: {
          PATH: process.env['PATH'] ?? '',
          POSTHOG_HOST: url,
          POSTHOG_PROJECT_ID: '1',
          POSTHOG_PERSONAL_API_KEY: key,
        },
      },
    );

    // Assess
    expect(out).toContain('funnel routes:     served');
    expect(bannerEvents.map((e) => e.id)).toEqual(['$pageview', 'signed_up', 'purchase']);
    expect((JSON.parse(params) as { events: { id: string }[] }).events.map((e) => e.id)).toEqual(
      bannerEvents.map((e) => e.id),
    );
    expect((JSON.parse(stdout) as unknown[]).length).toBeGreaterThan(0);
  });
});

import { execFile } from 'node:child_process';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { createServer, type Server } from 'node:net';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';

// Every user mistake of issue 14 point 1, driven through the real entry points as spawned processes: the
// `persons-relay` bin and `npm start` (what it runs: tsx local/start.ts). Spawns are slow on a loaded machine, so all
// cases run once in beforeAll, a few at a time, and each test asserts on its own result.

const ROOT = path.resolve(import.meta.dirname, '../../../..');
const BIN = ['bin/persons-relay.js'];
const START = ['--import', 'tsx', 'local/start.ts'];
const AT_MOST_AT_ONCE = 2;

interface Result {
  code: number;
  stdout: string;
  stderr: string;
  ms: number;
}

interface Case {
  readonly args: readonly string[];
  readonly env?: Record<string, string>;
}

function spawn({ args, env = {} }: Case): Promise<Result> {
  const started = Date.now();
  return new Promise((resolve) => {
    execFile(
      process.execPath,
      [...args],
      {
        cwd: ROOT,
        env: {
          PATH: process.env['PATH'] ?? '',
          HOME: process.env['HOME'] ?? '',
          // No stray endpoint or key from the developer's shell.
          AWS_REGION: 'us-east-1',
          ...env,
        },
        timeout: 120_000,
        maxBuffer: 4 * 1024 * 1024,
      },
      (error, stdout, stderr) => {
        const code = error === null ? 0 : typeof error.code === 'number' ? error.code : -1;
        resolve({ code, stdout, stderr, ms: Date.now() - started });
      },
    );
  });
}

async function runAll<K extends string>(cases: Record<K, Case>): Promise<Record<K, Result>> {
  const keys = Object.keys(cases) as K[];
  const results = {} as Record<K, Result>;
  let next = 0;
  const worker = async () => {
    while (next < keys.length) {
      const key = keys[next] as K;
      next += 1;
      results[key] = await spawn(cases[key]);
    }
  };
  await Promise.all(Array.from({ length: AT_MOST_AT_ONCE }, worker));
  return results;
}

function listen(host: string): Promise<Server> {
  return new Promise((resolve) => {
    const server = createServer();
    server.listen(0, host, () => resolve(server));
  });
}

const portOf = (server: Server) => (server.address() as { port: number }).port;

let dir: string;
let busy: Server;
let results: Record<string, Result>;
let closedPort: number;

beforeAll(async () => {
  dir = await mkdtemp(path.join(tmpdir(), 'persons-relay-errors-'));
  busy = await listen('127.0.0.1');
  // A port that was free a moment ago and has nobody listening: connections to it are refused.
  const closed = await listen('127.0.0.1');
  closedPort = portOf(closed);
  await new Promise((resolve) => closed.close(resolve));
  const missing = path.join(dir, 'missing.ndjson');
  const big = path.join(dir, 'big.ndjson');
  await writeFile(
    big,
    Array.from({ length: 3000 }, (_, i) =>
      JSON.stringify({
        type: 'persons.delete',
        id: `erase-${i}`,
        time: '2026-11-28T10:00:00Z',
        data: { distinctIds: [`user-${i}`] },
      }),
    ).join('\n'),
  );
  const busyPort = String(portOf(busy));
  const unreachableSqs = 'http://127.0.0.1:1';
  results = await runAll({
    planMissingFile: { args: [...BIN, 'plan', '--file', missing] },
    planDirectory: { args: [...BIN, 'plan', '--file', dir] },
    planUnknownFlag: { args: [...BIN, 'plan', '--file', missing, '--bogus'] },
    planDebug: { args: [...BIN, 'plan', '--file', missing, '--debug'] },
    sendMissingFile: {
      args: [...BIN, 'send', '--queue-url', `${unreachableSqs}/000000000000/q`, '--file', missing],
    },
    sendUnreachable: {
      args: [
        ...BIN,
        'send',
        '--endpoint',
        unreachableSqs,
        '--queue-url',
        `${unreachableSqs}/000000000000/persons-relay-deletions`,
        '--file',
        big,
      ],
    },
    devBadPort: { args: [...BIN, 'dev', '--sqs-port', '99999'] },
    devBadTimeScale: { args: [...BIN, 'dev', '--time-scale', 'fast'] },
    devPortInUse: { args: [...BIN, 'dev', '--sqs-port', busyPort, '--emulator-port', '0'] },
    emulatorBadPort: { args: [...BIN, 'emulator', '--port', '99999'] },
    emulatorPortInUse: { args: [...BIN, 'emulator', '--port', busyPort] },
    dlqRefused: {
      args: [
        ...BIN,
        'dlq',
        'list',
        '--endpoint',
        unreachableSqs,
        '--queue-url',
        `${unreachableSqs}/000000000000/dlq`,
      ],
    },
    apiDirectory: {
      args: [...BIN, 'api', 'bulk-delete', '--distinct-ids-file', dir],
      env: {
        POSTHOG_HOST: 'http://127.0.0.1:8010',
        POSTHOG_PROJECT_ID: '1',
        POSTHOG_PERSONAL_API_KEY: 'phx_test',
      },
    },
    startUnknownFlag: { args: [...START, '--bogus'] },
    startHelp: { args: [...START, '--help'] },
    startMissingFile: { args: [...START, '--file', missing] },
    startBadTimeScale: { args: [...START, '--time-scale', 'fast'] },
    startPostHogDown: {
      args: [...START, '--posthog-host', `http://127.0.0.1:${closedPort}`],
      env: { POSTHOG_PERSONAL_API_KEY: 'phx_test', POSTHOG_PROJECT_ID: '1' },
    },
  });
}, 600_000);

afterAll(async () => {
  await new Promise((resolve) => busy?.close(resolve));
  await rm(dir, { recursive: true, force: true });
});

/** The contract of point 1: a non-zero exit, exactly one line on stderr, no stack frame, and the named thing. */
function expectOneLineError(result: Result | undefined, names: RegExp, code?: number): void {
  expect(result).toBeDefined();
  const { code: exit, stderr } = result as Result;
  expect(exit).not.toBe(0);
  if (code !== undefined) expect(exit).toBe(code);
  expect(stderr.trimEnd().split('\n')).toHaveLength(1);
  expect(stderr).not.toMatch(/^\s+at /m);
  expect(stderr).toMatch(names);
}

describe('one line, naming the flag or file, for every user mistake (spawned CLI and npm start)', () => {
  it('plan: a missing file and a directory', () => {
    expectOneLineError(results['planMissingFile'], /--file \S*missing\.ndjson: no such file/, 1);
    expectOneLineError(results['planDirectory'], /--file \S+: is a directory/, 1);
  });

  it('an unknown flag is a usage error (exit 2) naming the flag', () => {
    expectOneLineError(results['planUnknownFlag'], /unknown option '--bogus'/, 2);
  });

  it('--debug adds the stack trace', () => {
    const result = results['planDebug'];
    expect(result?.code).toBe(1);
    expect(result?.stderr.split('\n')[0]).toMatch(/--file \S*missing\.ndjson: no such file/);
    expect(result?.stderr).toMatch(/^\s+at /m);
  });

  it('send: a missing file', () => {
    expectOneLineError(results['sendMissingFile'], /--file \S*missing\.ndjson: no such file/, 1);
  });

  it('send: an unreachable endpoint stops at the first failed call, with one line for 3,000 input lines', () => {
    const result = results['sendUnreachable'];
    expectOneLineError(
      result,
      /stopped at the first failed SQS call \(0 of 3000 lines sent\): cannot reach SQS at http:\/\/127\.0\.0\.1:1 \(--endpoint\) \(ECONNREFUSED\)/,
      1,
    );
    expect(result?.stdout).toBe('');
    // "Within seconds": a generous bound, far below what one failed call per line (or per batch) would take.
    expect(result?.ms).toBeLessThan(45_000);
  });

  it('dev: a bad port, a non-numeric --time-scale and a port in use', () => {
    expectOneLineError(results['devBadPort'], /--sqs-port must be a port from 0 to 65535/, 2);
    expectOneLineError(results['devBadTimeScale'], /--time-scale must be a positive number/, 2);
    expectOneLineError(
      results['devPortInUse'],
      /--sqs-port \d+: the port is already in use \(EADDRINUSE\)/,
      1,
    );
  });

  it('emulator: a bad port and a port in use', () => {
    expectOneLineError(results['emulatorBadPort'], /--port must be a port from 0 to 65535/, 2);
    expectOneLineError(
      results['emulatorPortInUse'],
      /--port \d+: the port is already in use \(EADDRINUSE\)/,
      1,
    );
  });

  it('dlq: a refused connection names the endpoint, the flag and the code', () => {
    expectOneLineError(
      results['dlqRefused'],
      /cannot reach SQS at http:\/\/127\.0\.0\.1:1 \(--endpoint\) \(ECONNREFUSED\)/,
      1,
    );
  });

  it('api: a directory given as an ids file', () => {
    expectOneLineError(results['apiDirectory'], /--distinct-ids-file \S+: is a directory/, 1);
  });

  it('npm start: an unknown flag, a missing file and a non-numeric --time-scale', () => {
    expectOneLineError(results['startUnknownFlag'], /^npm start: Unknown option '--bogus'/, 2);
    expectOneLineError(
      results['startMissingFile'],
      /^npm start: --file \S*missing\.ndjson: no such file/,
      1,
    );
    expectOneLineError(
      results['startBadTimeScale'],
      /^npm start: --time-scale must be a positive number/,
      2,
    );
  });

  it('npm start: --help prints the usage and exits 0', () => {
    const result = results['startHelp'];
    expect(result?.code).toBe(0);
    expect(result?.stderr).toBe('');
    expect(result?.stdout).toMatch(/^Usage: npm start -- \[options\]/);
    expect(result?.stdout).toContain('--posthog-host <url>');
  });

  it('npm start: a PostHog that is down is reported at once, with host and code, not after the drain timeout', () => {
    const result = results['startPostHogDown'];
    expectOneLineError(
      result,
      new RegExp(
        `PostHog cannot be reached at http://127\\.0\\.0\\.1:${closedPort} \\(--posthog-host\\): .*connection to http://127\\.0\\.0\\.1:${closedPort} failed \\(ECONNREFUSED\\)`,
      ),
      1,
    );
    // The drain timeout is 50 s; nothing was built or started before the check.
    expect(result?.ms).toBeLessThan(45_000);
  });
});

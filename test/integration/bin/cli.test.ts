import { execFile } from 'node:child_process';
import { promisify } from 'node:util';
import { describe, expect, it } from 'vitest';

const run = promisify(execFile);

// Each test spawns the bin (Node + tsx); on a loaded 2-core machine one spawn can take 10 s or more.
describe('persons-relay CLI', { timeout: 240_000 }, () => {
  it('lists every command area in its help, through the package bin', async () => {
    // Act
    const { stdout } = await run('node', ['bin/persons-relay.js', '--help']);

    // Assess
    expect(stdout).toContain('Usage: persons-relay');
    for (const command of ['emulator', 'api', 'plan', 'dev', 'send', 'dlq']) {
      expect(stdout).toMatch(new RegExp(`^\\s+${command}\\b`, 'm'));
    }
  });

  it('refuses a --max that is not a whole number instead of reading it as NaN', async () => {
    // Act
    const failure = await run('node', [
      'bin/persons-relay.js',
      'dlq',
      'list',
      '--queue-url',
      'http://127.0.0.1:9/000000000000/dlq',
      '--max',
      'abc',
    ]).catch((error: { code: number; stderr: string }) => error);

    // Assess
    expect(failure).toMatchObject({ code: 2 });
    expect((failure as { stderr: string }).stderr).toContain(
      "option '--max <n>' argument 'abc' is invalid. --max must be a whole number > 0",
    );
  });
});

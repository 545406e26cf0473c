import { execFile } from 'node:child_process';
import { promisify } from 'node:util';
import { describe, expect, it } from 'vitest';

const run = promisify(execFile);

describe('persons-relay CLI', () => {
  it('lists every command area in its help, through the package bin', async () => {
    // Act
    const { stdout } = await run('node', ['bin/persons-relay.js', '--help']);

    // Assess
    expect(stdout).toContain('Usage: persons-relay');
    for (const command of ['emulator', 'api', 'plan', 'dev', 'send', 'dlq']) {
      expect(stdout).toMatch(new RegExp(`^\\s+${command}\\b`, 'm'));
    }
  });
});

import { spawnSync } from 'node:child_process';
import { existsSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { projectRoot } from '../../../infra/bundling.ts';
import { removeDir, tempDir } from './fixtures.ts';

const outdir = tempDir('cdk-synth');
const cdkHome = tempDir('cdk-home');
afterAll(() => {
  removeDir(outdir);
  removeDir(cdkHome);
});

describe('npx cdk synth', () => {
  it('synthesises both stacks offline, without credentials, with real bundles and the nag gate', () => {
    const env: NodeJS.ProcessEnv = {
      PATH: process.env['PATH'] ?? '',
      HOME: process.env['HOME'] ?? cdkHome,
      CDK_HOME: cdkHome,
      CDK_DISABLE_CLI_TELEMETRY: 'true',
      CDK_DISABLE_VERSION_CHECK: '1',
      AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED: 'true',
      // No credentials and no region: the stacks are environment-agnostic.
      AWS_ACCESS_KEY_ID: '',
      AWS_SECRET_ACCESS_KEY: '',
      AWS_PROFILE: '',
      AWS_CONFIG_FILE: path.join(cdkHome, 'no-config'),
      AWS_SHARED_CREDENTIALS_FILE: path.join(cdkHome, 'no-credentials'),
      AWS_EC2_METADATA_DISABLED: 'true',
    };
    const result = spawnSync('npx', ['cdk', 'synth', '-q', '-o', outdir], {
      cwd: projectRoot,
      env,
      encoding: 'utf8',
    });
    expect(result.status, `${result.stdout}\n${result.stderr}`).toBe(0);
    for (const stack of ['PersonsRelay', 'PersonsRelay-Monitoring']) {
      expect(existsSync(path.join(outdir, `${stack}.template.json`))).toBe(true);
    }
    const manifest = JSON.parse(readFileSync(path.join(outdir, 'manifest.json'), 'utf8')) as {
      artifacts: Record<string, { environment?: string }>;
    };
    expect(manifest.artifacts['PersonsRelay']?.environment).toBe(
      'aws://unknown-account/unknown-region',
    );
  }, 180_000);
});

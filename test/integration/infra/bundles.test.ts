import { execFileSync } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, statSync } from 'node:fs';
import path from 'node:path';
import { App } from 'aws-cdk-lib';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  type BuiltBundle,
  buildFunctionBundles,
  type FunctionName,
  functionNames,
  projectRoot,
} from '../../../infra/bundling.ts';
import { parseInfraConfig } from '../../../infra/config.ts';
import { addPersonsRelay } from '../../../infra/persons-relay-app.ts';
import { removeDir, tempDir } from './fixtures.ts';

/**
 * Size budget of one function bundle (`.mjs`, minified, `@aws-sdk/*` external), stated in docs/deploy.md.
 * Measured ~207 KB; the budget catches the two known regressions: bundling an AWS SDK client (+~450 KB)
 * and classic `import { z } from 'zod'` pulling every locale (+~360 KB).
 */
const BUNDLE_BUDGET_BYTES = 450 * 1024;

// Under the project (git-ignored tmp/) so the externals (@aws-sdk/*) resolve from node_modules when imported.
mkdirSync(path.join(projectRoot, 'tmp'), { recursive: true });
const localDir = mkdtempSync(path.join(projectRoot, 'tmp', 'bundles-'));
const cdkOutdir = tempDir('cdk-bundles');
let local: BuiltBundle[] = [];
const cdkAssets = new Map<FunctionName, string>();

beforeAll(async () => {
  local = (await buildFunctionBundles(localDir)).bundles;
  // The real NodejsFunction bundling (local esbuild, no Docker) of the core stack.
  const app = new App({ outdir: cdkOutdir });
  const { core } = addPersonsRelay(app, {
    // With the webhook ingress, so its asset is built too.
    config: parseInfraConfig({ posthogProjectId: '1', webhookProviders: 'stripe' }),
    nag: false,
  });
  const assembly = app.synth();
  const template = assembly.getStackByName(core.stackName).template as {
    Resources: Record<
      string,
      { Type: string; Properties: { FunctionName?: string; Code?: { S3Key?: string } } }
    >;
  };
  for (const resource of Object.values(template.Resources)) {
    if (resource.Type !== 'AWS::Lambda::Function') continue;
    const name = functionNames.find((n) => resource.Properties.FunctionName?.endsWith(n));
    const hash = resource.Properties.Code?.S3Key?.replace(/\.zip$/, '');
    if (name !== undefined && hash !== undefined)
      cdkAssets.set(name, path.join(cdkOutdir, `asset.${hash}`));
  }
}, 120_000);
afterAll(() => {
  rmSync(localDir, { recursive: true, force: true });
  removeDir(cdkOutdir);
});

const withoutSourceMapComment = (code: string) =>
  code.replace(/\n\/\/# sourceMappingURL=.*\n?$/, '');

describe.each(functionNames)('bundle %s', (name) => {
  it('is built locally as an ES module under the size budget, with a source map', () => {
    const bundle = local.find((b) => b.name === name);
    expect(bundle).toBeDefined();
    const file = bundle?.file ?? '';
    expect(existsSync(file)).toBe(true);
    expect(existsSync(bundle?.sourceMap ?? '')).toBe(true);
    expect(bundle?.bytes).toBe(statSync(file).size);
    expect(bundle?.bytes).toBeLessThan(BUNDLE_BUDGET_BYTES);
    const code = readFileSync(file, 'utf8');
    // ESM: the createRequire banner, an `export` of the handler, no CommonJS wrapper.
    expect(code.startsWith("import { createRequire } from 'module';")).toBe(true);
    expect(code).toMatch(/export\s*\{[^}]*\bhandler\b[^}]*\}/);
    expect(code).not.toMatch(/module\.exports\s*=/);
    // The AWS SDK stays external (provided by the Lambda runtime).
    expect(code).toMatch(/from\s*"@aws-sdk\/client-sqs"/);
    expect(code).not.toContain('@smithy/core');
  });

  it('loads in Node as an ES module and exports a handler function', () => {
    const file = local.find((b) => b.name === name)?.file ?? '';
    const lane = name === 'apply-deletions' ? 'deletions' : 'changes';
    const output = execFileSync(
      process.execPath,
      [
        '--input-type=module',
        '-e',
        `const m = await import(${JSON.stringify(file)}); console.log(typeof m.handler);`,
      ],
      {
        encoding: 'utf8',
        env: {
          PATH: process.env['PATH'] ?? '',
          LANE: lane,
          POSTHOG_HOST: 'https://us.posthog.com',
          POSTHOG_PROJECT_ID: '1',
          POSTHOG_SECRET_ID: 'arn:aws:secretsmanager:eu-west-1:123456789012:secret:x-AbC123',
          QUEUE_URL: 'https://sqs.eu-west-1.amazonaws.com/123456789012/q',
          DLQ_URL: 'https://sqs.eu-west-1.amazonaws.com/123456789012/q-dlq',
          // The ingress's own (it reads no LANE or POSTHOG_*).
          DELETIONS_QUEUE_URL: 'https://sqs.eu-west-1.amazonaws.com/123456789012/q',
          CHANGES_QUEUE_URL: 'https://sqs.eu-west-1.amazonaws.com/123456789012/q.fifo',
          WEBHOOK_SECRET_STRIPE: 'arn:aws:secretsmanager:eu-west-1:123456789012:secret:w-AbC123',
          AWS_REGION: 'eu-west-1',
          AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED: 'true',
          POWERTOOLS_METRICS_DISABLED: 'true',
        },
      },
    );
    expect(output.trim()).toBe('function');
  });

  it('is the same code in the CDK asset (NodejsFunction uses the shared settings)', () => {
    const assetDir = cdkAssets.get(name) ?? '';
    const asset = path.join(assetDir, 'index.mjs');
    expect(existsSync(asset)).toBe(true);
    expect(existsSync(`${asset}.map`)).toBe(true);
    expect(statSync(asset).size).toBeLessThan(BUNDLE_BUDGET_BYTES);
    const localFile = local.find((b) => b.name === name)?.file ?? '';
    expect(withoutSourceMapComment(readFileSync(asset, 'utf8'))).toBe(
      withoutSourceMapComment(readFileSync(localFile, 'utf8')),
    );
  });
});

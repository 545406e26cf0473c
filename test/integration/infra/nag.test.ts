import { App, CfnResource, Duration, Stack, Validations } from 'aws-cdk-lib';
import * as lambda from 'aws-cdk-lib/aws-lambda';
import { SqsEventSource } from 'aws-cdk-lib/aws-lambda-event-sources';
import * as sqs from 'aws-cdk-lib/aws-sqs';
import { AwsSolutionsChecks, type NagRuleResult, rules } from 'cdk-nag';
import type { IConstruct } from 'constructs';
import { afterAll, describe, expect, it } from 'vitest';
import { PersonsRelayChecks } from '../../../infra/nag.ts';
import { addPersonsRelay } from '../../../infra/persons-relay-app.ts';
import { buildRelay, FULL_CONTEXT, type RelayFixture, removeDir, tempDir } from './fixtures.ts';

// Built with the nag plugins registered: Template.fromStack synthesises, which runs them and throws on any
// unacknowledged finding, so building these fixtures is itself part of the check.
const full: RelayFixture = buildRelay(FULL_CONTEXT, { nag: true });
const bare: RelayFixture = buildRelay({}, { nag: true });
const dirs: string[] = [full.outdir, bare.outdir];
afterAll(() => {
  for (const dir of dirs) removeDir(dir);
});

describe.each([
  ['full', full],
  ['default', bare],
] as const)('cdk-nag on the %s configuration', (_name, fixture) => {
  it('finds zero unacknowledged AwsSolutions findings', () => {
    const report = new AwsSolutionsChecks().validateScope(fixture.app);
    expect(
      report.violations.map((v) => `${v.ruleName} ${v.violatingResources[0]?.constructPath}`),
    ).toEqual([]);
    expect(report.success).toBe(true);
  });

  it('finds zero persons-relay findings (visibility ≥ 6× function timeout)', () => {
    const report = new PersonsRelayChecks().validateScope(fixture.app);
    expect(report.violations).toEqual([]);
  });

  it('synthesises with the plugins registered', () => {
    expect(() => fixture.app.synth({ force: true })).not.toThrow();
  });
});

describe('the nag gate can fail', () => {
  it('fails synth on an unacknowledged finding next to the relay', () => {
    const outdir = tempDir('nag-negative');
    dirs.push(outdir);
    const app = new App({ outdir, context: { 'aws:cdk:bundling-stacks': [] } });
    const { core } = addPersonsRelay(app);
    new sqs.Queue(core, 'Unencrypted', { encryption: sqs.QueueEncryption.UNENCRYPTED });
    const names = new AwsSolutionsChecks().validateScope(app).violations.map((v) => v.ruleName);
    expect(names).toEqual(
      expect.arrayContaining(['AwsSolutions-SQS2', 'AwsSolutions-SQS3', 'AwsSolutions-SQS4']),
    );
    expect(() => app.synth()).toThrow(/AwsSolutions-SQS2/);
  });

  it('reports a queue whose visibility timeout is under 6× the function timeout', () => {
    const app = new App({ outdir: tempDir('nag-visibility') });
    dirs.push(app.outdir);
    const stack = new Stack(app, 'S');
    const queue = new sqs.Queue(stack, 'Q', { visibilityTimeout: Duration.seconds(60) });
    const fn = new lambda.Function(stack, 'F', {
      runtime: lambda.Runtime.NODEJS_22_X,
      handler: 'index.handler',
      code: lambda.Code.fromInline('export const handler = async () => ({});'),
      timeout: Duration.seconds(30),
    });
    fn.addEventSource(new SqsEventSource(queue));
    const report = new PersonsRelayChecks().validateScope(app);
    expect(report.violations.map((v) => v.ruleName)).toEqual([
      'PersonsRelay-LambdaEventSourceSQSVisibilityTimeout',
    ]);
  });
});

describe('acknowledgements', () => {
  // Each acknowledged rule id → the cdk-nag rule that produces it, to prove every acknowledgement is needed.
  const RULES: Record<string, (node: CfnResource) => NagRuleResult> = {
    'AwsSolutions-SMG4': rules.secretsmanager.SecretsManagerRotationEnabled,
    'AwsSolutions-L1': rules.lambda.LambdaLatestVersion,
    'AwsSolutions-SQS3': rules.sqs.SQSQueueDLQ,
    'AwsSolutions-IAM5': rules.iam.IAMNoWildcardPermissions,
  };
  const acknowledgements = (app: App) =>
    app.node.findAll().flatMap((construct) =>
      construct.node.metadata
        .filter((m) => m.type === Validations.ACKNOWLEDGED_RULES_METADATA_KEY)
        .flatMap((m) =>
          Object.entries(m.data as Record<string, string>).map(([key, reason]) => ({
            construct,
            id: key.replace(/^annotation::/i, ''),
            reason,
          })),
        ),
    );
  const cfnResourcesUnder = (construct: IConstruct) =>
    construct.node.findAll().filter((c): c is CfnResource => CfnResource.isCfnResource(c));

  it('acknowledges exactly the expected rules', () => {
    const ids = (app: App) =>
      acknowledgements(app)
        .map((a) => `${a.construct.node.path} ${a.id}`)
        .sort();
    expect(ids(full.app)).toEqual(
      [
        'PersonsRelay/PostHogSecret AwsSolutions-SMG4',
        // No SQS3 on the routing DLQ: the changes routing queue's redrive policy names it (issue 15).
        'PersonsRelay/changes/Function AwsSolutions-L1',
        'PersonsRelay/changes/Role AwsSolutions-IAM5[Resource::*]',
        'PersonsRelay/deletions/Function AwsSolutions-L1',
        'PersonsRelay/deletions/Role AwsSolutions-IAM5[Resource::*]',
      ].sort(),
    );
    expect(ids(bare.app)).not.toContain('PersonsRelay/RoutingDeadLetterQueue AwsSolutions-SQS3');
  });

  it('gives each acknowledgement a rule id and a real reason, and each suppresses a real finding', () => {
    for (const app of [full.app, bare.app]) {
      for (const { construct, id, reason } of acknowledgements(app)) {
        expect(id).toMatch(/^AwsSolutions-[A-Z]+\d+(\[.+\])?$/);
        expect(reason.length, `${id} reason`).toBeGreaterThanOrEqual(60);
        const [, base, finding] = /^([^[]+)(?:\[(.+)\])?$/.exec(id) ?? [];
        const rule = RULES[base ?? ''];
        expect(rule, `a rule for ${id}`).toBeDefined();
        const results = cfnResourcesUnder(construct).map((node) => rule?.(node));
        const fires = results.some((result) =>
          finding === undefined
            ? result === 'Non-Compliant'
            : Array.isArray(result) && result.includes(finding),
        );
        expect(fires, `${id} on ${construct.node.path} suppresses a real finding`).toBe(true);
      }
    }
  });
});

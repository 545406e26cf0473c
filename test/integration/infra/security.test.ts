/**
 * Issue 15, point 7: security edges. kms:Decrypt for an imported secret under a customer managed key, refusing
 * a secret in another account, and producers by AWS Organizations id (next to accounts and role ARNs).
 */
import { AwsSolutionsChecks } from 'cdk-nag';
import { afterAll, describe, expect, it } from 'vitest';
import { parseInfraConfig } from '../../../infra/config.ts';
import { buildRelay, type RelayFixture, refId, removeDir, resourcesOf } from './fixtures.ts';

const SECRET = 'arn:aws:secretsmanager:eu-west-1:123456789012:secret:persons-relay/posthog-AbC123';
const KEY = 'arn:aws:kms:eu-west-1:123456789012:key/1234abcd-12ab-34cd-56ef-1234567890ab';
const ORG = 'o-a1b2c3d4e5';

const built: RelayFixture[] = [];
const build = (context: Record<string, unknown>, options: { nag?: boolean } = {}) => {
  const fixture = buildRelay({ posthogProjectId: '1', ...context }, options);
  built.push(fixture);
  return fixture;
};
afterAll(() => {
  for (const fixture of built) removeDir(fixture.outdir);
});

interface Statement {
  Effect: string;
  Action: string | string[];
  Resource: unknown;
  Principal?: unknown;
  Condition?: Record<string, Record<string, unknown>>;
  Sid?: string;
}
const functionStatements = (fixture: RelayFixture) =>
  Object.entries(resourcesOf(fixture.core, 'AWS::IAM::Policy'))
    .filter(([id]) => !id.startsWith('ChangesPipeRole'))
    .flatMap(
      ([, p]) =>
        (p.Properties as { PolicyDocument: { Statement: Statement[] } }).PolicyDocument.Statement,
    );
const actions = (s: Statement) => [s.Action].flat();

describe('an imported secret encrypted with a customer managed key', () => {
  const withKey = build({ posthogSecretArn: SECRET, posthogSecretKmsKeyArn: KEY }, { nag: true });
  const withoutKey = build({ posthogSecretArn: SECRET });

  it('grants each function kms:Decrypt on that key, only through Secrets Manager in this region', () => {
    const decrypts = functionStatements(withKey).filter((s) => actions(s).includes('kms:Decrypt'));
    expect(decrypts).toHaveLength(2);
    for (const statement of decrypts) {
      expect(statement).toMatchObject({ Effect: 'Allow', Action: 'kms:Decrypt', Resource: KEY });
      expect(JSON.stringify(statement.Condition?.['StringEquals']?.['kms:ViaService'])).toContain(
        'secretsmanager.',
      );
    }
  });

  it('grants no KMS permission without a key (the AWS managed key needs none)', () => {
    expect(
      functionStatements(withoutKey).filter((s) => actions(s).some((a) => a.startsWith('kms:'))),
    ).toEqual([]);
  });

  it('passes the cdk-nag gate', () => {
    const report = new AwsSolutionsChecks().validateScope(withKey.app);
    expect(report.violations.map((v) => v.ruleName)).toEqual([]);
  });

  it('accepts only a key ARN (an alias cannot be granted)', () => {
    expect(() =>
      parseInfraConfig({ posthogSecretKmsKeyArn: 'arn:aws:kms:eu-west-1:123456789012:alias/x' }),
    ).toThrow(/posthogSecretKmsKeyArn: must be a KMS key ARN/);
  });
});

describe('a secret in another account is refused', () => {
  it('fails synth when the stack account is known and differs', () => {
    expect(() => build({ account: '999999999999', posthogSecretArn: SECRET })).toThrow(
      /posthogSecretArn is in account 123456789012, not in this stack's account 999999999999/,
    );
    expect(() =>
      build({
        account: '123456789012',
        posthogSecretArn: SECRET,
        posthogSecretKmsKeyArn: KEY.replace('123456789012', '999999999999'),
      }),
    ).toThrow(/posthogSecretKmsKeyArn is in account 999999999999/);
    // Same account: fine.
    expect(() => build({ account: '123456789012', posthogSecretArn: SECRET })).not.toThrow();
  });

  it('fails synth when the secret and its key are in different accounts (even environment-agnostic)', () => {
    expect(() =>
      build({
        posthogSecretArn: SECRET,
        posthogSecretKmsKeyArn: KEY.replace('123456789012', '999999999999'),
      }),
    ).toThrow(/both must be in the stack's account/);
  });

  it("conditions every secret read on aws:ResourceAccount = the function's own account (environment-agnostic stacks)", () => {
    for (const fixture of [build({ posthogSecretArn: SECRET }), build({})]) {
      const reads = functionStatements(fixture).filter((s) =>
        actions(s).includes('secretsmanager:GetSecretValue'),
      );
      expect(reads).toHaveLength(2);
      for (const statement of reads) {
        expect(statement.Condition).toEqual({
          StringEquals: { 'aws:ResourceAccount': '${aws:PrincipalAccount}' },
        });
      }
    }
  });
});

describe('producers by AWS Organizations id, role ARN or account', () => {
  const orgs = build(
    {
      producerOrganizationIds: `${ORG},o-zzzzzzzzzz`,
      producerPrincipalArns: 'arn:aws:iam::333333333333:role/crm-sync',
    },
    { nag: true },
  );

  it('lets any principal of the organizations send to both lanes (Principal * narrowed by aws:PrincipalOrgID)', () => {
    const queues = resourcesOf(orgs.core, 'AWS::SQS::Queue');
    const lanes = ['PersonsRelay-deletions', 'PersonsRelay-changes.fifo'].map(
      (name) => Object.entries(queues).find(([, q]) => q.Properties?.['QueueName'] === name)?.[0],
    );
    const policies = Object.values(resourcesOf(orgs.core, 'AWS::SQS::QueuePolicy'));
    for (const queueId of lanes) {
      const policy = policies.find((p) =>
        ((p.Properties?.['Queues'] ?? []) as unknown[]).some((q) => refId(q) === queueId),
      );
      const document = (policy?.Properties?.['PolicyDocument'] ?? { Statement: [] }) as {
        Statement: Statement[];
      };
      const statements = document.Statement;
      const org = statements.find((s) => s.Sid === 'AllowProducerOrganizations');
      expect(org).toMatchObject({
        Effect: 'Allow',
        Principal: { AWS: '*' },
        Action: ['sqs:SendMessage', 'sqs:GetQueueAttributes', 'sqs:GetQueueUrl'],
        Resource: { 'Fn::GetAtt': [queueId, 'Arn'] },
        Condition: { StringEquals: { 'aws:PrincipalOrgID': [ORG, 'o-zzzzzzzzzz'] } },
      });
      // The role ARN is still granted as itself, not widened.
      expect(statements.find((s) => s.Sid === 'AllowProducers')?.Principal).toEqual({
        AWS: 'arn:aws:iam::333333333333:role/crm-sync',
      });
      // The only "*" principal is conditioned (and the TLS deny).
      for (const s of statements.filter((st) => JSON.stringify(st.Principal).includes('"*"'))) {
        const orgCondition = s.Condition?.['StringEquals']?.['aws:PrincipalOrgID'];
        expect(s.Effect === 'Deny' || orgCondition !== undefined).toBe(true);
      }
    }
  });

  it('passes the cdk-nag gate', () => {
    const report = new AwsSolutionsChecks().validateScope(orgs.app);
    expect(report.violations.map((v) => v.ruleName)).toEqual([]);
  });

  it('refuses a malformed organization id', () => {
    expect(() => parseInfraConfig({ producerOrganizationIds: 'org-123' })).toThrow(
      /producerOrganizationIds\.0: must be an organization id/,
    );
  });
});

import { afterAll, describe, expect, it } from 'vitest';
import { loadConfig } from '#lib/config.ts';
import { STATE_TABLE_ENV, TABLE_KEYS } from '#lib/store/index.ts';
import {
  buildRelay,
  type CfnResourceJson,
  FULL_CONTEXT,
  type RelayFixture,
  refId,
  removeDir,
  resourcesOf,
} from './fixtures.ts';

const full: RelayFixture = buildRelay(FULL_CONTEXT);
afterAll(() => removeDir(full.outdir));

interface Statement {
  Effect: string;
  Action: string | string[];
  Resource: unknown;
  Condition?: Record<string, Record<string, unknown>>;
}

const tables = resourcesOf(full.core, 'AWS::DynamoDB::Table');
const tableId = Object.keys(tables)[0] ?? '';
const table = tables[tableId] as CfnResourceJson;
const functions = resourcesOf(full.core, 'AWS::Lambda::Function');
const policies = Object.values(resourcesOf(full.core, 'AWS::IAM::Policy'));

function laneFunction(lane: 'deletions' | 'changes'): CfnResourceJson {
  const found = Object.values(functions).find(
    (f) =>
      (f.Properties?.['Environment'] as { Variables?: Record<string, unknown> })?.Variables?.[
        'LANE'
      ] === lane,
  );
  if (!found) throw new Error(`no ${lane} function`);
  return found;
}

/** The DynamoDB statements of the policy attached to the role of a lane's function. */
function dynamoStatements(lane: 'deletions' | 'changes'): Statement[] {
  const roleId = refId(laneFunction(lane).Properties?.['Role']);
  return policies
    .filter((p) => ((p.Properties?.['Roles'] as unknown[]) ?? []).some((r) => refId(r) === roleId))
    .flatMap((p) => {
      const document = p.Properties?.['PolicyDocument'] as { Statement: Statement[] };
      return document.Statement;
    })
    .filter((s) => [s.Action].flat().some((a) => a.startsWith('dynamodb:')));
}

describe('shared state table', () => {
  it('is one on-demand, KMS-encrypted table keyed by pk, with TTL on expiresAt and point-in-time recovery', () => {
    expect(Object.keys(tables)).toHaveLength(1);
    expect(table.Properties).toMatchObject({
      BillingMode: 'PAY_PER_REQUEST',
      KeySchema: [{ AttributeName: TABLE_KEYS.partitionKey, KeyType: 'HASH' }],
      TimeToLiveSpecification: { AttributeName: TABLE_KEYS.ttlAttribute, Enabled: true },
      // SSEEnabled without a key: the AWS managed key aws/dynamodb (AWS::DynamoDB::Table SSESpecification).
      SSESpecification: { SSEEnabled: true },
      PointInTimeRecoverySpecification: { PointInTimeRecoveryEnabled: true },
    });
  });

  it.each(['deletions', 'changes'] as const)(
    'gives the %s function its name by environment, and a config that enables the shared state',
    (lane) => {
      const environment = laneFunction(lane).Properties?.['Environment'] as {
        Variables: Record<string, unknown>;
      };
      const variables = environment.Variables;
      expect(refId(variables[STATE_TABLE_ENV])).toBe(tableId);
      const config = loadConfig({
        ...Object.fromEntries(
          Object.entries(variables).map(([k, v]) => [k, typeof v === 'string' ? v : 'x']),
        ),
        POSTHOG_SECRET_ID: 'arn:aws:secretsmanager:eu-west-1:123456789012:secret:p-AbC123',
        QUEUE_URL: 'https://sqs.eu-west-1.amazonaws.com/123456789012/q',
        DLQ_URL: 'https://sqs.eu-west-1.amazonaws.com/123456789012/dlq',
      });
      expect(config.sharedState?.tableName).toBe('x');
    },
  );

  it.each([
    ['deletions', 'dynamodb:BatchWriteItem'],
    ['changes', 'dynamodb:BatchGetItem'],
  ] as const)(
    'grants the %s function item-level access only: budget items and %s on tombstones',
    (lane, tombstoneAction) => {
      const statements = dynamoStatements(lane);
      const byPrefix = (prefix: string) =>
        statements
          .filter(
            (s) =>
              JSON.stringify(s.Condition) ===
              JSON.stringify({
                'ForAllValues:StringLike': { 'dynamodb:LeadingKeys': [`${prefix}#*`] },
              }),
          )
          .flatMap((s) => [s.Action].flat())
          .sort();
      expect(byPrefix('budget')).toEqual(['dynamodb:GetItem', 'dynamodb:UpdateItem']);
      expect(byPrefix('tomb')).toEqual([tombstoneAction]);
      // Nothing else: no Scan/Query/DeleteItem, no unconditioned statement, only this table.
      expect(statements.flatMap((s) => [s.Action].flat())).toHaveLength(3);
      for (const s of statements) {
        expect(s.Effect).toBe('Allow');
        expect(refId(s.Resource)).toBe(tableId);
      }
    },
  );
});

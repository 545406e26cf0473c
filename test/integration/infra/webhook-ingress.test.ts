import { Match } from 'aws-cdk-lib/assertions';
import { AwsSolutionsChecks } from 'cdk-nag';
import { afterAll, describe, expect, it } from 'vitest';
import { parseInfraConfig } from '../../../infra/config.ts';
import {
  buildRelay,
  type CfnResourceJson,
  FULL_CONTEXT,
  type RelayFixture,
  refId,
  removeDir,
  resourcesOf,
} from './fixtures.ts';

/** One property of a template resource (undefined when the resource or property is missing). */
const prop = (resource: CfnResourceJson | undefined, key: string): unknown =>
  resource?.Properties?.[key];

const SALESFORCE_BUS = 'aws.partner/salesforce.com/00D5f000000KbFjEAK/0YL5f000000KyrRGAS';
const WEBHOOK_CONTEXT = {
  ...FULL_CONTEXT,
  webhookProviders: 'stripe,hubspot,clerk,auth0,okta',
  webhookDistinctIdFields: '{"stripe":"metadata.uid,id"}',
  webhookDistinctIdPrefixes: { hubspot: 'hubspot-' },
  webhookRateLimit: '25',
  salesforceEventBusName: SALESFORCE_BUS,
};

// Built with cdk-nag registered: synthesis throws on any unacknowledged finding.
const withWebhooks: RelayFixture = buildRelay(WEBHOOK_CONTEXT, { nag: true });
const without: RelayFixture = buildRelay({ posthogProjectId: '1' });
afterAll(() => {
  removeDir(withWebhooks.outdir);
  removeDir(without.outdir);
});

describe('webhook ingress in the core stack', () => {
  it('is cdk-nag clean', () => {
    const report = new AwsSolutionsChecks().validateScope(withWebhooks.app);
    expect(
      report.violations.map((v) => `${v.ruleName} ${v.violatingResources[0]?.constructPath}`),
    ).toEqual([]);
  });

  it('puts the function behind an HTTP API whose $default stage is throttled and access-logged', () => {
    const t = withWebhooks.core;
    t.resourceCountIs('AWS::ApiGatewayV2::Api', 1);
    t.hasResourceProperties('AWS::ApiGatewayV2::Api', { ProtocolType: 'HTTP' });
    t.hasResourceProperties('AWS::ApiGatewayV2::Stage', {
      StageName: '$default',
      AutoDeploy: true,
      DefaultRouteSettings: { ThrottlingRateLimit: 25, ThrottlingBurstLimit: 100 },
      AccessLogSettings: Match.objectLike({ DestinationArn: Match.anyValue() }),
    });
    const routes = Object.values(resourcesOf(t, 'AWS::ApiGatewayV2::Route')).map(
      (route) => route.Properties?.['RouteKey'],
    );
    expect(routes.sort()).toEqual(['GET /webhooks/okta', 'POST /webhooks/{provider}']);
    t.hasResourceProperties('AWS::ApiGatewayV2::Integration', {
      IntegrationType: 'AWS_PROXY',
      PayloadFormatVersion: '2.0',
    });
  });

  it('creates one signing secret per provider and gives the function each secret ARN and the distinct-id settings', () => {
    const t = withWebhooks.core;
    const secrets = resourcesOf(t, 'AWS::SecretsManager::Secret');
    const webhookSecrets = Object.entries(secrets).filter(([id]) => id.startsWith('Webhooks'));
    expect(webhookSecrets).toHaveLength(5);
    const ingress = Object.values(resourcesOf(t, 'AWS::Lambda::Function')).find((fn) =>
      String(fn.Properties?.['FunctionName']).endsWith('-ingress'),
    );
    const env = prop(ingress, 'Environment') as {
      Variables: Record<string, unknown>;
    };
    expect(env).toBeDefined();
    for (const provider of ['STRIPE', 'HUBSPOT', 'CLERK', 'AUTH0', 'OKTA']) {
      const secretId = refId(env.Variables[`WEBHOOK_SECRET_${provider}`]);
      expect(webhookSecrets.map(([id]) => id)).toContain(secretId);
    }
    expect(env.Variables['WEBHOOK_DISTINCT_ID_FIELDS_STRIPE']).toBe('metadata.uid,id');
    expect(env.Variables['WEBHOOK_DISTINCT_ID_PREFIX_HUBSPOT']).toBe('hubspot-');
    expect(refId(env.Variables['DELETIONS_QUEUE_URL'])).toMatch(/^deletionsQueue/);
    expect(refId(env.Variables['CHANGES_QUEUE_URL'])).toMatch(/^changesQueue/);
    expect(ingress?.Properties?.['Runtime']).toBe('nodejs22.x');
  });

  it('lets the ingress send to both lanes and read only its own secrets', () => {
    const t = withWebhooks.core;
    const policies = Object.entries(resourcesOf(t, 'AWS::IAM::Policy')).filter(([id]) =>
      id.startsWith('WebhooksRole'),
    );
    const statements = policies.flatMap(
      ([, policy]) =>
        (
          prop(policy, 'PolicyDocument') as {
            Statement: { Action: unknown; Resource: unknown }[];
          }
        ).Statement,
    );
    const sends = statements.filter((s) => JSON.stringify(s.Action).includes('sqs:SendMessage'));
    expect(sends.map((s) => refId(s.Resource)).sort()).toEqual([
      expect.stringMatching(/^changesQueue/),
      expect.stringMatching(/^deletionsQueue/),
    ]);
    const reads = statements.filter((s) =>
      JSON.stringify(s.Action).includes('secretsmanager:GetSecretValue'),
    );
    expect(reads.map((s) => refId(s.Resource))).toHaveLength(5);
    expect(reads.every((s) => refId(s.Resource)?.startsWith('Webhooks'))).toBe(true);
  });

  it('alarms on the 4xx and 5xx rates of the API and has a dashboard', () => {
    const t = withWebhooks.core;
    const alarms = Object.values(resourcesOf(t, 'AWS::CloudWatch::Alarm'));
    const webhookAlarms = alarms.filter((alarm) =>
      String(alarm.Properties?.['AlarmDescription']).includes('webhooks'),
    );
    expect(webhookAlarms.map((alarm) => alarm.Properties?.['Threshold']).sort()).toEqual([20, 5]);
    // alarmEmail is set (FULL_CONTEXT): both alarms notify the ingress's own topic, which mails it.
    const topics = Object.keys(resourcesOf(t, 'AWS::SNS::Topic'));
    for (const webhookAlarm of webhookAlarms) {
      expect(refId((prop(webhookAlarm, 'AlarmActions') as unknown[])[0])).toBe(topics[0]);
      expect(refId((prop(webhookAlarm, 'OKActions') as unknown[])[0])).toBe(topics[0]);
    }
    t.hasResourceProperties('AWS::SNS::Subscription', {
      Protocol: 'email',
      Endpoint: 'oncall@example.com',
    });
    const metricNames = JSON.stringify(webhookAlarms.map((alarm) => alarm.Properties?.['Metrics']));
    expect(metricNames).toContain('"MetricName":"4xx"');
    expect(metricNames).toContain('"MetricName":"5xx"');
    expect(metricNames).toContain('"MetricName":"Count"');
    t.hasResourceProperties('AWS::CloudWatch::Dashboard', {
      DashboardName: 'PersonsRelay-webhooks',
    });
    t.hasOutput('WebhookUrl', Match.anyValue());
  });

  it('routes Salesforce CDC deletes to the deletions lane and merge losers to the changes lane by MasterRecordId', () => {
    const t = withWebhooks.core;
    const rules = Object.values(resourcesOf(t, 'AWS::Events::Rule')).filter(
      (rule) => rule.Properties?.['EventBusName'] === SALESFORCE_BUS,
    );
    expect(rules).toHaveLength(2);
    const byTarget = (queue: RegExp) =>
      rules.find((rule) =>
        ((prop(rule, 'Targets') ?? []) as { Arn: unknown }[]).some((target) =>
          queue.test(refId(target.Arn) ?? ''),
        ),
      );
    const deletes = byTarget(/^deletionsQueue/);
    const merges = byTarget(/^changesQueue/);
    expect(deletes?.Properties?.['EventPattern']).toEqual({
      source: [{ prefix: 'aws.partner/salesforce.com' }],
      detail: {
        payload: {
          ChangeEventHeader: { changeType: ['DELETE'], entityName: ['Contact', 'Lead'] },
          MasterRecordId: [{ exists: false }],
        },
      },
    });
    expect(
      (
        prop(merges, 'EventPattern') as {
          detail: { payload: { MasterRecordId: unknown } };
        }
      ).detail.payload.MasterRecordId,
    ).toEqual([{ exists: true }]);
    expect(
      ((prop(merges, 'Targets') ?? []) as { SqsParameters?: unknown }[])[0]?.SqsParameters,
    ).toEqual({
      MessageGroupId: '$.detail.payload.MasterRecordId',
    });
    // The routing DLQ is watched by the monitoring stack like the other DLQs.
    expect(JSON.stringify(withWebhooks.monitoring.toJSON())).toContain(
      'PersonsRelay-salesforce-routing-dlq',
    );
  });

  it('adds nothing when no webhook provider or Salesforce bus is configured', () => {
    without.core.resourceCountIs('AWS::ApiGatewayV2::Api', 0);
    expect(Object.keys(resourcesOf(without.core, 'AWS::Events::Rule'))).toEqual([]);
  });

  it('refuses an unknown provider and a bus that is not a Salesforce partner bus', () => {
    expect(() => parseInfraConfig({ webhookProviders: 'stripe,paypal' })).toThrow(
      /webhookProviders/,
    );
    expect(() => parseInfraConfig({ salesforceEventBusName: 'default' })).toThrow(
      /salesforceEventBusName/,
    );
    expect(() => parseInfraConfig({ webhookDistinctIdFields: '{"paypal":"id"}' })).toThrow(
      /webhookDistinctIdFields/,
    );
  });
});

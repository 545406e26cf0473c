/**
 * Issue 15, point 1: every message the schema accepts completes, or makes lasting progress, within one invocation
 * at the DEPLOYED budgets and timeout. Local runs scale budgets ×60 and shorten timeouts, which hid this.
 *
 * Real parts: the functions' environment as CDK synthesizes it (instances = the event source's maxConcurrency,
 * the Lambda timeout, the redrive count), `loadConfig`, the relay handler's wiring, the planner, the executor, the
 * client with its sliding-window limiter, and the PostHog emulator over HTTP enforcing PostHog's real limits
 * (480/min + 4800/h deletes, 240/min others). Fake: the clock (shared by the client, the limiter, the emulator and
 * the Lambda context, so a 55 s deadline and a 60 s window are real PostHog/AWS values that pass in milliseconds),
 * and the queue between deliveries (SQS's visibility timers cannot follow a fake clock), which hands back every
 * message the handler reported as failed, with its receive count increased.
 */
import type { SQSEvent, SQSRecord } from 'aws-lambda';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { QueueOps } from '../../../../lib/batch/index.ts';
import { loadConfig } from '../../../../lib/config.ts';
import { LIMITS } from '../../../../lib/messages/index.ts';
import type { RelayLogger } from '../../../../lib/runtime/logger.ts';
import type { RelayMetrics } from '../../../../lib/runtime/metrics.ts';
import { createRelayHandler } from '../../../../lib/runtime/relay-handler.ts';
import {
  type PostHogEmulator,
  startPostHogEmulator,
} from '../../../../local/posthog-emulator/index.ts';
import { buildRelay, removeDir } from '../../infra/fixtures.ts';

/** A clock whose sleeps end at once, moving time to when they would have ended (never backwards). */
function virtualClock(start: number) {
  let current = start;
  return {
    now: (): number => current,
    sleep: async (ms: number, signal?: AbortSignal): Promise<void> => {
      const until = current + Math.max(0, ms);
      await Promise.resolve();
      if (signal?.aborted) throw signal.reason;
      current = Math.max(current, until);
    },
    advance: (ms: number): void => {
      current += ms;
    },
  };
}

interface DeployedLane {
  env: Record<string, string>;
  timeoutSeconds: number;
}

/** Each consumer function's environment and timeout from a real synth of the stack with default settings. */
function deployedLanes(): Record<'deletions' | 'changes', DeployedLane> {
  const fixture = buildRelay({ posthogProjectId: '1' });
  try {
    const functions = fixture.core.findResources('AWS::Lambda::Function');
    const lanes: Partial<Record<'deletions' | 'changes', DeployedLane>> = {};
    for (const resource of Object.values(functions)) {
      const props = resource['Properties'] as {
        Timeout: number;
        Environment?: { Variables?: Record<string, unknown> };
      };
      const variables = props.Environment?.Variables ?? {};
      const lane = variables['LANE'];
      if (lane !== 'deletions' && lane !== 'changes') continue;
      // Only literal values: tokens (queue URLs, the secret ARN) are replaced by the test's own.
      const env = Object.fromEntries(
        Object.entries(variables).filter((entry): entry is [string, string] => {
          return typeof entry[1] === 'string';
        }),
      );
      lanes[lane] = { env, timeoutSeconds: props.Timeout };
    }
    if (lanes.deletions === undefined || lanes.changes === undefined) {
      throw new Error('the synthesized stack has no deletions or changes function');
    }
    return { deletions: lanes.deletions, changes: lanes.changes };
  } finally {
    removeDir(fixture.outdir);
  }
}

const silent: RelayLogger = { debug() {}, info() {}, warn() {}, error() {} };
const noMetrics: RelayMetrics = { count() {}, flush() {} };

interface Delivery {
  invocation: number;
  elapsedMs: number;
  received: number;
  /** Acknowledged: applied (nothing here is rejected; `deadLettered` counts rejections). */
  acknowledged: number;
}

/**
 * Delivers `bodies` to the lane's real handler until every message is applied, as SQS would: a batch of at most
 * `batchSize` of the waiting messages, the failed ones back after the delay the handler set, receive count + 1.
 */
async function drain(
  lane: 'deletions' | 'changes',
  deployed: DeployedLane,
  bodies: string[],
  options: {
    ph: PostHogEmulator;
    clock: ReturnType<typeof virtualClock>;
    batchSize: number;
    projectToken?: boolean;
  },
): Promise<{ deliveries: Delivery[]; deadLettered: number; maxReceiveCount: number }> {
  const { ph, clock } = options;
  const config = loadConfig(
    {
      ...deployed.env,
      POSTHOG_HOST: ph.url,
      POSTHOG_PROJECT_ID: String(ph.projectId),
      POSTHOG_SECRET_ID: 'persons-relay/posthog',
      QUEUE_URL: `https://sqs.us-east-1.amazonaws.com/123456789012/${lane}`,
      DLQ_URL: `https://sqs.us-east-1.amazonaws.com/123456789012/${lane}-dlq`,
    },
    { lane },
  );
  let deadLettered = 0;
  const delays = new Map<string, number>();
  const queueOps: QueueOps = {
    async changeVisibility(_url, changes) {
      for (const change of changes) delays.set(change.id, change.visibilityTimeout);
      return { failedIds: [] };
    },
    async sendToDeadLetterQueue(_url, letters) {
      deadLettered += letters.length;
      return { failedIds: [] };
    },
  };
  const handler = createRelayHandler(config, {
    fetchSecret: async () => ({
      personalApiKey: ph.personalApiKey,
      ...(options.projectToken === false ? {} : { projectToken: ph.projectToken }),
    }),
    queueOps,
    logger: silent,
    metrics: noMetrics,
    now: clock.now,
    sleep: clock.sleep,
    random: () => 0.5,
  });
  const waiting = bodies.map((body, index) => ({ id: `msg-${index}`, body, receives: 0 }));
  const deliveries: Delivery[] = [];
  let maxReceiveCount = 0;
  while (waiting.length > 0 && deliveries.length < 50) {
    const batch = waiting.slice(0, options.batchSize);
    const records: SQSRecord[] = batch.map((m, index) => {
      m.receives += 1;
      maxReceiveCount = Math.max(maxReceiveCount, m.receives);
      return {
        messageId: m.id,
        receiptHandle: `rh-${m.id}-${m.receives}`,
        body: m.body,
        attributes: {
          ApproximateReceiveCount: String(m.receives),
          SentTimestamp: '0',
          SenderId: 'test',
          ApproximateFirstReceiveTimestamp: '0',
          ...(lane === 'changes'
            ? {
                MessageGroupId: `person-${index}`,
                SequenceNumber: String(index),
                MessageDeduplicationId: m.id,
              }
            : {}),
        },
        messageAttributes: {},
        md5OfBody: '',
        eventSource: 'aws:sqs',
        eventSourceARN: `arn:aws:sqs:us-east-1:123456789012:${lane}`,
        awsRegion: 'us-east-1',
      };
    });
    const startedAt = clock.now();
    const deadlineAt = startedAt + deployed.timeoutSeconds * 1000;
    delays.clear();
    const response = await handler({ Records: records } as SQSEvent, {
      getRemainingTimeInMillis: () => deadlineAt - clock.now(),
    });
    const failed = new Set(response.batchItemFailures.map((f) => f.itemIdentifier));
    deliveries.push({
      invocation: deliveries.length + 1,
      elapsedMs: clock.now() - startedAt,
      received: records.length,
      acknowledged: records.length - failed.size,
    });
    for (const m of batch) if (!failed.has(m.id)) waiting.splice(waiting.indexOf(m), 1);
    // The failed messages come back once their delay has passed (and not before the next invocation starts).
    clock.advance(Math.max(1, ...[...delays.values()].map((seconds) => seconds * 1000)));
  }
  return { deliveries, deadLettered, maxReceiveCount };
}

let lanes: Record<'deletions' | 'changes', DeployedLane>;
beforeAll(() => {
  lanes = deployedLanes();
});

describe('the deployed budgets and timeouts (unscaled, fake clock)', () => {
  let ph: PostHogEmulator | undefined;
  afterAll(async () => {
    await ph?.close();
  });

  it('reads what CDK deploys: 8 changes instances with a 60 s timeout, 3 deletions instances with 120 s', () => {
    expect(lanes.changes.env['POSTHOG_RATE_INSTANCES']).toBe('8');
    expect(lanes.changes.timeoutSeconds).toBe(60);
    expect(lanes.deletions.env['POSTHOG_RATE_INSTANCES']).toBe('3');
    expect(lanes.deletions.timeoutSeconds).toBe(120);
  });

  it('changes lane: a FIFO batch of ten 100-key updates, a split and a merge finishes in one invocation', async () => {
    // Prepare: 30 other calls a minute for this instance (240/8), 55 s before the deadline.
    const clock = virtualClock(Date.parse('2026-12-01T00:00:00Z'));
    ph = await startPostHogEmulator({ now: clock.now, rateLimits: { enabled: true } });
    const keys = Array.from({ length: LIMITS.propertyKeysMax }, (_, i) => `k${i}`);
    const half = keys.length / 2;
    const seeded = Array.from({ length: 10 }, (_, i) => ({
      uuid: `0190a3c2-5b7e-7cde-8f01-${String(i + 1).padStart(12, '0')}`,
      distinctIds: [`crm-${i}`, `crm-${i}-device`],
      properties: Object.fromEntries(keys.map((k) => [k, 'old'])),
    }));
    ph.seedPersons(seeded);
    const at = '2026-12-01T00:00:00Z';
    const bodies = [
      // Seven updates by distinct id, one by uuid: each sets 50 keys and unsets 50 (the schema's most).
      ...seeded.slice(0, 8).map((p, i) =>
        JSON.stringify({
          type: 'person.properties.update',
          id: `u${i}`,
          time: at,
          data: {
            ...(i === 7 ? { uuid: p.uuid } : { distinctId: p.distinctIds[0] }),
            set: Object.fromEntries(keys.slice(0, half).map((k) => [k, `new-${i}`])),
            unset: keys.slice(half),
          },
        }),
      ),
      JSON.stringify({
        type: 'person.split',
        id: 's1',
        time: at,
        data: { distinctId: 'crm-8', mainDistinctId: 'crm-8' },
      }),
      JSON.stringify({
        type: 'person.merge',
        id: 'g1',
        time: at,
        data: {
          survivorDistinctId: 'crm-9',
          mergedDistinctIds: Array.from({ length: LIMITS.mergeMaxIds }, (_, i) => `lead-${i}`),
        },
      }),
    ];
    const before = ph.state.requests().length;

    // Act
    const result = await drain('changes', lanes.changes, bodies, { ph, clock, batchSize: 10 });
    await ph.flush();

    // Assert
    expect(result.deliveries).toEqual([
      { invocation: 1, elapsedMs: expect.any(Number), received: 10, acknowledged: 10 },
    ]);
    expect(result.deliveries[0]?.elapsedMs).toBeLessThan(55_000);
    expect(result.deadLettered).toBe(0);
    const requests = ph.state.requests().slice(before);
    expect(requests.filter((r) => r.status === 429)).toEqual([]);
    // 1 lookup + 1 retrieve + 8 PATCHes + 1 split + 1 capture batch (8 $unset events and 100 merges).
    expect(requests.length).toBeLessThanOrEqual(30);
    for (const [i, p] of seeded.slice(0, 8).entries()) {
      const person = ph.state.persons.find((row) => row.uuid === p.uuid);
      expect(person?.properties['k0']).toBe(`new-${i}`);
      expect(person?.properties).not.toHaveProperty(keys[keys.length - 1] ?? '');
    }
  });

  it('deletions lane: a batch needing more calls than one invocation allows completes whole messages each time', async () => {
    // Prepare: 80 messages naming 10,000 persons each (the schema's most), half by uuid and half by distinct id, are
    // 800 bulk_delete calls. This instance may make 160 a minute (480/3) and 1600 an hour, for 115 s: about 320 per
    // invocation. (A full batch of 1000 such messages is the same shape, only 12× bigger for the planner's memory.)
    const clock = virtualClock(Date.parse('2026-12-01T00:00:00Z'));
    await ph?.close();
    ph = await startPostHogEmulator({ now: clock.now, rateLimits: { enabled: true } });
    const messages = 80;
    const half = LIMITS.deleteMaxIds / 2;
    ph.seedPersons(
      Array.from({ length: messages }, (_, m) => ({
        uuid: `0190a3c2-5b7e-7cde-8f01-${String(m + 1).padStart(12, '0')}`,
        distinctIds: [`del-${m}-d-4999`],
        properties: {},
      })),
    );
    const bodies = Array.from({ length: messages }, (_, m) =>
      JSON.stringify({
        type: 'persons.delete',
        id: `d${m}`,
        time: '2026-12-01T00:00:00Z',
        data: {
          personUuids: Array.from(
            { length: half },
            (_, i) =>
              `0190a3c2-5b7e-7cde-8f01-${(0x10000000 + m * LIMITS.deleteMaxIds + i).toString(16).padStart(12, '0')}`,
          ),
          distinctIds: Array.from({ length: half }, (_, i) => `del-${m}-d-${i}`),
        },
      }),
    );
    const before = ph.state.requests().length;

    // Act
    const result = await drain('deletions', lanes.deletions, bodies, {
      ph,
      clock,
      batchSize: 1000,
    });

    // Assert: every invocation acknowledges whole messages, so the batch shrinks each time and ends.
    expect(result.deliveries.length).toBeGreaterThan(1);
    expect(result.deliveries.length).toBeLessThanOrEqual(4);
    for (const delivery of result.deliveries) {
      expect(delivery.acknowledged).toBeGreaterThan(0);
      expect(delivery.elapsedMs).toBeLessThan(120_000);
    }
    expect(result.deliveries.reduce((n, d) => n + d.acknowledged, 0)).toBe(messages);
    expect(result.deadLettered).toBe(0);
    expect(result.maxReceiveCount).toBeLessThan(
      Number(lanes.deletions.env['REDRIVE_MAX_RECEIVE_COUNT'] ?? 50),
    );
    const requests = ph.state.requests().slice(before);
    expect(requests.filter((r) => r.status === 429)).toEqual([]);
    expect(ph.state.persons).toEqual([]);
  }, 120_000);
});

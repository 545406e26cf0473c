import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { splitPersonUuid } from '../../lib/posthog/index.ts';
import { listDeadLetters } from '../../local/sqs/dlq.ts';
import {
  buildTestBundles,
  exampleLines,
  type Pipeline,
  personsState,
  startPipeline,
} from './harness.ts';

// fauxqs + the PostHog emulator + the Lambda-like runner executing the esbuild bundles (dist-equivalent .mjs).

const ALAN = '58aa466f-33c7-57f7-bbb9-36dc0e4bf228';
const LINUS = 'da3e0f6c-94ad-590a-9eee-c28c1a9cb906';
const BARBARA = '260215d6-8112-5204-a016-716f5ee047fc';
const ANON_4 = '34b6f317-be94-506e-8355-c71c5c2274bb';
const ANON_1_ID = 'ff3a7ce5-5a03-5156-9fdb-d16d9c5400a6';
const ANON_2_ID = '686c2cfc-4807-5f68-9d6a-f871955f450b';

/**
 * The persons after every command of examples/events.ndjson, derived from PostHog's rules
 * (docs/posthog-api.md): deletes remove dennis, barbara, anon-3, anon-4; merges keep the survivor's
 * properties and add the merged person's others; splits move ids to new, empty persons. The demo seed's pageviews
 * give the persons who browsed `$browser`/`$current_url` and their `$initial_*` copies, as PostHog's ingestion does
 * (`personInitialAndUTMProperties`).
 *
 * grace's two updates are out of order (10:05 sent before 10:01). fauxqs hands out one message per FIFO group
 * per receive, so locally they always land in separate batches and SQS's delivery order (= send order) decides:
 * the later delivery (plan "free") wins. Within one batch the planner keeps the latest `time` instead.
 */
const EXPECTED_PERSONS = [
  {
    distinctIds: ['1abb8274-a4a8-583a-af8a-7be72d19db71', 'ada@example.com', 'crm-1001'],
    properties: {
      $browser: 'Chrome',
      $current_url: 'https://app.example.com/step-3',
      $initial_browser: 'Chrome',
      $initial_current_url: 'https://app.example.com/step-1',
      email: 'ada@example.com',
      name: 'Ada Lovelace',
      plan: 'team',
      crm_id: 'crm-1001',
      company: 'Analytical Engines Ltd',
      lifecycle_stage: 'customer',
      seats: 12,
    },
  },
  {
    distinctIds: [ANON_2_ID, 'crm-1006'],
    properties: {
      $browser: 'Firefox',
      $current_url: 'https://app.example.com/step-1',
      $initial_browser: 'Firefox',
      $initial_current_url: 'https://app.example.com/step-1',
      email: 'margaret@example.com',
      name: 'Margaret Hamilton',
      plan: 'enterprise',
      crm_id: 'crm-1006',
      company: 'Apollo Software',
      lifecycle_stage: 'customer',
      newsletter: true,
    },
  },
  { distinctIds: ['alan.t'], properties: {} },
  {
    distinctIds: ['c2916c25-df05-5416-a41b-3423c5af671c', 'crm-1002'],
    properties: {
      $browser: 'Safari',
      $current_url: 'https://app.example.com/step-3',
      $initial_browser: 'Safari',
      $initial_current_url: 'https://app.example.com/step-1',
      email: 'grace@example.com',
      name: 'Grace Hopper',
      // crm-upd-2002 (10:05, enterprise) and crm-upd-2001 (10:01, free) arrive in one FIFO batch, as SQS delivers a
      // group (docs/operations.md, "FIFO as AWS delivers it"): the later `time` wins.
      plan: 'enterprise',
      crm_id: 'crm-1002',
      company: 'Cobol Systems',
      lifecycle_stage: 'expansion',
      newsletter: false,
    },
  },
  {
    distinctIds: ['crm-1003'],
    properties: {
      $browser: 'Firefox',
      $current_url: 'https://app.example.com/step-2',
      $initial_browser: 'Firefox',
      $initial_current_url: 'https://app.example.com/step-1',
      email: 'alan@example.com',
      name: 'Alan Turing',
      plan: 'free',
      crm_id: 'crm-1003',
      company: 'Bletchley Labs',
      lifecycle_stage: 'lead',
      newsletter: true,
    },
  },
  {
    distinctIds: ['crm-1004', ANON_1_ID],
    properties: {
      $browser: 'Chrome',
      $current_url: 'https://app.example.com/step-3',
      $initial_browser: 'Chrome',
      $initial_current_url: 'https://app.example.com/step-1',
      $initial_referring_domain: 'news.example.org',
      email: 'katherine@example.com',
      name: 'Katherine Johnson',
      plan: 'team',
      crm_id: 'crm-1004',
      company: 'Orbital Mechanics Inc',
      lifecycle_stage: 'advocate',
      newsletter: true,
    },
  },
  {
    distinctIds: ['crm-1005', 'linus-laptop', 'linus@example.com'],
    properties: {
      $browser: 'Safari',
      $current_url: 'https://app.example.com/step-2',
      $initial_browser: 'Safari',
      $initial_current_url: 'https://app.example.com/step-1',
      email: 'linus@example.com',
      name: 'Linus Torvalds',
      plan: 'free',
      crm_id: 'crm-1005',
      company: 'Kernel Works',
      lifecycle_stage: 'lead',
      newsletter: false,
    },
  },
  { distinctIds: ['linus-phone'], properties: {} },
];

const EXPECTED_REJECTIONS = [
  [
    'invalid_field',
    'data.mergedDistinctIds[0]: is "anonymous", which PostHog refuses to merge (an illegal distinct id), so the merge would silently do nothing',
  ],
  ['invalid_field', 'data: must name at least one person in distinctIds or personUuids'],
  ['invalid_field', 'data: must set or unset at least one property'],
  ['not_json', 'The message body is not valid JSON'],
  [
    'unknown_command_type',
    'type: "person.rename" is not a known command type (expected one of persons.delete, person.split, person.properties.update, person.merge)',
  ],
  [
    'unknown_envelope',
    'The message is not a command (type, id, time, data), an EventBridge event, an SNS notification or a CloudEvent',
  ],
];

let bundles: Awaited<ReturnType<typeof buildTestBundles>>;

beforeAll(async () => {
  bundles = await buildTestBundles();
});

afterAll(async () => {
  await bundles.cleanup();
});

describe('the local pipeline over the bundled handlers', () => {
  let pipeline: Pipeline;

  afterAll(async () => {
    await pipeline?.close();
  });

  it('applies every valid message of examples/events.ndjson and ends in the exact expected persons state', async () => {
    // Prepare
    pipeline = await startPipeline(bundles.modules);
    const lines = await exampleLines();

    // Act
    const sent = await pipeline.send(lines);
    pipeline.stack.startPolling();
    await pipeline.stack.waitUntilDrained({ timeoutMs: 40_000 });
    await pipeline.emulator.flush();

    // Assess: sent, one final outcome per SQS message, nothing left pending
    expect(sent.sent).toEqual({ deletions: 16, changes: 9, invalid: 6 });
    const outcomes = [...pipeline.stack.observer.outcomes.values()];
    // 31 sent, one FIFO duplicate (same command id) dropped by SQS deduplication.
    expect(outcomes).toHaveLength(30);
    const byType = (type: string | null) =>
      outcomes.filter((o) => o.commandType === type).map((o) => o.outcome);
    expect(byType('persons.delete')).toEqual(Array(16).fill('applied'));
    expect(byType('person.split')).toEqual(['applied', 'applied']);
    expect(byType('person.properties.update')).toEqual(Array(4).fill('applied'));
    expect(byType('person.merge')).toEqual(['applied', 'applied']);
    expect(byType(null)).toEqual(Array(6).fill('rejected'));

    // Assess: the persons, exactly
    expect(personsState(pipeline.emulator)).toEqual(EXPECTED_PERSONS);
    const split = (id: string) => pipeline.emulator.state.personByDistinctId(id)?.uuid;
    expect(split('linus-phone')).toBe(splitPersonUuid(1, 'linus-phone', LINUS));
    expect(split('alan.t')).toBe(splitPersonUuid(1, 'alan.t', ALAN));
    expect(split('crm-1003')).toBe(ALAN);

    // Assess: GDPR erasures queued the deletion of the persons' events
    expect(pipeline.emulator.state.asyncDeletions.map((d) => d.personUuid).sort()).toEqual(
      [BARBARA, ANON_4].sort(),
    );
  });

  it('puts every malformed message in the DLQ with its reason after one receive', async () => {
    // Act
    const { queues } = pipeline.stack.sqs;
    const deletionsDlq = await listDeadLetters(pipeline.stack.sqs.client, queues.deletions.dlqUrl);
    const changesDlq = await listDeadLetters(pipeline.stack.sqs.client, queues.changes.dlqUrl);

    // Assess
    expect(changesDlq).toEqual([]);
    expect(deletionsDlq.map((d) => [d.errorCode, d.errorReason]).sort()).toEqual(
      EXPECTED_REJECTIONS,
    );
    for (const letter of deletionsDlq) {
      expect(letter.sourceQueue).toBe(queues.deletions.arn);
      expect(letter.originalMessageId).toMatch(/^[0-9a-f-]{36}$/);
      expect(Number.isNaN(Date.parse(letter.firstReceivedAt ?? ''))).toBe(false);
    }
    const rejected = [...pipeline.stack.observer.outcomes.values()].filter(
      (o) => o.outcome === 'rejected',
    );
    expect(rejected.map((o) => o.receiveCount)).toEqual(Array(6).fill(1));
  });

  it('writes EMF metrics whose counts match the outcomes', () => {
    // Act
    const { totals, rejectedByReason } = pipeline.stack.observer.metrics;

    // Assess
    const retried = [...pipeline.stack.observer.outcomes.values()].filter(
      (o) => o.outcome === 'retry',
    );
    expect(totals.get('MessagesReceived'), JSON.stringify(retried)).toBe(30);
    expect(totals.get('MessagesApplied')).toBe(24);
    expect(totals.get('MessagesRejected')).toBe(6);
    expect(totals.get('MessagesRetried') ?? 0, JSON.stringify(retried)).toBe(0);
    expect(totals.get('PersonsDeleted')).toBe(4);
    expect(Object.fromEntries(rejectedByReason)).toEqual({
      invalid_field: 3,
      not_json: 1,
      unknown_command_type: 1,
      unknown_envelope: 1,
    });
    expect(totals.get('PostHogCalls')).toBe(pipeline.emulator.state.requestLog.length);
  });
});

describe('coalescing on the deletions lane', () => {
  let pipeline: Pipeline;

  afterAll(async () => {
    await pipeline?.close();
  });

  it('turns 2,000 single-person delete messages into one bulk_delete per batch', async () => {
    // Prepare: 2,000 account closures, one distinct id each (most persons never reached PostHog). The runner gathers a
    // batch for up to 5 s (the deployed lane waits 30 s, infra/stacks/persons-relay-stack.ts) instead of the local
    // default 0.5 s: on a loaded machine 0.5 s of 10-message receives gathers a few dozen, and the batch count then
    // measures the machine, not the coalescing. A batch still closes as soon as it holds 1,000.
    pipeline = await startPipeline(bundles.modules, {
      stack: { deletions: { maximumBatchingWindowMs: 5_000 } },
    });
    const lines = Array.from({ length: 2000 }, (_, i) =>
      JSON.stringify({
        type: 'persons.delete',
        id: `close-${i}`,
        time: '2026-11-28T09:00:00Z',
        data: { distinctIds: [`user-${i}`], reason: 'account_closed' },
      }),
    );

    // Act
    await pipeline.send(lines);
    pipeline.stack.startPolling();
    await pipeline.stack.waitUntilDrained({ timeoutMs: 150_000 });

    // Assess: every message applied; bulk_delete calls = batches (≤ 1000 ids each), not 2,000
    const { observer } = pipeline.stack;
    expect([...observer.outcomes.values()].filter((o) => o.outcome === 'applied')).toHaveLength(
      2000,
    );
    const bulkDeletes = pipeline.emulator.state.requestLog.filter(
      (r) => r.endpoint === 'persons/bulk_delete',
    );
    expect(bulkDeletes.length).toBe(observer.batches);
    expect(bulkDeletes.length).toBeGreaterThanOrEqual(2);
    expect(bulkDeletes.length).toBeLessThan(20);
    expect(observer.lowerBound).toBe(bulkDeletes.length);
  }, 240_000);
});

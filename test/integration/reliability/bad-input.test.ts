import { SendMessageCommand } from '@aws-sdk/client-sqs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { messageGroupIdOf, parseMessage } from '../../../lib/messages/index.ts';
import { listDeadLetters } from '../../../local/sqs/dlq.ts';
import { type BadInput, loadBadCorpus } from '../corpus/corpus.ts';
import { buildTestBundles, type Pipeline, startPipeline } from '../harness.ts';
import { recordFigures } from './figures.ts';

// Every file of test/integration/corpus/bad/, mixed into batches of good messages on both lanes, through fauxqs, the runner
// and the bundled handlers: each bad one is in the DLQ after ONE receive with the code its file name states and the
// parser's reason, and every good message around it applies.

/** Good distinct ids that look dangerous: they travel in request bodies, never in a path. */
const HOSTILE_BUT_VALID_IDS = [
  '../../api/projects/2/persons/bulk_delete',
  'user?delete_events=true',
  'user#fragment',
  'user%2F..%2Fsplit',
  '用户-42',
  'مستخدم-43',
  'עברית-44',
];

const DELETE_IDS = [
  ...Array.from({ length: 12 }, (_, i) => `corpus-del-${i}`),
  ...HOSTILE_BUT_VALID_IDS,
];
const UPDATE_IDS = [
  ...Array.from({ length: 12 }, (_, i) => `corpus-upd-${i}`),
  ...HOSTILE_BUT_VALID_IDS.map((id) => `upd:${id}`),
];

const TIME = '2026-11-28T09:00:00Z';

/** Every route the relay may call: project 1, a person uuid or a fixed action, nothing else. */
const ALLOWED_PATHS = [
  /^\/api\/projects\/1\/persons\/(bulk_delete|batch_by_distinct_ids)\/$/,
  /^\/api\/projects\/1\/persons\/[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}\/(update_property|delete_property|split)\/$/,
  // PATCH persons/:uuid/ (several keys of one person) and GET of a person named by uuid.
  /^\/api\/projects\/1\/persons\/[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}\/$/,
  /^\/batch\/$/,
  /^\/i\/v0\/e\/$/,
];

let bundles: Awaited<ReturnType<typeof buildTestBundles>>;
let pipeline: Pipeline;
let corpus: BadInput[];
/** SQS message id → the corpus entry sent with it. */
const sentBad = new Map<string, BadInput>();

beforeAll(async () => {
  bundles = await buildTestBundles();
  corpus = await loadBadCorpus();
  pipeline = await startPipeline(bundles.modules, {
    emulator: {
      seed: {
        persons: [
          ...DELETE_IDS.map((id) => ({ distinctIds: [id] })),
          ...UPDATE_IDS.map((id) => ({ distinctIds: [id], properties: { tier: 'old' } })),
        ],
      },
    },
  });
  const { client } = pipeline.stack.sqs;
  const queues = pipeline.stack.sqs.queues;
  const sendBad = async (input: BadInput, fifoGroup?: string) => {
    const out = await client.send(
      new SendMessageCommand({
        QueueUrl: fifoGroup === undefined ? queues.deletions.url : queues.changes.url,
        MessageBody: input.body,
        ...(fifoGroup === undefined
          ? {}
          : { MessageGroupId: fifoGroup, MessageDeduplicationId: `bad-${sentBad.size}` }),
      }),
    );
    sentBad.set(out.MessageId ?? '', input);
  };
  const sendGood = async (body: Record<string, unknown>, fifo: boolean) => {
    const text = JSON.stringify(body);
    const parsed = parseMessage(text);
    if (!parsed.ok) throw new Error(`good message refused: ${parsed.rejection.reason}`);
    await client.send(
      new SendMessageCommand({
        QueueUrl: fifo ? queues.changes.url : queues.deletions.url,
        MessageBody: text,
        ...(fifo
          ? {
              MessageGroupId: messageGroupIdOf(parsed.command),
              MessageDeduplicationId: parsed.command.id,
            }
          : {}),
      }),
    );
    return parsed.command;
  };

  // Interleave: bad, good, bad, good... A quarter of the bad ones go to the FIFO lane in the group of the good
  // update that follows them, so a rejection must not block its group.
  let good = 0;
  for (const [index, input] of corpus.entries()) {
    const deleteId = DELETE_IDS[good % DELETE_IDS.length];
    const updateId = UPDATE_IDS[good % UPDATE_IDS.length];
    if (index % 4 === 3 && good < UPDATE_IDS.length && updateId !== undefined) {
      const update = {
        type: 'person.properties.update',
        id: `good-upd-${good}`,
        time: TIME,
        data: { distinctId: updateId, set: { tier: 'new', checked: index } },
      };
      const parsed = parseMessage(JSON.stringify(update));
      if (!parsed.ok) throw new Error(parsed.rejection.reason);
      await sendBad(input, messageGroupIdOf(parsed.command));
      await sendGood(update, true);
      good += 1;
    } else {
      await sendBad(input);
      if (index % 4 === 0 && deleteId !== undefined && index / 4 < DELETE_IDS.length) {
        await sendGood(
          {
            type: 'persons.delete',
            id: `good-del-${index}`,
            time: TIME,
            data: { distinctIds: [deleteId] },
          },
          false,
        );
      }
    }
  }
  // The rest of the good messages, so every seeded person is named once.
  for (const [index, id] of UPDATE_IDS.entries()) {
    if (index < good) continue;
    await sendGood(
      {
        type: 'person.properties.update',
        id: `good-upd-${index}`,
        time: TIME,
        data: { distinctId: id, set: { tier: 'new', checked: -1 } },
      },
      true,
    );
  }
  pipeline.stack.startPolling();
  await pipeline.stack.waitUntilDrained({ timeoutMs: 200_000 });
  await pipeline.emulator.flush();
}, 400_000);

afterAll(async () => {
  await pipeline?.close();
  await bundles?.cleanup();
});

describe('the bad-input corpus', () => {
  it('has at least 80 files, each with an expected rejection code', () => {
    expect(corpus.length).toBeGreaterThanOrEqual(80);
    expect(new Set(corpus.map((c) => c.expectedCode))).toEqual(
      new Set(['not_json', 'unknown_envelope', 'unknown_command_type', 'invalid_field']),
    );
  });

  it('dead-letters every bad file after one receive, with its expected code and the parser reason', async () => {
    // Act
    const letters = [
      ...(await listDeadLetters(
        pipeline.stack.sqs.client,
        pipeline.stack.sqs.queues.deletions.dlqUrl,
      )),
      ...(await listDeadLetters(
        pipeline.stack.sqs.client,
        pipeline.stack.sqs.queues.changes.dlqUrl,
      )),
    ];

    // Assess: one DLQ entry per bad file, nothing else
    const byOriginal = new Map(letters.map((l) => [l.originalMessageId ?? '', l]));
    expect(letters).toHaveLength(sentBad.size);
    const wrong: string[] = [];
    for (const [messageId, input] of sentBad) {
      const letter = byOriginal.get(messageId);
      const outcome = pipeline.stack.observer.outcomes.get(messageId);
      const parsed = parseMessage(input.body);
      const expectedReason = parsed.ok ? 'accepted' : parsed.rejection.reason.slice(0, 1000);
      if (
        letter?.errorCode !== input.expectedCode ||
        letter.errorReason !== expectedReason ||
        letter.body !== input.body ||
        outcome?.outcome !== 'rejected' ||
        outcome.receiveCount !== 1
      ) {
        wrong.push(`${input.file}: ${letter?.errorCode} after ${outcome?.receiveCount} receive(s)`);
      }
    }
    expect(wrong).toEqual([]);
    const counted = [...pipeline.stack.observer.metrics.rejectedByReason.values()].reduce(
      (a, b) => a + b,
      0,
    );
    expect(counted).toBe(sentBad.size);
    recordFigures('bad-input', {
      'bad inputs tried': sentBad.size,
      'rejected with the expected code after 1 receive': sentBad.size - wrong.length,
      'good messages in the same batches': DELETE_IDS.length + UPDATE_IDS.length,
    });
  });

  it('applies every good message in the same batches', () => {
    // Assess: every deleted person is gone, every updated one has the new value
    const persons = pipeline.emulator.state.persons;
    const byId = new Map(persons.flatMap((p) => p.distinctIds.map((id) => [id, p] as const)));
    for (const id of DELETE_IDS) expect(byId.has(id), id).toBe(false);
    for (const id of UPDATE_IDS) expect(byId.get(id)?.properties['tier'], id).toBe('new');
    const outcomes = [...pipeline.stack.observer.outcomes.values()];
    expect(outcomes.filter((o) => o.outcome === 'applied')).toHaveLength(
      DELETE_IDS.length + UPDATE_IDS.length,
    );
  });

  it('never lets an id change the request path: every request went to an expected route', () => {
    // Assess: the emulator's request log (paths as the server received them)
    const log = pipeline.emulator.state.requestLog;
    expect(log.length).toBeGreaterThan(0);
    const unexpected = log.filter(
      (r) => r.query !== undefined || !ALLOWED_PATHS.some((p) => p.test(r.path)),
    );
    expect(unexpected).toEqual([]);
  });
});

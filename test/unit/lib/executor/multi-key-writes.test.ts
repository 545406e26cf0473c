import { describe, expect, it } from 'vitest';
import { executePlan } from '../../../../lib/executor/index.ts';
import { CommandSchema } from '../../../../lib/messages/index.ts';
import { type InboundCommand, planBatch } from '../../../../lib/planner/index.ts';
import { apiError, FakePostHogClient } from '../../../support/posthog-client.ts';

// The executor's branches for a person's many keys in one call (issue 15, point 1): the PATCH and its per-key
// fallback, the retrieve of a uuid person, and the `$unset` event that is only sent to a person stage 0 found.
// Over HTTP against the emulator: test/integration/lib/executor/execute.test.ts.

const UUID_1 = '0190a3c2-5b7e-7cde-8f01-000000000001';
const UUID_9 = '0190a3c2-5b7e-7cde-8f01-000000000009';
const TIME = '2026-11-28T09:00:00Z';

const updates = (...data: Record<string, unknown>[]): InboundCommand[] =>
  data.map((d, i) => ({
    messageId: `m${i}`,
    command: CommandSchema.parse({
      type: 'person.properties.update',
      id: `c${i}`,
      time: TIME,
      data: d,
    }),
  }));

const client = () => new FakePostHogClient({ ada: UUID_1, 'ada-phone': UUID_1 });

describe('executePlan: several keys of one person', () => {
  it('sends the set keys of a person as one PATCH with the person id the lookup found', async () => {
    const posthog = client();
    const plan = planBatch(
      updates({ distinctId: 'ada', set: { a: 1, b: 2 } }, { uuid: UUID_1, set: { c: 3 } }),
    );

    const outcomes = await executePlan(plan, posthog);

    expect(posthog.callsOf('updateProperties').map((c) => c.args)).toEqual([
      [UUID_1, { a: 1, b: 2 }],
    ]);
    expect(posthog.callsOf('updateProperty').map((c) => c.args)).toEqual([[UUID_1, 'c', 3]]);
    expect([...outcomes.values()]).toEqual([{ status: 'applied' }, { status: 'applied' }]);
  });

  it('falls back to one update_property per key on a 400, so only the writer of the refused key is rejected', async () => {
    const posthog = client()
      .script(
        'updateProperties',
        apiError(400, { type: 'validation_error', detail: 'no write access' }),
      )
      .handle('updateProperty', ([, key]) => {
        if (key === 'secret')
          throw apiError(400, { type: 'validation_error', detail: 'no write access' });
        return { accepted: true };
      });
    const plan = planBatch(
      updates({ distinctId: 'ada', set: { a: 1 } }, { distinctId: 'ada', set: { secret: 'x' } }),
    );

    const outcomes = await executePlan(plan, posthog);

    expect(posthog.callsOf('updateProperty').map((c) => c.args[1])).toEqual(['a', 'secret']);
    expect(outcomes.get('m0')).toEqual({ status: 'applied' });
    expect(outcomes.get('m1')).toMatchObject({ status: 'rejected', code: 'http_400' });
  });

  it('does not fall back on a 503: the whole PATCH is retried later', async () => {
    const posthog = client().script('updateProperties', apiError(503));
    const plan = planBatch(updates({ distinctId: 'ada', set: { a: 1, b: 2 } }));

    const outcomes = await executePlan(plan, posthog);

    expect(posthog.callsOf('updateProperty')).toEqual([]);
    expect(outcomes.get('m0')).toMatchObject({ status: 'retry', code: 'http_503' });
  });

  it('sends several unset keys as one $unset event to the distinct id, or to the first distinct id of a uuid', async () => {
    const posthog = client();
    const plan = planBatch(
      updates({ distinctId: 'ada-phone', unset: ['a', 'b'] }, { uuid: UUID_1, unset: ['c', 'd'] }),
      { captureUnsets: true },
    );

    const outcomes = await executePlan(plan, posthog);

    expect(posthog.callsOf('retrieve').map((c) => c.args)).toEqual([[UUID_1]]);
    const [sent] = posthog.callsOf('captureBatch').map((c) => c.args[0]);
    expect(sent).toEqual([
      expect.objectContaining({
        event: '$set',
        distinctId: 'ada-phone',
        properties: { $unset: ['a', 'b'] },
      }),
      expect.objectContaining({
        event: '$set',
        distinctId: 'ada',
        properties: { $unset: ['c', 'd'] },
      }),
    ]);
    expect([...outcomes.values()]).toEqual([{ status: 'applied' }, { status: 'applied' }]);
  });

  it('drops the $unset event of a person no lookup found, so capture never creates one', async () => {
    const posthog = client();
    const plan = planBatch(
      updates(
        { distinctId: 'nobody', unset: ['a', 'b'] },
        { uuid: UUID_9, unset: ['a', 'b'] },
        { distinctId: 'ada', unset: ['a', 'b'] },
      ),
      { captureUnsets: true },
    );

    const outcomes = await executePlan(plan, posthog);

    const sent = posthog
      .callsOf('captureBatch')
      .flatMap((c) => c.args[0] as { distinctId: string }[]);
    expect(sent.map((e) => e.distinctId)).toEqual(['ada']);
    expect(outcomes.get('m0')).toMatchObject({ status: 'rejected', code: 'person_not_found' });
    expect(outcomes.get('m1')).toMatchObject({ status: 'rejected', code: 'person_not_found' });
    expect(outcomes.get('m2')).toEqual({ status: 'applied' });
  });

  it('retries the $unset event when the retrieve itself failed, instead of rejecting it', async () => {
    const posthog = client().script('retrieve', apiError(503));
    const plan = planBatch(updates({ uuid: UUID_1, unset: ['a', 'b'] }), { captureUnsets: true });

    const outcomes = await executePlan(plan, posthog);

    expect(posthog.callsOf('captureBatch').flatMap((c) => c.args[0] as unknown[])).toEqual([]);
    expect(outcomes.get('m0')).toMatchObject({ status: 'retry', code: 'http_503' });
  });
});

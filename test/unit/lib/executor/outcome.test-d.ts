import { describe, expectTypeOf, it } from 'vitest';
import type { BatchReport, MessageResult } from '../../../../lib/batch/index.ts';
import type { OUTCOME_CODES, Outcome } from '../../../../lib/executor/index.ts';
// The batch loop's codes are part of the one outcome vocabulary now (lib/outcome).
import type { OUTCOME_CODES as BATCH_RETRY_CODES } from '../../../../lib/outcome/index.ts';

// The outcome vocabulary: one status per message, a delay only where a retry needs one, and literal codes.

describe('outcome and result types', () => {
  it('gives an executor outcome one of three statuses, and a delay only to a retry', () => {
    expectTypeOf<Outcome['status']>().toEqualTypeOf<'applied' | 'retry' | 'rejected'>();
    expectTypeOf<Extract<Outcome, { status: 'retry' }>['delayMs']>().toBeNumber();
    expectTypeOf<Extract<Outcome, { status: 'rejected' }>>().not.toHaveProperty('delayMs');
    expectTypeOf<Extract<Outcome, { status: 'applied' }>>().not.toHaveProperty('code');
  });

  it('keeps the outcome codes as literals, not string', () => {
    expectTypeOf<(typeof OUTCOME_CODES)['deadline']>().toEqualTypeOf<'deadline'>();
    expectTypeOf<
      (typeof BATCH_RETRY_CODES)['groupBlocked']
    >().toEqualTypeOf<'fifo_group_blocked'>();
  });

  it('gives a batch result a delay exactly when the message is returned to the queue', () => {
    expectTypeOf<Extract<MessageResult, { action: 'fail' }>['delaySeconds']>().toBeNumber();
    expectTypeOf<Extract<MessageResult, { action: 'acknowledge' }>>().not.toHaveProperty(
      'delaySeconds',
    );
    expectTypeOf<BatchReport['response']['batchItemFailures'][number]>().toEqualTypeOf<{
      itemIdentifier: string;
    }>();
  });
});

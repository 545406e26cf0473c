import { describe, expectTypeOf, it } from 'vitest';
import type { PostHogClientLike } from '../../../../lib/executor/index.ts';
import type {
  BulkDeleteResult,
  MinimalPerson,
  PostHogClient,
  SerializedPerson,
} from '../../../../lib/posthog/index.ts';
import type { FakePostHogClient } from '../../../support/posthog-client.ts';

// The client's public methods and what they resolve to: the executor, the CLI and producers rely on these shapes.

describe("the PostHog client's public types", () => {
  it('resolves each Persons API method to its documented shape', () => {
    expectTypeOf<PostHogClient['batchByDistinctIds']>().returns.resolves.toEqualTypeOf<
      Record<string, MinimalPerson>
    >();
    expectTypeOf<PostHogClient['bulkDelete']>().returns.resolves.toEqualTypeOf<BulkDeleteResult>();
    expectTypeOf<PostHogClient['split']>().returns.resolves.toEqualTypeOf<{ queued: true }>();
    expectTypeOf<PostHogClient['captureBatch']>().returns.resolves.toBeVoid();
    expectTypeOf<PostHogClient['list']>().returns.toEqualTypeOf<AsyncIterable<SerializedPerson>>();
  });

  it('takes a person uuid for every call the executor makes by person', () => {
    expectTypeOf<MinimalPerson['uuid']>().toBeString();
    expectTypeOf<BulkDeleteResult['deletionErrors'][number]['personUuid']>().toBeString();
  });

  it('is usable as the executor client, and so is the unit tier fake', () => {
    expectTypeOf<PostHogClient>().toExtend<PostHogClientLike>();
    expectTypeOf<FakePostHogClient>().toExtend<PostHogClientLike>();
  });
});

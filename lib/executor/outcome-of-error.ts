import { APPLIED, classify, type Outcome } from '../outcome/index.ts';
import type { PlannedCall, SplitCall } from '../planner/index.ts';
import { idsStillOnPerson } from '../posthog/index.ts';

/** Turns a failed call into the outcome of the messages it serves (the rules are `classify`'s). */
export function outcomeOfError(
  error: unknown,
  call: Pick<PlannedCall, 'endpoint'> & Partial<Pick<SplitCall, 'body'>>,
): Outcome {
  if (call.endpoint === 'split') {
    // Done before only if *every* id to split is off the person; if PostHog names just some of them, the others
    // are still on it and the split never ran (a wrong id in the command): that must not pass as applied.
    const ids =
      call.body !== undefined && 'distinctIdsToSplit' in call.body
        ? call.body.distinctIdsToSplit
        : [];
    const stillOn = idsStillOnPerson(error, ids);
    if (stillOn !== undefined && stillOn.length === 0) return APPLIED;
    if (stillOn !== undefined) {
      const { code, reason } = classify(error, call.endpoint);
      const ids = stillOn.map((id) => JSON.stringify(id)).join(', ');
      return {
        status: 'rejected',
        code,
        reason: `${reason} (the split was not applied: ${ids} still on the person)`,
      };
    }
  }
  return classify(error, call.endpoint);
}

import { DEFAULT_RETRY_POLICY } from '#lib/batch/index.ts';
import { POSTHOG_RATE_LIMITS } from '#lib/posthog/index.ts';
import type { PostHogEmulator } from '../posthog-emulator/index.ts';
import type { PostHogTarget } from './stack.ts';

/** The functions' PostHog settings for a local emulator: its URL, project and demo credentials. */
export function emulatorTarget(emulator: PostHogEmulator): PostHogTarget {
  return {
    host: emulator.url,
    projectId: emulator.projectId,
    personalApiKey: emulator.personalApiKey,
    projectToken: emulator.projectToken,
  };
}

/**
 * Function environment for an emulator running `timeScale` times faster than real time: one real second is
 * `timeScale` PostHog seconds, so the client's rate budgets grow by that factor and the SQS retry delays shrink by
 * it (SQS counts whole seconds, so 1 s is the floor).
 */
export function timeScaledEnv(timeScale: number): Record<string, string> {
  return {
    POSTHOG_RATE_DELETE_PER_MINUTE: String(POSTHOG_RATE_LIMITS.deletePerMinute * timeScale),
    POSTHOG_RATE_DELETE_PER_HOUR: String(POSTHOG_RATE_LIMITS.deletePerHour * timeScale),
    POSTHOG_RATE_OTHER_PER_MINUTE: String(POSTHOG_RATE_LIMITS.otherPerMinute * timeScale),
    RETRY_BASE_DELAY_SECONDS: '1',
    RETRY_MAX_DELAY_SECONDS: String(
      Math.max(1, Math.round(DEFAULT_RETRY_POLICY.maxDelaySeconds / timeScale)),
    ),
  };
}

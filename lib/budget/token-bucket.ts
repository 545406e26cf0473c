/**
 * Token buckets, in their scheduling form (GCRA), that are provably at least as strict as PostHog's sliding windows.
 *
 * PostHog's throttles are DRF `SimpleRateThrottle`s (posthog-persons-api.md §1.5): a sliding-window log that refuses a
 * request when `limit` requests were allowed in the last `window`. A fleet of Lambda instances cannot share a log
 * cheaply (4,800 timestamps for the delete hour), but it can share one number per window.
 *
 * ## The bucket
 *
 * A token bucket of capacity C refilled at r = (L − C) / W lets at most C + r·W = L requests through in any interval
 * of length W: over [t, t + W] the tokens taken are T(t) − T(t + W) + refilled ≤ C − 0 + r·W. We run the same bucket
 * in its scheduling form, the Generic Cell Rate Algorithm (ITU-T I.371; the "virtual scheduling" variant), because it
 * lets a caller *reserve* the next free slot in one conditional write and then sleep until it, instead of polling the
 * store until a token shows up:
 *
 *     emission interval  T = 1 / r = W / (L − C)        tolerance  τ = (C − 1) · T
 *     state: TAT (theoretical arrival time) per window
 *     reserve at time t:  slot s = max(t, blockedUntil, TAT − τ for every window);  TAT := max(s, TAT) + T
 *
 * ## Why no window of length W ever holds more than L slots
 *
 * Take any n slots inside one interval of length W; let a be the first of them to be reserved and b the last (in the
 * order of the store's conditional writes, whatever the slots' own order). Every reservation raises TAT by at least T
 * (TAT := max(s, TAT) + T), and a's raises it to at least s_a + T, so just before b: TAT ≥ s_a + (n − 1)·T. Slot b
 * was conforming: s_b ≥ TAT − τ ≥ s_a + (n − 1)·T − (C − 1)·T. Both lie in the interval, so W ≥ s_b − s_a, i.e.
 *
 *     n ≤ W / T + C = (L − C) + C = L.
 *
 * Pushing a slot later (a shared 429 block) keeps it conforming, and a delete takes its slot in both of its windows
 * (480/min and 4800/h) in one atomic write, so each window's bound holds on its own. An item that expires (TTL) is
 * only ever deleted one window after its last TAT, when no later slot can share a window with an earlier one, so a
 * fresh state is as safe as the lost one.
 *
 * ## Time
 *
 * A slot is an epoch-ms time on the instances' clocks; PostHog stamps the request on arrival, a little later (the
 * send, the connection, clock skew between instances). Every window is therefore counted as `W + margin` (1 s by
 * default, like the in-process limiter), so that L + 1 requests arriving within W of each other would have needed
 * slots within W + margin of each other, which the bound forbids.
 *
 * The price of the proof is a little throughput: the long-run rate is (L − C) / (W + margin) instead of L / W. With
 * the default capacities (4 for 240/min, 8 for 480/min and for 4800/h) that is 232/min for `other`, 464/min for the
 * delete burst and 4,790/h for the delete sustained window.
 */

/** One throttle window: at most `limit` requests in any `windowMs`, as a bucket of `capacity` tokens. */
export interface BucketSpec {
  readonly limit: number;
  /** The window including the safety margin (and divided by the time scale, if any). */
  readonly windowMs: number;
  /** The burst: how many slots may fall at the same moment. 1 ≤ capacity < limit. */
  readonly capacity: number;
}

/** The shared state of the windows of one bucket (one stored item). */
export interface BucketState {
  /** Theoretical arrival time per window (same order as the specs), epoch ms; 0 = idle. */
  readonly tat: readonly number[];
  /** No slot before this (epoch ms): a 429's Retry-After, shared by the fleet. */
  readonly blockedUntil: number;
}

/** The default burst of a window: about 2 % of its limit, at least 1, at most 8 (see the module comment). */
export function defaultCapacity(limit: number): number {
  return Math.min(8, Math.max(1, Math.floor(limit / 50)));
}

/** The emission interval T of a window, in ms: one slot per T in the long run. */
export function emissionIntervalMs(spec: BucketSpec): number {
  return spec.windowMs / (spec.limit - spec.capacity);
}

/** The tolerance τ of a window, in ms: how far ahead of its TAT a slot may fall (the burst). */
export function toleranceMs(spec: BucketSpec): number {
  return (spec.capacity - 1) * emissionIntervalMs(spec);
}

/** Checks a spec; throws a TypeError naming the bad field. */
export function checkSpec(spec: BucketSpec): BucketSpec {
  if (!(Number.isFinite(spec.limit) && spec.limit >= 2)) {
    throw new TypeError(`bucket limit must be at least 2, got ${spec.limit}`);
  }
  if (!(Number.isFinite(spec.windowMs) && spec.windowMs > 0)) {
    throw new TypeError(`bucket windowMs must be positive, got ${spec.windowMs}`);
  }
  if (!(Number.isInteger(spec.capacity) && spec.capacity >= 1 && spec.capacity < spec.limit)) {
    throw new TypeError(
      `bucket capacity must be an integer from 1 to limit - 1, got ${spec.capacity}`,
    );
  }
  return spec;
}

/** An idle bucket (no item yet, or an expired one). */
export function idleState(specs: readonly BucketSpec[]): BucketState {
  return { tat: specs.map(() => 0), blockedUntil: 0 };
}

/** What one caller gets from {@link reserve}: a slot, or the slot it would have had, past its deadline. */
export type Grant = { readonly slot: number } | { readonly refusedAt: number };

/** The result of {@link reserve}. */
export interface Reservation {
  /** One per caller, in order. */
  readonly grants: readonly Grant[];
  /** How many slots were granted. */
  readonly granted: number;
  /** The state to write (unchanged when no slot was granted). */
  readonly next: BucketState;
}

/**
 * Reserves one slot per caller, in order, for callers that accept a slot up to their `latest` (epoch ms; Infinity for
 * any). A caller whose slot would come later gets none (it is refused, and the state does not move for it), and the
 * callers after it are still served. `notBefore` adds a local block (this instance's own 429) to the shared one.
 */
export function reserve(
  specs: readonly BucketSpec[],
  state: BucketState,
  latest: readonly number[],
  now: number,
  notBefore = 0,
): Reservation {
  const tat = specs.map((_, i) => state.tat[i] ?? 0);
  const grants: Grant[] = [];
  let granted = 0;
  for (const limit of latest) {
    let slot = Math.max(now, state.blockedUntil, notBefore);
    specs.forEach((spec, i) => {
      slot = Math.max(slot, (tat[i] ?? 0) - toleranceMs(spec));
    });
    if (slot > limit) {
      grants.push({ refusedAt: slot });
      continue;
    }
    specs.forEach((spec, i) => {
      tat[i] = Math.max(slot, tat[i] ?? 0) + emissionIntervalMs(spec);
    });
    grants.push({ slot });
    granted += 1;
  }
  return { grants, granted, next: { tat, blockedUntil: state.blockedUntil } };
}

/** When an item may expire: one window after its last TAT (see the module comment), in epoch ms. */
export function idleAfter(specs: readonly BucketSpec[], state: BucketState): number {
  let at = state.blockedUntil;
  specs.forEach((spec, i) => {
    at = Math.max(at, (state.tat[i] ?? 0) + spec.windowMs);
  });
  return at;
}

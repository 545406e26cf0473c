import type { FaultOptions } from './types.ts';

/** mulberry32: a tiny seedable PRNG, so a fault pattern can be replayed exactly. */
export const seededRandom = (seed: number): (() => number) => {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
};

/** What the fault layer decided for one request. */
export type FaultDecision =
  | { kind: 'none' }
  | { kind: 'outage' }
  | { kind: 'error'; status: number }
  | { kind: 'throttle'; retryAfterSeconds: number }
  | { kind: 'hang' }
  | { kind: 'reset' };

/** Draws faults for requests; one PRNG draw per request (two when an error status must be picked). */
export class FaultInjector {
  #options: FaultOptions = {};
  #random: () => number = seededRandom(1);

  public constructor(options: FaultOptions = {}) {
    this.configure(options);
  }

  /** Replace the whole fault configuration (and reseed the PRNG). */
  public configure(options: FaultOptions): void {
    for (const name of ['errorRate', 'throttleRate', 'hangRate', 'resetRate'] as const) {
      const rate = options[name];
      if (rate !== undefined && !(rate >= 0 && rate <= 1)) {
        throw new Error(`faults.${name} must be between 0 and 1, got ${rate}`);
      }
    }
    this.#options = { ...options };
    this.#random = seededRandom(options.randomSeed ?? 1);
  }

  /** The current configuration. */
  public get options(): FaultOptions {
    return { ...this.#options };
  }

  /** Switch the outage on or off without touching the rest. */
  public setOutage(on: boolean): void {
    this.#options = { ...this.#options, outage: on };
  }

  /** Decide the fault for the next request. */
  public draw(): FaultDecision {
    const o = this.#options;
    if (o.outage) return { kind: 'outage' };
    const error = o.errorRate ?? 0;
    const throttle = o.throttleRate ?? 0;
    const hang = o.hangRate ?? 0;
    const reset = o.resetRate ?? 0;
    if (error + throttle + hang + reset === 0) return { kind: 'none' };
    const r = this.#random();
    if (r < error) {
      const statuses = o.errorStatuses?.length ? o.errorStatuses : [500, 502, 503];
      const status = statuses[Math.floor(this.#random() * statuses.length)] ?? 500;
      return { kind: 'error', status };
    }
    if (r < error + throttle)
      return { kind: 'throttle', retryAfterSeconds: o.retryAfterSeconds ?? 1 };
    if (r < error + throttle + hang) return { kind: 'hang' };
    if (r < error + throttle + hang + reset) return { kind: 'reset' };
    return { kind: 'none' };
  }
}

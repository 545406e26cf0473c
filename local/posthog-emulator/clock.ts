/**
 * The emulator's sense of time. PostHog windows (a minute of rate limit, a split delay) are measured in *emulated*
 * milliseconds, which run `timeScale` times faster than real ones, so a 60x emulator lives a minute in a second.
 */
export class ScaledClock {
  readonly #origin: number;
  readonly #timeScale: number;
  readonly #realNow: () => number;

  public constructor(timeScale: number, realNow: () => number = Date.now) {
    if (!(Number.isFinite(timeScale) && timeScale > 0)) {
      throw new Error(`timeScale must be a positive number, got ${timeScale}`);
    }
    this.#timeScale = timeScale;
    this.#realNow = realNow;
    this.#origin = realNow();
  }

  /** The scale factor: emulated ms per real ms. */
  public get timeScale(): number {
    return this.#timeScale;
  }

  /** Emulated epoch ms. */
  public now(): number {
    const real = this.#realNow();
    return this.#origin + (real - this.#origin) * this.#timeScale;
  }

  /** Real ms that correspond to `emulatedMs`. */
  public toRealMs(emulatedMs: number): number {
    return emulatedMs / this.#timeScale;
  }
}

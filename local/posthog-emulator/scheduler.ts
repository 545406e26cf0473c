import type { ScaledClock } from './clock.ts';

interface Pending {
  seq: number;
  dueReal: number;
  label: string;
  apply: () => void;
  timer: NodeJS.Timeout;
}

/**
 * Delayed effects (split tasks, ingestion, async deletions), applied in due order with ties in submission order,
 * the way a single Celery/ingestion consumer would. `flush()` applies everything now.
 */
export class EffectScheduler {
  readonly #pending: Pending[] = [];
  readonly #waiting = new Set<number>();
  #seq = 0;
  #closed = false;

  public constructor(private readonly clock: ScaledClock) {}

  /** Number of effects still waiting. */
  public get size(): number {
    return this.#pending.length;
  }

  /** Labels of the waiting effects (`split`, `ingest`, `async_delete`), for inspection. */
  public get labels(): string[] {
    return this.#pending.map((p) => p.label);
  }

  /** Queue `apply` to run after `delayMs` emulated ms (0 = next tick). */
  public schedule(label: string, delayMs: number, apply: () => void): void {
    if (this.#closed) return;
    const realDelay = Math.max(0, this.clock.toRealMs(delayMs));
    const seq = this.#seq++;
    const entry: Pending = {
      seq,
      dueReal: Date.now() + realDelay,
      label,
      apply,
      timer: setTimeout(() => this.#runThrough(seq), realDelay),
    };
    entry.timer.unref();
    // Insert in due order (ties keep submission order); scanning from the end is O(1) for the usual case of
    // effects with the same delay arriving in order.
    let i = this.#pending.length;
    while (i > 0 && (this.#pending[i - 1]?.dueReal ?? 0) > entry.dueReal) i--;
    this.#pending.splice(i, 0, entry);
    this.#waiting.add(seq);
  }

  /** Apply effects in order up to and including `seq` (whose timer fired), so order never inverts. */
  #runThrough(seq: number): void {
    if (!this.#waiting.has(seq)) return;
    while (this.#pending.length > 0) {
      const first = this.#pending[0];
      this.#runFirst();
      if (first?.seq === seq) return;
    }
  }

  #runFirst(): void {
    const entry = this.#pending.shift();
    if (!entry) return;
    this.#waiting.delete(entry.seq);
    clearTimeout(entry.timer);
    try {
      entry.apply();
    } catch (error) {
      // An effect runs from a timer: throwing would take the whole test process down with it.
      console.error(`posthog-emulator: delayed ${entry.label} effect failed`, error);
    }
  }

  /** Apply every waiting effect now, in order (effects queued by effects included). */
  public flush(): void {
    while (this.#pending.length > 0) this.#runFirst();
  }

  /** Drop everything (server closing). */
  public close(): void {
    this.#closed = true;
    for (const p of this.#pending) clearTimeout(p.timer);
    this.#pending.length = 0;
    this.#waiting.clear();
  }
}

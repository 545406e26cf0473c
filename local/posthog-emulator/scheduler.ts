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
    this.#pending.push(entry);
    this.#pending.sort((a, b) => a.dueReal - b.dueReal || a.seq - b.seq);
  }

  /** Apply effects in order up to and including `seq` (whose timer fired), so order never inverts. */
  #runThrough(seq: number): void {
    if (!this.#pending.some((p) => p.seq === seq)) return;
    while (this.#pending.length > 0) {
      const first = this.#pending[0];
      this.#runFirst();
      if (first?.seq === seq) return;
    }
  }

  #runFirst(): void {
    const entry = this.#pending.shift();
    if (!entry) return;
    clearTimeout(entry.timer);
    entry.apply();
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
  }
}

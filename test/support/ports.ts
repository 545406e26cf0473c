import type { BatchLoopDeps } from '../../lib/batch/index.ts';

// The ports' types are taken from what the batch loop is injected with, so these fakes follow the ports wherever
// they are declared.
type RelayLogger = BatchLoopDeps['logger'];
type RelayMetrics = BatchLoopDeps['metrics'];
type MetricName = Parameters<RelayMetrics['count']>[0];

/** A metrics port that records every count and flush. */
export class RecordingMetrics implements RelayMetrics {
  public readonly counts: {
    name: MetricName;
    value: number;
    dimensions: Record<string, string>;
  }[] = [];
  public flushes = 0;

  public count(name: MetricName, value: number, dimensions: Record<string, string> = {}): void {
    this.counts.push({ name, value, dimensions: { ...dimensions } });
  }

  public flush(): void {
    this.flushes += 1;
  }

  /** The sum of a counter over every dimension set. */
  public total(name: MetricName): number {
    return this.counts.filter((c) => c.name === name).reduce((n, c) => n + c.value, 0);
  }
}

/** One structured log line: level, message and the merged extra fields. */
export interface LogLine {
  readonly level: 'debug' | 'info' | 'warn' | 'error';
  readonly message: string;
  readonly extra: Record<string, unknown>;
}

/** A logger port that records every line. */
export class RecordingLogger implements RelayLogger {
  public readonly lines: LogLine[] = [];

  public debug(message: string, ...extra: Record<string, unknown>[]): void {
    this.#log('debug', message, extra);
  }
  public info(message: string, ...extra: Record<string, unknown>[]): void {
    this.#log('info', message, extra);
  }
  public warn(message: string, ...extra: Record<string, unknown>[]): void {
    this.#log('warn', message, extra);
  }
  public error(message: string, ...extra: Record<string, unknown>[]): void {
    this.#log('error', message, extra);
  }

  /** The lines with this message. */
  public withMessage(message: string): LogLine[] {
    return this.lines.filter((line) => line.message === message);
  }

  #log(level: LogLine['level'], message: string, extra: Record<string, unknown>[]): void {
    this.lines.push({ level, message, extra: Object.assign({}, ...extra) });
  }
}

/** A clock the test moves by hand (epoch ms). */
export class FakeClock {
  public constructor(public current = Date.parse('2026-11-28T10:00:05Z')) {}
  public readonly now = (): number => this.current;
  public advance(ms: number): void {
    this.current += ms;
  }
}

/** A Lambda context whose remaining time is measured on `clock`: `remainingMs` from now. */
export function lambdaContext(clock: FakeClock, remainingMs = 30_000, awsRequestId = 'req-1') {
  const deadline = clock.now() + remainingMs;
  return { getRemainingTimeInMillis: () => deadline - clock.now(), awsRequestId };
}

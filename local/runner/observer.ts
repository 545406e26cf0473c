/** The final state of one command, as the handler's audit log reported it. */
export interface CommandOutcome {
  readonly correlationId: string;
  readonly messageId: string;
  readonly commandType: string | null;
  readonly outcome: 'applied' | 'retry' | 'rejected';
  readonly code?: string;
  readonly reason?: string;
  readonly receiveCount: number;
  readonly lane: string;
}

/** Counters read from the functions' EMF output (what CloudWatch would chart). */
export interface MetricTotals {
  /** metric name → total. */
  readonly totals: Map<string, number>;
  /** `PostHogCalls` by `endpoint status`. */
  readonly calls: Map<string, number>;
  /** `MessagesRejected` by `reason`. */
  readonly rejectedByReason: Map<string, number>;
}

/**
 * Reads what the function instances write to stdout, as CloudWatch Logs would receive it: Powertools JSON
 * log lines (the per-message `message outcome` audit lines, the per-batch `batch done` summaries) and EMF
 * metric documents (lines with `_aws`). The local report is built from these, not from private state.
 */
export class FunctionOutputObserver {
  /** By SQS message id: the last outcome seen (a message retried then applied ends `applied`). */
  public readonly outcomes = new Map<string, CommandOutcome>();
  /** SQS message ids that were answered `retry` at least once. */
  public readonly everRetried = new Set<string>();
  public readonly metrics: MetricTotals = {
    totals: new Map(),
    calls: new Map(),
    rejectedByReason: new Map(),
  };
  public plannedCalls = 0;
  public lowerBound = 0;
  public naiveCalls = 0;
  public batches = 0;
  /** Lines that were not JSON (e.g. a crash trace). */
  public readonly otherLines: string[] = [];
  /** Error-level log lines. */
  public readonly errors: Record<string, unknown>[] = [];

  /** Feeds one stdout line of a function instance. */
  public line(lane: string, text: string): void {
    let entry: Record<string, unknown>;
    try {
      entry = JSON.parse(text) as Record<string, unknown>;
    } catch {
      this.otherLines.push(text);
      return;
    }
    if (typeof entry !== 'object' || entry === null) return;
    if ('_aws' in entry) {
      this.#metric(entry);
      return;
    }
    if (entry['level'] === 'ERROR' || entry['level'] === 'CRITICAL') this.errors.push(entry);
    if (entry['message'] === 'message outcome') {
      const messageId = String(entry['messageId']);
      if (entry['outcome'] === 'retry') this.everRetried.add(messageId);
      this.outcomes.set(messageId, {
        correlationId: String(entry['correlation_id'] ?? messageId),
        messageId,
        commandType: typeof entry['commandType'] === 'string' ? entry['commandType'] : null,
        outcome: entry['outcome'] as CommandOutcome['outcome'],
        ...(typeof entry['code'] === 'string' ? { code: entry['code'] } : {}),
        ...(typeof entry['reason'] === 'string' ? { reason: entry['reason'] } : {}),
        receiveCount: Number(entry['receiveCount'] ?? 1),
        lane,
      });
    } else if (entry['message'] === 'batch done') {
      this.batches += 1;
      this.plannedCalls += Number(entry['plannedCalls'] ?? 0);
      this.lowerBound += Number(entry['lowerBound'] ?? 0);
      this.naiveCalls += Number(entry['naiveCalls'] ?? 0);
    }
  }

  #metric(entry: Record<string, unknown>): void {
    const aws = entry['_aws'] as { CloudWatchMetrics?: { Metrics?: { Name: string }[] }[] };
    for (const directive of aws.CloudWatchMetrics ?? []) {
      for (const { Name } of directive.Metrics ?? []) {
        const value = Number(entry[Name] ?? 0);
        add(this.metrics.totals, Name, value);
        if (Name === 'PostHogCalls') {
          add(this.metrics.calls, `${String(entry['endpoint'])} ${String(entry['status'])}`, value);
        } else if (Name === 'MessagesRejected') {
          add(this.metrics.rejectedByReason, String(entry['reason']), value);
        }
      }
    }
  }
}

function add(map: Map<string, number>, key: string, value: number): void {
  map.set(key, (map.get(key) ?? 0) + value);
}

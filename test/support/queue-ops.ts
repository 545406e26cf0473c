import type { QueueOps } from '../../lib/batch/index.ts';

type VisibilityChange = Parameters<QueueOps['changeVisibility']>[1][number];
type DeadLetter = Parameters<QueueOps['sendToDeadLetterQueue']>[1][number];

/**
 * An in-memory {@link QueueOps}: records every visibility change and dead letter by queue URL, and fails the
 * entries a test names (as SQS's batch APIs do: per entry, reported in `failedIds`, never thrown).
 */
export class InMemoryQueueOps implements QueueOps {
  /** Every call, in order. */
  public readonly calls: (
    | { op: 'changeVisibility'; queueUrl: string; changes: VisibilityChange[] }
    | { op: 'sendToDeadLetterQueue'; dlqUrl: string; messages: DeadLetter[] }
  )[] = [];
  /** Dead letters accepted, by DLQ URL. */
  public readonly deadLetters = new Map<string, DeadLetter[]>();
  /** The visibility timeout each receipt handle was last given, by queue URL. */
  public readonly visibility = new Map<string, Map<string, number>>();
  /** Message ids whose DLQ send fails. */
  public readonly failDeadLetterIds = new Set<string>();
  /** Message ids whose visibility change fails. */
  public readonly failVisibilityIds = new Set<string>();

  public async changeVisibility(
    queueUrl: string,
    changes: readonly VisibilityChange[],
  ): Promise<{ failedIds: string[] }> {
    this.calls.push({ op: 'changeVisibility', queueUrl, changes: [...changes] });
    const queue = this.visibility.get(queueUrl) ?? new Map<string, number>();
    this.visibility.set(queueUrl, queue);
    const failedIds: string[] = [];
    for (const change of changes) {
      if (this.failVisibilityIds.has(change.id)) failedIds.push(change.id);
      else queue.set(change.receiptHandle, change.visibilityTimeout);
    }
    return { failedIds };
  }

  public async sendToDeadLetterQueue(
    dlqUrl: string,
    messages: readonly DeadLetter[],
  ): Promise<{ failedIds: string[] }> {
    this.calls.push({ op: 'sendToDeadLetterQueue', dlqUrl, messages: [...messages] });
    const queue = this.deadLetters.get(dlqUrl) ?? [];
    this.deadLetters.set(dlqUrl, queue);
    const failedIds: string[] = [];
    for (const message of messages) {
      if (this.failDeadLetterIds.has(message.id)) failedIds.push(message.id);
      else queue.push(message);
    }
    return { failedIds };
  }

  /** The dead letters of one DLQ with their attributes as plain strings, for readable assertions. */
  public lettersIn(
    dlqUrl: string,
  ): { id: string; body: string; attributes: Record<string, string> }[] {
    return (this.deadLetters.get(dlqUrl) ?? []).map((letter) => ({
      id: letter.id,
      body: letter.body,
      attributes: Object.fromEntries(
        Object.entries(letter.attributes).map(([name, value]) => [
          name,
          value.StringValue ?? `<${value.DataType}>`,
        ]),
      ),
    }));
  }
}

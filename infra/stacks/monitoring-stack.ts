/**
 * The monitoring stack: alarm topic, alarms and dashboard for a {@link PersonsRelayStack}, wired by physical
 * names so the two stacks share no CloudFormation exports.
 */
import { Duration, Stack, type StackProps } from 'aws-cdk-lib';
import type { Construct } from 'constructs';
import type { InfraConfig } from '../config.ts';
import { type MonitoredLane, RelayMonitoring } from '../constructs/relay-monitoring.ts';

/** Properties of a {@link PersonsRelayMonitoringStack}. */
export interface PersonsRelayMonitoringStackProps extends StackProps {
  /** The deployment configuration (alarm email and thresholds). */
  readonly config: InfraConfig;
  /** The lanes to watch (from `PersonsRelayStack.laneNames()`). */
  readonly lanes: readonly MonitoredLane[];
  /** More DLQs to alarm on (the EventBridge routing DLQ). @default [] */
  readonly extraDeadLetterQueueNames?: readonly string[];
}

/** Alarms and dashboard. */
export class PersonsRelayMonitoringStack extends Stack {
  /** The monitoring construct (topic, alarms, dashboard). */
  public readonly monitoring: RelayMonitoring;

  public constructor(scope: Construct, id: string, props: PersonsRelayMonitoringStackProps) {
    super(scope, id, props);
    this.monitoring = new RelayMonitoring(this, 'Monitoring', {
      lanes: props.lanes,
      extraDeadLetterQueueNames: props.extraDeadLetterQueueNames ?? [],
      oldestMessageAgeThreshold: Duration.seconds(props.config.oldestMessageAgeAlarmSeconds),
      deadLetterAgeThreshold: Duration.seconds(props.config.deadLetterAgeAlarmSeconds),
      ...(props.config.alarmEmail === undefined ? {} : { alarmEmail: props.config.alarmEmail }),
    });
  }
}

/**
 * Composes the persons-relay stacks onto an app: the core stack, the monitoring stack, and the cdk-nag
 * AwsSolutions checks plus persons-relay's own pack (v3: a policy-validation plugin; unacknowledged findings fail synth).
 */
import type { App, Environment } from 'aws-cdk-lib';
import { Validations } from 'aws-cdk-lib';
import { AwsSolutionsChecks } from 'cdk-nag';
import { type InfraConfig, infraConfigFromContext } from './config.ts';
import { PersonsRelayChecks } from './nag.ts';
import { PersonsRelayMonitoringStack } from './stacks/monitoring-stack.ts';
import { PersonsRelayStack } from './stacks/persons-relay-stack.ts';

/** The stacks of one deployment. */
export interface PersonsRelayStacks {
  readonly core: PersonsRelayStack;
  readonly monitoring: PersonsRelayMonitoringStack;
}

/** Options of {@link addPersonsRelay}. */
export interface AddPersonsRelayOptions {
  /** @default - read from the app's context (infra/config.ts) */
  readonly config?: InfraConfig;
  /** Register cdk-nag's AwsSolutionsChecks (and {@link PersonsRelayChecks}) on the app. @default true */
  readonly nag?: boolean;
}

/**
 * Adds the core and monitoring stacks to `app`. Without `account`/`region` in the config the stacks are
 * environment-agnostic: synth needs no credentials and makes no lookups.
 */
export function addPersonsRelay(
  app: App,
  options: AddPersonsRelayOptions = {},
): PersonsRelayStacks {
  const config = options.config ?? infraConfigFromContext(app.node);
  const env: Environment = {
    ...(config.account === undefined ? {} : { account: config.account }),
    ...(config.region === undefined ? {} : { region: config.region }),
  };
  const core = new PersonsRelayStack(app, config.stackPrefix, {
    config,
    env,
    description:
      'persons-relay: SQS lanes and Lambda functions applying person commands to PostHog',
  });
  const monitoring = new PersonsRelayMonitoringStack(app, `${config.stackPrefix}-Monitoring`, {
    config,
    env,
    lanes: core.laneNames(),
    extraDeadLetterQueueNames: [
      ...(core.routingDeadLetterQueueName === undefined ? [] : [core.routingDeadLetterQueueName]),
      ...(core.salesforceCdc === undefined ? [] : [core.salesforceCdc.deadLetterQueueName]),
    ],
    description: 'persons-relay: alarms and dashboard',
  });
  // Names, not references, connect the stacks; deploy the core first so the alarms find their metrics' owners.
  monitoring.addStackDependency(core);
  if (options.nag ?? true) {
    Validations.of(app).addPlugins(new AwsSolutionsChecks(app), new PersonsRelayChecks(app));
  }
  return { core, monitoring };
}

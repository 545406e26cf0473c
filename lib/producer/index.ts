/**
 * The typed persons-relay producer (`persons-relay/producer`): validate commands against the contract, route them to
 * their lane and send them to SQS.
 */
export type { CommandInput as ProducerCommand } from '../messages/index.ts';
export {
  createProducer,
  type FailedCommand,
  type Producer,
  type ProducerOptions,
  type SendReport,
  type SentCommand,
  type SqsSender,
} from './producer.ts';

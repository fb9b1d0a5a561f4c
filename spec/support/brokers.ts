import { sharedRabbit } from './rabbitmq';

/**
 * The two brokers a daemon can run on. Integration specs whose behaviour is
 * the same on both run once for each.
 */
export const BROKERS = [
  { name: 'in-process bus', amqpUrl: async (): Promise<string | undefined> => undefined },
  { name: 'RabbitMQ', amqpUrl: async (): Promise<string | undefined> => (await sharedRabbit()).url },
] as const;

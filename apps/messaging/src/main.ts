import 'reflect-metadata';

import { NestFactory } from '@nestjs/core';
import { Transport, type MicroserviceOptions } from '@nestjs/microservices';

import { MessagingModule } from './messaging.module.js';

/** The messaging service: a NATS microservice in the queue group 'messaging', so instances share the load. */
async function bootstrap(): Promise<void> {
  const natsUrl = process.env.NATS_URL ?? 'nats://127.0.0.1:4222';
  const app = await NestFactory.createMicroservice<MicroserviceOptions>(MessagingModule, {
    transport: Transport.NATS,
    options: { servers: [natsUrl], queue: 'messaging' },
  });
  app.enableShutdownHooks();
  await app.listen();
  console.log(JSON.stringify({ level: 'info', service: 'messaging', message: `listening on ${natsUrl}` }));
}

bootstrap().catch((error: unknown) => {
  console.error(JSON.stringify({ level: 'fatal', service: 'messaging', message: (error as Error).message }));
  process.exit(1);
});

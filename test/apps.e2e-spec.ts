import 'reflect-metadata';

import { NestFactory } from '@nestjs/core';
import { ClientProxyFactory, Transport, type MicroserviceOptions } from '@nestjs/microservices';
import { FastifyAdapter, type NestFastifyApplication } from '@nestjs/platform-fastify';
import { firstValueFrom, timeout } from 'rxjs';

import { DirectoryModule } from '../apps/directory/src/directory.module.js';
import { GatewayModule } from '../apps/gateway/src/gateway.module.js';
import { MessagingModule } from '../apps/messaging/src/messaging.module.js';

const natsUrl = process.env.NATS_URL ?? 'nats://127.0.0.1:4222';

describe('service bootstraps', () => {
  it.each([
    ['directory', DirectoryModule],
    ['messaging', MessagingModule],
  ] as const)('%s answers on NATS in its queue group', async (service, module) => {
    const app = await NestFactory.createMicroservice<MicroserviceOptions>(module, {
      transport: Transport.NATS,
      options: { servers: [natsUrl], queue: service },
      logger: false,
    });
    await app.listen();
    const client = ClientProxyFactory.create({ transport: Transport.NATS, options: { servers: [natsUrl] } });
    try {
      const reply = await firstValueFrom(client.send(`focal.${service}.health`, {}).pipe(timeout(5_000)));
      expect(reply).toEqual({ service, status: 'ok' });
    } finally {
      await client.close();
      await app.close();
    }
  });

  it('the gateway answers /health/live over HTTP', async () => {
    const app = await NestFactory.create<NestFastifyApplication>(GatewayModule, new FastifyAdapter(), {
      logger: false,
    });
    await app.listen(0, '127.0.0.1');
    try {
      const response = await fetch(`${await app.getUrl()}/health/live`);
      expect(response.status).toBe(200);
      expect(await response.json()).toEqual({ status: 'ok' });
    } finally {
      await app.close();
    }
  });
});

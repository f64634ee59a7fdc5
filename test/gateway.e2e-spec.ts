import 'reflect-metadata';

import { NestFactory } from '@nestjs/core';
import { FastifyAdapter, type NestFastifyApplication } from '@nestjs/platform-fastify';

import { GatewayModule } from '../apps/gateway/src/gateway.module.js';

describe('gateway bootstrap', () => {
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

import 'reflect-metadata';

import { NestFactory } from '@nestjs/core';
import { FastifyAdapter, type NestFastifyApplication } from '@nestjs/platform-fastify';

import { GatewayModule } from './gateway.module.js';

/** The HTTP gateway; its API arrives with the gateway issue (see the README). */
async function bootstrap(): Promise<void> {
  const port = Number(process.env.PORT ?? 3000);
  if (!Number.isInteger(port) || port < 0 || port > 65_535) {
    throw new Error(`PORT=${process.env.PORT} is not a port number: use 0 to 65535`);
  }
  const app = await NestFactory.create<NestFastifyApplication>(GatewayModule, new FastifyAdapter(), {
    logger: ['error', 'warn'],
  });
  app.enableShutdownHooks();
  await app.listen(port, '127.0.0.1');
  console.log(
    JSON.stringify({ level: 'info', service: 'gateway', message: `listening on ${await app.getUrl()}` }),
  );
}

bootstrap().catch((error: unknown) => {
  console.error(JSON.stringify({ level: 'fatal', service: 'gateway', message: (error as Error).message }));
  process.exit(1);
});

import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';

import { parseCloudEvent } from './cloud-events.js';

/** A webhook receiver on loopback that records the event types (bare, from the CloudEvent) and bodies it was sent. */
export async function receiver() {
  const received: { type: string; body: string }[] = [];
  const server: Server = createServer((request, response) => {
    let body = '';
    request.on('data', (chunk: Buffer) => (body += chunk.toString()));
    request.on('end', () => {
      received.push({ type: parseCloudEvent(body, request.headers).type.replace(/^eu\.focal\./, ''), body });
      response.writeHead(204).end();
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return {
    url: `http://127.0.0.1:${(server.address() as AddressInfo).port}/hook`,
    received,
    close: () => new Promise<void>((resolve) => server.close(() => resolve())),
  };
}

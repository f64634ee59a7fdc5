import { Webhook } from 'standardwebhooks';

import { newWebhookSecret, webhookSignature } from './webhook-signature.js';

/** The signatures as a Standard Webhooks receiver checks them: with the reference library. */
describe('webhook signatures', () => {
  const body = JSON.stringify({ specversion: '1.0', id: '42', data: { note: 'é' } });
  const id = '0b3c7d0e-0000-4000-8000-000000000000:42';
  const timestamp = Math.floor(Date.now() / 1000);
  const headers = (signature: string) => ({
    'webhook-id': id,
    'webhook-timestamp': String(timestamp),
    'webhook-signature': signature,
  });
  const verifies = (secret: string, signature: string, payload = body) => {
    try {
      new Webhook(secret).verify(payload, headers(signature));
      return true;
    } catch {
      return false;
    }
  };

  it('makes whsec_ secrets of 32 random bytes', () => {
    const secret = newWebhookSecret();
    expect(secret).toMatch(/^whsec_[A-Za-z0-9+/]{43}=$/);
    expect(Buffer.from(secret.slice(6), 'base64')).toHaveLength(32);
    expect(newWebhookSecret()).not.toBe(secret);
  });

  it('signs so that the library verifies, and refuses another secret or another body', () => {
    const secret = newWebhookSecret();
    const signature = webhookSignature([secret], id, timestamp, body);
    expect(signature).toBe(new Webhook(secret).sign(id, new Date(timestamp * 1000), body));
    expect(verifies(secret, signature)).toBe(true);
    expect(verifies(newWebhookSecret(), signature)).toBe(false);
    expect(verifies(secret, signature, body.replace('42', '43'))).toBe(false);
  });

  it('signs with each secret during a rotation, so a receiver holding either verifies', () => {
    const [current, previous] = [newWebhookSecret(), newWebhookSecret()];
    const signature = webhookSignature([current, previous], id, timestamp, body);
    expect(signature.split(' ')).toHaveLength(2);
    expect(verifies(current, signature)).toBe(true);
    expect(verifies(previous, signature)).toBe(true);
    expect(verifies(newWebhookSecret(), signature)).toBe(false);
  });
});

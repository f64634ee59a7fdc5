import { ChainVerifier, canonicalContent, chainHash, type StoredEventForVerification } from './integrity.js';
import type { Position } from './envelope.js';

const content = {
  eventId: '6f1c2b9e-0d1e-4b4a-9c55-2f8f0e6f4a10',
  type: 'StateAdmitted',
  schemaVersion: 1,
  streamId: 'state-FR',
  streamVersion: 1,
  recordedAt: '2026-11-22T10:00:00.000Z',
  visibility: '{"level": "open"}',
  data: '{"code": "FR"}',
  metadata: '{}',
};

function chain(length: number): StoredEventForVerification[] {
  let previousHash = '';
  return Array.from({ length }, (_, i) => {
    const event = { ...content, streamVersion: i + 1, data: `{"step": ${i}}` };
    const hash = chainHash(previousHash, event);
    const stored = { ...event, position: String(i + 1) as Position, hash, previousHash };
    previousHash = hash;
    return stored;
  });
}

describe('hash chain', () => {
  it('hashes the fields joined by newlines after the previous hash', () => {
    expect(canonicalContent(content)).toBe(
      '6f1c2b9e-0d1e-4b4a-9c55-2f8f0e6f4a10\nStateAdmitted\n1\nstate-FR\n1\n2026-11-22T10:00:00.000Z\n' +
        '{"level": "open"}\n{"code": "FR"}\n{}',
    );
    expect(chainHash('', content)).toMatch(/^[0-9a-f]{64}$/);
    expect(chainHash('00'.repeat(32), content)).not.toBe(chainHash('', content));
  });

  it('accepts an intact chain and names the first altered, missing or reordered event', () => {
    const verify = (events: StoredEventForVerification[]) => {
      const verifier = new ChainVerifier();
      for (const event of events) {
        const failure = verifier.check(event);
        if (failure) return failure;
      }
      return undefined;
    };
    const events = chain(4);
    expect(verify(events)).toBeUndefined();
    expect(verify([events[0]!, { ...events[1]!, data: '{"step": 99}' }, events[2]!])).toMatchObject({
      streamVersion: 2,
      problem: expect.stringMatching(/altered/),
    });
    expect(verify([events[0]!, events[2]!])).toMatchObject({
      position: '3',
      problem: expect.stringMatching(/1 event\(s\) are missing/),
    });
    expect(verify([events[0]!, events[1]!, events[1]!])).toMatchObject({
      problem: expect.stringMatching(/out of order/),
    });
  });
});

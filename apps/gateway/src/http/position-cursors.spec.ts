import { randomBytes } from 'node:crypto';

import type { Actor } from '@focal/domain';
import type { Position } from '@focal/events';

import { NotAPositionError, PositionCursors } from './position-cursors.js';

const secretariat: Actor = { principal: 's', role: 'secretariat' };
const auditor: Actor = { principal: 'a', role: 'auditor' };
const member: Actor = { principal: 'm', role: 'member-state', state: 'FR' };
const guest: Actor = { principal: 'g', role: 'guest-state', state: 'GM' };
const organisation: Actor = { principal: 'o', role: 'liaison-organisation', organisation: 'icc' };

/** As the SQL store reads a position: digits only. */
const parse = (text: string): Position => {
  if (!/^\d{1,20}$/.test(text)) throw new Error(`not a position: ${text}`);
  return text as Position;
};

describe('PositionCursors', () => {
  const cursors = new PositionCursors(randomBytes(32));

  it('shows the position itself to who may see every event, a cursor to everyone else', () => {
    for (const viewer of [secretariat, auditor]) expect(cursors.shown('75497472', viewer)).toBe('75497472');
    for (const viewer of [member, guest, organisation]) {
      const shown = cursors.shown('75497472', viewer);
      expect(shown).toMatch(/^[A-Za-z0-9_-]{40,}$/);
      expect(shown).not.toContain('75497472');
      // One position, one cursor: the same to every viewer, at every asking (a webhook's retry keeps its id).
      expect(shown).toBe(cursors.shown('75497472', organisation));
    }
    expect(cursors.shown('0', guest)).toBe('0');
  });

  it('gives neither order nor distance: neighbouring positions have unrelated cursors of one length', () => {
    const shown = ['75497472', '75497473', '75563008', '9999999999999'].map((p) => cursors.cursorOf(p));
    expect(new Set(shown.map((cursor) => cursor.length)).size).toBe(1);
    expect(new Set(shown.map((cursor) => cursor.slice(0, 8))).size).toBe(4);
  });

  it('reads back its cursors for everyone, and a bare position only from who may see every event', () => {
    const cursor = cursors.cursorOf('75497472');
    for (const viewer of [secretariat, auditor, member, guest, organisation])
      expect(cursors.read(cursor, viewer, parse)).toBe('75497472');
    expect(cursors.read('75563008', secretariat, parse)).toBe('75563008');
    // A position of one's own choosing would let one bisect the log for where the events one sees stand.
    for (const viewer of [member, guest, organisation])
      expect(() => cursors.read('75563008', viewer, parse)).toThrow(NotAPositionError);
  });

  it("refuses a cursor altered, made up, or sealed by another deployment's secret", () => {
    const cursor = cursors.cursorOf('75497472');
    const flipped = Buffer.from(cursor, 'base64url');
    flipped[flipped.length - 1]! ^= 1;
    const other = new PositionCursors(randomBytes(32)).cursorOf('75497472');
    // The same bytes spelt otherwise: the unused low bits of the last character set (a tester's `Q` → `R`).
    const alphabet = 'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_';
    const respelt = cursor.slice(0, -1) + alphabet[alphabet.indexOf(cursor.at(-1)!) ^ 1];
    expect(Buffer.from(respelt, 'base64url')).toEqual(Buffer.from(cursor, 'base64url'));
    for (const text of [
      flipped.toString('base64url'),
      respelt,
      'A'.repeat(cursor.length),
      other,
      '',
      'x'.repeat(1000),
    ])
      expect(() => cursors.read(text, guest, parse)).toThrow(NotAPositionError);
  });
});

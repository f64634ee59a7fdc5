import { createHash } from 'node:crypto';

/**
 * Merkle trees as RFC 6962 (Certificate Transparency) defines them: leaves and inner nodes hashed with
 * distinct prefixes, so a leaf can never pass for a node; an unbalanced tree splits at the largest power of
 * two below its size.
 */
const LEAF = Buffer.from([0]);
const NODE = Buffer.from([1]);

/** One event's leaf: its global position and its stored hash, so that moving an event changes the root. */
export function leafHash(position: string, eventHash: string): Buffer {
  return createHash('sha256').update(LEAF).update(`${position}\n${eventHash}`, 'utf8').digest();
}

/**
 * The root over leaves in order. Built bottom-up, carrying a level's odd last node up unchanged: the same
 * root as RFC 6962's recursive definition, in linear time.
 */
export function merkleRoot(leaves: readonly Buffer[]): Buffer {
  if (leaves.length === 0) return createHash('sha256').digest();
  let level = leaves;
  while (level.length > 1) {
    const next: Buffer[] = [];
    for (let i = 0; i + 1 < level.length; i += 2) {
      next.push(
        createHash('sha256')
          .update(NODE)
          .update(level[i]!)
          .update(level[i + 1]!)
          .digest(),
      );
    }
    if (level.length % 2 === 1) next.push(level[level.length - 1]!);
    level = next;
  }
  return level[0]!;
}

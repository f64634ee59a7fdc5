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

const nodeHash = (left: Buffer, right: Buffer) =>
  createHash('sha256').update(NODE).update(left).update(right).digest();

/**
 * The root of a tree that grows a leaf at a time. It keeps the roots of the perfect subtrees the leaves so
 * far make (one per bit of their count, largest first), so that adding a leaf costs one hash on average and
 * the root a hash per subtree: a sealer following the log hashes each event as it arrives instead of ten
 * thousand at once on the loop that answers requests. RFC 6962's split at the largest power of two is exactly
 * those subtrees, joined from the right.
 */
export class MerkleAccumulator {
  private readonly peaks: { height: number; hash: Buffer }[] = [];
  private leaves = 0;

  add(leaf: Buffer): void {
    let node = { height: 0, hash: leaf };
    for (let top = this.peaks.at(-1); top?.height === node.height; top = this.peaks.at(-1)) {
      this.peaks.pop();
      node = { height: node.height + 1, hash: nodeHash(top.hash, node.hash) };
    }
    this.peaks.push(node);
    this.leaves++;
  }

  get size(): number {
    return this.leaves;
  }

  root(): Buffer {
    if (this.peaks.length === 0) return createHash('sha256').digest();
    let root = this.peaks.at(-1)!.hash;
    for (let i = this.peaks.length - 2; i >= 0; i--) root = nodeHash(this.peaks[i]!.hash, root);
    return root;
  }
}

/** The root over leaves in order. */
export function merkleRoot(leaves: readonly Buffer[]): Buffer {
  const tree = new MerkleAccumulator();
  for (const leaf of leaves) tree.add(leaf);
  return tree.root();
}

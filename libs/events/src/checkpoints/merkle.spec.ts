import { createHash } from 'node:crypto';

import { leafHash, MerkleAccumulator, merkleRoot } from './merkle.js';

/** RFC 6962 §2.1, written as the RFC states it: the reference the linear version must match. */
function referenceRoot(leaves: readonly Buffer[]): Buffer {
  if (leaves.length === 0) return createHash('sha256').digest();
  if (leaves.length === 1) return leaves[0]!;
  let k = 1;
  while (k * 2 < leaves.length) k *= 2;
  return createHash('sha256')
    .update(Buffer.from([1]))
    .update(referenceRoot(leaves.slice(0, k)))
    .update(referenceRoot(leaves.slice(k)))
    .digest();
}

const leaves = (n: number) => Array.from({ length: n }, (_, i) => leafHash(String(i + 1), 'ab'.repeat(32)));

describe('merkleRoot', () => {
  it('equals the RFC 6962 definition for every size up to 70', () => {
    for (let n = 0; n <= 70; n++)
      expect(merkleRoot(leaves(n)).toString('hex')).toBe(referenceRoot(leaves(n)).toString('hex'));
  });

  it('changes when a leaf changes, moves or goes missing', () => {
    const base = leaves(10);
    const root = merkleRoot(base).toString('hex');
    const swapped = [...base];
    [swapped[3], swapped[4]] = [swapped[4]!, swapped[3]!];
    expect(merkleRoot(swapped).toString('hex')).not.toBe(root);
    expect(merkleRoot(base.slice(0, 9)).toString('hex')).not.toBe(root);
    expect(
      merkleRoot([...base.slice(0, 5), leafHash('6', 'cd'.repeat(32)), ...base.slice(6)]).toString('hex'),
    ).not.toBe(root);
  });

  it('gives, while leaves are added one at a time, the root of the leaves so far at every size', () => {
    const all = leaves(70);
    const tree = new MerkleAccumulator();
    expect(tree.root().toString('hex')).toBe(referenceRoot([]).toString('hex'));
    all.forEach((leaf, i) => {
      tree.add(leaf);
      expect(tree.size).toBe(i + 1);
      expect(tree.root().toString('hex')).toBe(referenceRoot(all.slice(0, i + 1)).toString('hex'));
    });
  });

  it('binds a leaf to its position', () => {
    expect(leafHash('1', 'ab').equals(leafHash('2', 'ab'))).toBe(false);
  });
});

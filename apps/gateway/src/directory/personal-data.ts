import type { PersonalData } from '@focal/domain';
import { openWith, sealWith } from '@focal/events';

/**
 * A contact point's personal data in a read model: sealed with the contact point's own data key, never in the
 * clear. Erasing destroys that key, so from that instant every read of the row finds it erased, before the
 * read model has taken the erasure in and whatever copies of the table exist.
 */
const context = (id: string) => `contact-point-${id}/read-model`;

export function sealPersonal(
  key: Buffer | undefined,
  id: string,
  personal: Partial<PersonalData> | null,
): string | null {
  return key && personal ? sealWith(key, context(id), personal) : null;
}

/** The personal data, or null when it is erased (no key, or nothing sealed). */
export function openPersonal(
  key: Buffer | undefined,
  id: string,
  sealed: string | null,
): Partial<PersonalData> | null {
  return key && sealed ? (openWith(key, context(id), sealed) as Partial<PersonalData>) : null;
}

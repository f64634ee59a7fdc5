import { z } from 'zod';

/** What every write answers: the entity, its new version (also the ETag) and the position of its event. */
export const writeAnswer = z
  .object({
    id: z.string(),
    version: z.number().int(),
    position: z
      .string()
      .nullable()
      .meta({
        description:
          "send it back as Focal-Read-After to read your write: the position of the write's event, or, unless " +
          'you may see every event (secretariat, auditor), its cursor (opaque: neither ordered nor counted)',
      }),
  })
  .meta({ id: 'WriteResult' });

export const listOf = (item: z.ZodType) => z.object({ items: z.array(item) });

/** RFC 9457 problem details, as every error of the API is answered. */
export const problemAnswer = z
  .object({
    type: z.string().meta({ example: 'urn:focal:problem:contact-point/other-state' }),
    title: z.string(),
    status: z.number().int(),
    detail: z.string().meta({ description: 'what went wrong, and what to do' }),
    instance: z.string().optional(),
    reason: z.string().meta({ description: 'a stable reason, the end of `type`' }),
    errors: z.record(z.string(), z.string()).optional().meta({ description: 'for 400: each field at fault' }),
  })
  .meta({ id: 'Problem' });

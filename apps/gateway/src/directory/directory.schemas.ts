import {
  countryCode,
  isoDate,
  languageCode,
  organisationFields,
  personalFields,
  postFields,
  reason,
  stateFields,
  text,
  uuid,
} from '@focal/contracts';
import { CONTACT_POINT_ROLES, STATE_STATUSES } from '@focal/domain';
import { z } from 'zod';

import { withExamples } from '../http/operation.js';

import { MAX_SEARCH_WORDS, searchWordCount } from './contact-point-search.js';

/*
 * The directory's requests and answers at the edge, built of the contracts' fields (the same as the NATS
 * commands): what validates a request is what the OpenAPI document shows.
 */

export const putStateBody = withExamples(
  z.strictObject({
    name: stateFields.name.optional().meta({ description: 'required to admit a state', example: 'France' }),
    status: stateFields.status,
    effectiveFrom: stateFields.effectiveFrom.meta({ example: '2002-06-13' }),
  }),
  { name: 'France', status: 'member', effectiveFrom: '2002-06-13' },
  { status: 'former', effectiveFrom: '2020-01-31' },
);

const registerContactPointFields = z.strictObject({
  state: text(10).optional().meta({ description: 'the state, or else `organisation`', example: 'FR' }),
  organisation: uuid.optional().meta({ description: 'the liaison organisation, or else `state`' }),
  fullName: personalFields.fullName.meta({ example: 'Claire Martin' }),
  email: personalFields.email.meta({ example: 'claire.martin@justice.example' }),
  phone: personalFields.phone.optional().meta({ description: 'E.164', example: '+33199000000' }),
  notes: personalFields.notes.optional(),
  role: postFields.role,
  authority: postFields.authority.meta({ example: 'Parquet national antiterroriste' }),
  languages: postFields.languages.meta({ description: 'ISO 639-1 codes', example: ['fr', 'en'] }),
  expertise: postFields.expertise.default([]),
  primary: z.boolean().default(false),
});
export const registerContactPointBody = withExamples(registerContactPointFields, {
  state: 'FR',
  fullName: 'Claire Martin',
  email: 'claire.martin@justice.example',
  role: 'prosecutor',
  authority: 'Parquet national antiterroriste',
  languages: ['fr', 'en'],
  primary: true,
});

export const changeContactPointBody = z
  .strictObject({ ...postFields, ...personalFields })
  .partial()
  .meta({
    description: 'the fields to change; those left out stay as they are',
    examples: [
      { languages: ['fr', 'en', 'es'] },
      { authority: 'Office central de lutte contre les crimes contre l’humanité' },
    ],
  });

export const reasonBody = withExamples(
  z.strictObject({ reason: reason.meta({ example: 'moved to another post' }) }),
  {
    reason: 'moved to another post',
  },
);

const withoutNulOrLoneSurrogates = /^(?:[^\0\uD800-\uDFFF]|[\uD800-\uDBFF][\uDC00-\uDFFF])*$/;

/** A whole number from a query string, each problem said in the caller's words (not zod's NaN or Infinity). */
const wholeNumber = (least: number, most: number) => {
  const range = `must be a whole number from ${least} to ${most}`;
  return z.coerce.number({ error: range }).int(range).min(least, range).max(most, range);
};

export const searchContactPointsQuery = z.strictObject({
  state: countryCode.optional(),
  role: z.enum(CONTACT_POINT_ROLES).optional(),
  language: languageCode.optional(),
  status: z.enum(['active', 'retired']).optional(),
  q: text(200)
    .regex(withoutNulOrLoneSurrogates, 'must be text without NUL characters or lone surrogates')
    .refine((q) => searchWordCount(q) <= MAX_SEARCH_WORDS, `may hold at most ${MAX_SEARCH_WORDS} words`)
    .optional()
    .meta({
      description:
        'words, each found (as a prefix, accents ignored) in the name, authority, role or expertise, and in ' +
        `the e-mail and phone for those who may see them; at most ${MAX_SEARCH_WORDS} words`,
      example: 'martin clai',
    }),
  limit: wholeNumber(1, 200).default(50),
  // Past every row there could be, and within what the store's OFFSET takes (a bigint).
  offset: wholeNumber(0, 1_000_000_000).default(0),
});

export const registerOrganisationBody = withExamples(z.strictObject(organisationFields), {
  name: 'International Criminal Court',
  acronym: 'ICC',
  kind: 'international-court',
});
export const changeOrganisationBody = withExamples(z.strictObject(organisationFields).partial(), {
  acronym: 'ICC-CPI',
});

// Answers.

const statusEntry = z.object({ status: z.enum(STATE_STATUSES), from: isoDate });

export const stateAnswer = z
  .object({
    code: z.string(),
    name: z.string(),
    status: z.enum(STATE_STATUSES).nullable().meta({ description: 'in force today; null before admission' }),
    since: isoDate.nullable(),
    pending: z.array(statusEntry).meta({ description: 'changes recorded to take effect later' }),
    history: z.array(statusEntry),
    version: z.number().int(),
  })
  .meta({ id: 'State' });

export const organisationAnswer = z
  .object({
    id: z.string(),
    name: z.string(),
    acronym: z.string(),
    kind: organisationFields.kind,
    suspended: z.boolean(),
    version: z.number().int(),
  })
  .meta({ id: 'LiaisonOrganisation' });

export const contactPointAnswer = z
  .object({
    id: z.string(),
    state: z.string().optional(),
    organisation: z.string().optional(),
    fullName: z.string().nullable().meta({ description: 'null once erased' }),
    email: z.string().optional().meta({ description: 'closed: only for those who may see closed fields' }),
    phone: z.string().optional().meta({ description: 'closed' }),
    notes: z.string().optional().meta({ description: 'closed' }),
    personalData: z.object({ erased: z.literal(true), erasedOn: isoDate.optional() }).optional(),
    role: postFields.role,
    authority: z.string(),
    languages: z.array(z.string()),
    expertise: z.array(z.string()),
    primary: z.boolean(),
    status: z.enum(['active', 'retired']),
    lastConfirmedOn: isoDate,
    stale: z.boolean().meta({ description: 'active and not confirmed for 12 months' }),
    version: z.number().int().optional().meta({
      description: 'closed: it counts the changes of closed fields, so only for those who may see them',
    }),
  })
  .meta({ id: 'ContactPoint' });

import { maySee } from '../visibility.js';
import type { Actor } from '../principal.js';
import {
  PARTICIPANT_KINDS,
  SESSIONS,
  sessionVisibility,
  type Delegate,
  type ParticipantKind,
  type Session,
} from './plenary-meeting.js';

/** A registered delegate (not withdrawn) as the report counts them. */
export type CountedDelegate = Pick<Delegate, 'session' | 'kind' | 'country'> & { attended: boolean };

export interface Tally {
  delegates: number;
  attended: number;
}

export interface SessionParticipation extends Tally {
  session: Session;
  byKind: ({ kind: ParticipantKind } & Tally)[];
  byCountry: ({ country: string } & Tally)[];
  countries: number;
}

export interface ParticipationReport {
  /** Only the sessions the viewer may see: the closed session's figures are closed like its delegates. */
  sessions: SessionParticipation[];
  /** Countries with a delegate in any session the viewer may see. */
  countries: number;
}

const tally = (delegates: readonly CountedDelegate[]): Tally => ({
  delegates: delegates.length,
  attended: delegates.filter((delegate) => delegate.attended).length,
});

/**
 * A meeting's participation by session, kind of participant and country, and its number of countries, as
 * `viewer` may see it: the open session's is open, the closed session's closed (SPEC §2).
 */
export function participationReport(
  viewer: Actor,
  delegates: readonly CountedDelegate[],
): ParticipationReport {
  const sessions = SESSIONS.filter((session) => maySee(viewer, sessionVisibility(session))).map((session) => {
    const inSession = delegates.filter((delegate) => delegate.session === session);
    const countries = [
      ...new Set(inSession.flatMap((delegate) => (delegate.country ? [delegate.country] : []))),
    ];
    return {
      session,
      ...tally(inSession),
      byKind: PARTICIPANT_KINDS.map((kind) => ({
        kind,
        ...tally(inSession.filter((delegate) => delegate.kind === kind)),
      })),
      byCountry: countries.sort().map((country) => ({
        country,
        ...tally(inSession.filter((delegate) => delegate.country === country)),
      })),
      countries: countries.length,
    };
  });
  const countries = new Set(sessions.flatMap((session) => session.byCountry.map((entry) => entry.country)));
  return { sessions, countries: countries.size };
}

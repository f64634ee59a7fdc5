import { participationReport, type CountedDelegate } from '../index.js';
import { guestState, ICC, memberState, organisation, secretariat } from '../../test/decider-spec.js';

const delegates: CountedDelegate[] = [
  { session: 'closed', kind: 'member-state', country: 'FR', attended: true },
  { session: 'closed', kind: 'observer-state', country: 'NO', attended: false },
  { session: 'open', kind: 'member-state', country: 'FR', attended: true },
  { session: 'open', kind: 'member-state', country: 'FR', attended: false },
  { session: 'open', kind: 'guest-state', country: 'GM', attended: true },
  { session: 'open', kind: 'liaison-organisation', attended: true },
];

describe('participation report', () => {
  it('counts by session, kind of participant and country, and the countries', () => {
    const report = participationReport(secretariat, delegates);
    expect(report.countries).toBe(3);
    const [open, closed] = report.sessions;
    expect(open).toMatchObject({ session: 'open', delegates: 4, attended: 3, countries: 2 });
    expect(open!.byCountry).toEqual([
      { country: 'FR', delegates: 2, attended: 1 },
      { country: 'GM', delegates: 1, attended: 1 },
    ]);
    expect(open!.byKind).toContainEqual({ kind: 'liaison-organisation', delegates: 1, attended: 1 });
    expect(closed).toMatchObject({ session: 'closed', delegates: 2, attended: 1, countries: 2 });
    expect(participationReport(memberState('DE'), delegates).sessions).toHaveLength(2);
  });

  it('the closed session’s figures, and its countries, are not a liaison organisation’s or a guest’s', () => {
    for (const viewer of [organisation(ICC), guestState('GM')]) {
      const report = participationReport(viewer, delegates);
      expect(report.sessions.map((session) => session.session)).toEqual(['open']);
      // NO sent a delegate to the closed session only: not counted for them.
      expect(report.countries).toBe(2);
    }
  });
});

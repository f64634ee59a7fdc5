import { maySee, maySeeField, restrictedTo } from './visibility.js';
import { auditor, ICC, memberState, observerState, organisation, secretariat } from '../test/decider-spec.js';

describe('visibility', () => {
  const everyone = [secretariat, auditor, memberState('FR'), observerState('NO'), organisation(ICC)];

  it('open: everyone; closed: everyone but liaison organisations', () => {
    for (const viewer of everyone) expect(maySee(viewer, { level: 'open' })).toBe(true);
    expect(everyone.filter((viewer) => maySee(viewer, { level: 'closed' }))).not.toContainEqual(
      organisation(ICC),
    );
    expect(everyone.filter((viewer) => maySee(viewer, { level: 'closed' }))).toHaveLength(4);
  });

  it('restricted: the participants, the secretariat and auditors', () => {
    const visibility = restrictedTo(['state:FR', `organisation:${ICC}`]);
    expect(maySee(memberState('FR'), visibility)).toBe(true);
    expect(maySee(organisation(ICC), visibility)).toBe(true);
    expect(maySee(secretariat, visibility)).toBe(true);
    expect(maySee(auditor, visibility)).toBe(true);
    expect(maySee(memberState('DE'), visibility)).toBe(false);
    expect(maySee(observerState('NO'), visibility)).toBe(false);
  });

  it("shows a liaison organisation a contact point's name and authority, never e-mail, phone or notes", () => {
    const viewer = organisation(ICC);
    expect(maySeeField(viewer, 'fullName')).toBe(true);
    expect(maySeeField(viewer, 'authority')).toBe(true);
    for (const field of ['email', 'phone', 'notes'] as const) {
      expect(maySeeField(viewer, field)).toBe(false);
      expect(maySeeField(memberState('FR'), field)).toBe(true);
    }
  });
});

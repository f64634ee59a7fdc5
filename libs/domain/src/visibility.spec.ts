import {
  maySee,
  maySeeEverything,
  maySeeField,
  open,
  recordedVisibility,
  restrictedTo,
  withoutClosedFields,
} from './visibility.js';
import {
  auditor,
  guestState,
  ICC,
  memberState,
  observerState,
  organisation,
  secretariat,
} from '../test/decider-spec.js';

describe('visibility', () => {
  const everyone = [secretariat, auditor, memberState('FR'), observerState('NO'), organisation(ICC)];

  it('every event: the secretariat and auditors only (whoever else may be shown no position of the log)', () => {
    expect([...everyone, guestState('GM')].filter(maySeeEverything)).toEqual([secretariat, auditor]);
  });

  it('open: everyone; closed: the secretariat, member and observer states, auditors, never an organisation or a guest', () => {
    const all = [...everyone, guestState('GM')];
    for (const viewer of all) expect(maySee(viewer, { level: 'open' })).toBe(true);
    expect(all.filter((viewer) => maySee(viewer, { level: 'closed' }))).toEqual([
      secretariat,
      auditor,
      memberState('FR'),
      observerState('NO'),
    ]);
  });

  it('restricted: the participants, the secretariat and auditors', () => {
    const visibility = restrictedTo(['state:FR', `organisation:${ICC}`]);
    expect(maySee(memberState('FR'), visibility)).toBe(true);
    expect(maySee(organisation(ICC), visibility)).toBe(true);
    expect(maySee(secretariat, visibility)).toBe(true);
    expect(maySee(auditor, visibility)).toBe(true);
    expect(maySee(memberState('DE'), visibility)).toBe(false);
    expect(maySee(observerState('NO'), visibility)).toBe(false);
    expect(maySee(guestState('GM'), visibility)).toBe(false);
    expect(maySee(guestState('GM'), restrictedTo(['state:GM']))).toBe(true);
  });

  it('restricted and closed: only the participants who may see closed information, the secretariat and auditors', () => {
    const participants = ['state:FR', 'state:US', 'state:GM', `organisation:${ICC}`] as const;
    const visibility = restrictedTo(participants, { closed: true });
    expect(visibility).toEqual({ level: 'restricted', participants: [...participants].sort(), closed: true });
    expect(maySee(memberState('FR'), visibility)).toBe(true);
    expect(maySee(observerState('US'), visibility)).toBe(true);
    expect(maySee(secretariat, visibility)).toBe(true);
    expect(maySee(auditor, visibility)).toBe(true);
    // A participant that became a guest, or an organisation named before the rule, reads nothing closed.
    expect(maySee(guestState('US'), visibility)).toBe(false);
    expect(maySee(guestState('GM'), visibility)).toBe(false);
    expect(maySee(organisation(ICC), visibility)).toBe(false);
    expect(maySee(memberState('DE'), visibility)).toBe(false);
    // Without the marker the restriction is the participants' alone, as events written before it say.
    expect(restrictedTo(participants)).not.toHaveProperty('closed');
    expect(restrictedTo(participants, { closed: false })).toHaveProperty('closed', false);
    expect(maySee(guestState('US'), restrictedTo(participants, { closed: false }))).toBe(true);
    expect(maySee(guestState('US'), restrictedTo(participants))).toBe(true);
  });

  it('reads the closed marker into events recorded before it, where the event itself says it is closed', () => {
    const unmarked = restrictedTo(['state:FR', 'state:US']);
    const marked = restrictedTo(['state:FR', 'state:US'], { closed: true });
    const event = (streamId: string, type: string, data = {}, visibility = unmarked) => ({
      streamId,
      type,
      data,
      visibility,
    });
    // A restricted meeting request is always a closed one; a ThreadOpened names its thread's visibility.
    expect(recordedVisibility(event('meeting-request-1', 'AdHocMeetingCoSponsored'))).toEqual(marked);
    expect(recordedVisibility(event('thread-1', 'ThreadOpened', { visibility: 'closed' }))).toEqual(marked);
    expect(recordedVisibility(event('thread-1', 'ThreadOpened', { visibility: 'restricted' }))).toEqual(
      unmarked,
    );
    // A later event of a thread says nothing of the thread's visibility: left as recorded.
    expect(recordedVisibility(event('thread-1', 'MessagePosted'))).toEqual(unmarked);
    expect(recordedVisibility(event('meeting-request-1', 'AdHocMeetingRequested', {}, open))).toEqual(open);
    expect(
      maySee(guestState('US'), recordedVisibility(event('meeting-request-1', 'AdHocMeetingAccepted'))),
    ).toBe(false);
  });

  it("shows a liaison organisation a contact point's name and authority, never e-mail, phone or notes", () => {
    const viewer = organisation(ICC);
    expect(maySeeField(viewer, 'fullName')).toBe(true);
    expect(maySeeField(viewer, 'authority')).toBe(true);
    for (const field of ['email', 'phone', 'notes'] as const) {
      expect(maySeeField(viewer, field)).toBe(false);
      expect(maySeeField(guestState('SN'), field)).toBe(false);
      expect(maySeeField(memberState('FR'), field)).toBe(true);
    }
  });

  it("gives an open event's closed fields only to those who may see closed information: a suspension's reason", () => {
    const data = { reason: 'under review' };
    expect(withoutClosedFields('LiaisonOrganisationSuspended', data)).toEqual({});
    // One recorded closed, before its reason was a closed field, reads as it is recorded now.
    const recorded = { streamId: 'liaison-organisation-1', type: 'LiaisonOrganisationSuspended', data };
    expect(recordedVisibility({ ...recorded, visibility: { level: 'closed' } })).toEqual(open);
    expect(data).toEqual({ reason: 'under review' });
    const reinstated = {};
    expect(withoutClosedFields('LiaisonOrganisationReinstated', reinstated)).toBe(reinstated);
    const changed = { reason: 'kept: not a closed field of this event' };
    expect(withoutClosedFields('StateStatusChanged', changed)).toBe(changed);
  });
});

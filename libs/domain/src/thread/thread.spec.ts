import {
  fold,
  isOverdue,
  restrictedTo,
  threadDecider,
  type ThreadCommand,
  type ThreadEvent,
} from '../index.js';
import {
  auditor,
  guestState,
  ICC,
  IRMCT,
  memberState,
  NOW,
  organisation,
  secretariat,
  specify,
} from '../../test/decider-spec.js';

const { given } = specify(threadDecider);
const ID = '3c8f0e2b-4d5a-4b7c-8f9e-6a2b3c4d5e6f';
const MESSAGE = '4d9a1f3c-5e6b-4c8d-9a0f-7b3c4d5e6f70';
const open = {
  type: 'OpenThread',
  actor: memberState('NL'),
  at: NOW,
  threadId: ID,
  subject: 'Witness in Germany',
  visibility: 'restricted',
  participants: ['state:DE', 'secretariat'],
  replyBy: '2026-11-25T17:00:00Z',
  facts: { suspendedOrganisations: [], guestStates: [] },
} satisfies ThreadCommand;
const participants = ['secretariat', 'state:DE', 'state:NL'] as const;
const visibility = restrictedTo(participants, { closed: false });
const closedVisibility = restrictedTo(participants, { closed: true });
const opened: ThreadEvent = {
  type: 'ThreadOpened',
  data: {
    threadId: ID,
    subject: 'Witness in Germany',
    visibility: 'restricted',
    participants: [...participants],
    openedBy: 'state:NL',
    replyBy: '2026-11-25T17:00:00Z',
  },
  visibility,
};
const file = { name: 'statement.pdf', sha256: 'a'.repeat(64), size: 52_113 };
const post = {
  type: 'PostMessage',
  actor: memberState('NL'),
  at: NOW,
  threadId: ID,
  messageId: MESSAGE,
  body: 'Can you hear the witness?',
  handlingCode: 'H2',
  attachments: [file],
} satisfies ThreadCommand;
const posted: ThreadEvent = {
  type: 'MessagePosted',
  data: {
    messageId: MESSAGE,
    author: 'state:NL',
    body: 'Can you hear the witness?',
    handlingCode: 'H2',
    attachments: [file],
  },
  visibility,
};

describe('Thread', () => {
  describe('OpenThread', () => {
    it('opens with the opener among the participants, restricted to them', () =>
      given([]).when(open).then([opened]));
    it('a liaison organisation can never take part in a closed thread', () =>
      given([])
        .when({ ...open, visibility: 'closed', participants: [`organisation:${ICC}`] })
        .thenError('RuleViolated', 'thread/closed-no-organisations'));
    it('a guest state can never take part in a closed thread, also as its opener', () => {
      given([])
        .when({
          ...open,
          visibility: 'closed',
          participants: ['state:GM'],
          facts: { suspendedOrganisations: [], guestStates: ['GM'] },
        })
        .thenError('RuleViolated', 'thread/closed-no-guests', /state:GM/);
      given([])
        .when({
          ...open,
          actor: guestState('SN'),
          visibility: 'closed',
          facts: { suspendedOrganisations: [], guestStates: ['SN'] },
        })
        .thenError('RuleViolated', 'thread/closed-no-guests');
    });
    it('only liaison organisations of the directory take part (a state, even before it is admitted)', () =>
      given([])
        .when({
          ...open,
          participants: ['state:CH', `organisation:${IRMCT}`],
          facts: { suspendedOrganisations: [], guestStates: [], unknownOrganisations: [IRMCT] },
        })
        .thenError(
          'RuleViolated',
          'thread/unknown-organisation',
          /no liaison organisation of the directory/,
        ));
    it('a suspended organisation cannot be added', () =>
      given([])
        .when({
          ...open,
          participants: [`organisation:${IRMCT}`],
          facts: { suspendedOrganisations: [IRMCT], guestStates: [] },
        })
        .thenError('RuleViolated', 'thread/organisation-suspended'));
    it('refuses a malformed participant and a deadline in the past', () =>
      given([])
        .when({ ...open, participants: ['DE' as never], replyBy: '2026-01-01T00:00:00Z' })
        .thenInvalid({ participants: /state:<ISO code>/, replyBy: /not in the future/ }));
    it('auditors do not take part', () =>
      given([])
        .when({ ...open, actor: auditor })
        .thenError('Forbidden', 'thread/no-participant'));
    it('opens once', () => given([opened]).when(open).thenError('Conflict', 'thread/exists'));
  });

  describe('PostMessage', () => {
    it('a participant posts with a handling code and attachment fingerprints', () =>
      given([opened]).when(post).then([posted]));
    it('only participants post; to anyone else but the secretariat and auditors the thread does not exist', () => {
      given([opened])
        .when({ ...post, actor: memberState('FR') })
        .thenError('NotFound', 'thread/not-found');
      given([opened])
        .when({ ...post, actor: organisation(ICC) })
        .thenError('NotFound', 'thread/not-found');
      given([{ ...opened, data: { ...opened.data, participants: ['state:DE', 'state:NL'] } }])
        .when({ ...post, actor: secretariat })
        .thenError('Forbidden', 'thread/participants-only');
      given([opened])
        .when({ ...post, actor: auditor })
        .thenError('Forbidden', 'thread/no-participant');
    });
    it('a closed thread is restricted to its participants, and its events say it is closed', () =>
      given([])
        .when({ ...open, visibility: 'closed' })
        .then([{ ...opened, data: { ...opened.data, visibility: 'closed' }, visibility: closedVisibility }]));
    it('to a participant that became a guest state, a closed thread does not exist: 404 on posting', () => {
      const closedThread = [
        { ...opened, data: { ...opened.data, visibility: 'closed' }, visibility: closedVisibility },
      ] satisfies ThreadEvent[];
      given(closedThread)
        .when({ ...post, actor: guestState('DE') })
        .thenError('NotFound', 'thread/not-found');
      given(closedThread)
        .when({ ...post, actor: memberState('DE') })
        .then([{ ...posted, data: { ...posted.data, author: 'state:DE' }, visibility: closedVisibility }]);
      // A restricted (not closed) thread keeps its guest participants.
      given([opened])
        .when({ ...post, actor: guestState('DE') })
        .then([{ ...posted, data: { ...posted.data, author: 'state:DE' } }]);
    });
    it('H3 needs a note; fingerprints must be SHA-256', () => {
      given([opened])
        .when({ ...post, handlingCode: 'H3' })
        .thenInvalid({ handlingNote: /H3 needs a note/ });
      given([opened])
        .when({ ...post, attachments: [{ ...file, sha256: 'abc' }] })
        .thenInvalid({ attachments: /\[0\]\.sha256 must be 64/ });
      given([opened])
        .when({ ...post, handlingCode: 'H9' as never })
        .thenInvalid({ handlingCode: /not one of H0, H1, H2, H3/ });
    });
    it('a message id is used once', () =>
      given([opened, posted]).when(post).thenError('Conflict', 'thread/message-exists'));
    it('needs a thread', () => given([]).when(post).thenError('NotFound', 'thread/not-found'));
  });

  describe('receipts', () => {
    const delivered = { ...post, type: 'RecordMessageDelivered', actor: memberState('DE') } as const;
    const read = { ...post, type: 'MarkMessageRead', actor: memberState('DE') } as const;
    it('records delivery and reading once per recipient', () => {
      given([opened, posted])
        .when(delivered)
        .then([
          { type: 'MessageDelivered', data: { messageId: MESSAGE, recipient: 'state:DE' }, visibility },
        ]);
      given([opened, posted])
        .when(read)
        .then([{ type: 'MessageRead', data: { messageId: MESSAGE, reader: 'state:DE' }, visibility }]);
      given([
        opened,
        posted,
        { type: 'MessageRead', data: { messageId: MESSAGE, reader: 'state:DE' }, visibility },
      ])
        .when(read)
        .then([]);
    });
    it('no receipt for the author, none for a stranger, none for an unknown message', () => {
      given([opened, posted])
        .when({ ...read, actor: memberState('NL') })
        .then([]);
      given([opened, posted])
        .when({ ...read, actor: organisation(ICC) })
        .thenError('NotFound', 'thread/not-found');
      given([opened]).when(read).thenError('NotFound', 'thread/message-not-found');
    });
  });

  it('an urgent thread is overdue once its deadline passes unanswered', () => {
    const unanswered = fold(threadDecider, [opened, posted]);
    expect(isOverdue(unanswered, '2026-11-24T00:00:00Z')).toBe(false);
    expect(isOverdue(unanswered, '2026-11-26T00:00:00Z')).toBe(true);
    const answered = fold(threadDecider, [
      opened,
      posted,
      {
        ...posted,
        data: { ...posted.data, messageId: '5e0b2a4d-6f7c-4d9e-8b1a-8c4d5e6f7a81', author: 'state:DE' },
      },
    ]);
    expect(isOverdue(answered, '2026-11-26T00:00:00Z')).toBe(false);
  });
});

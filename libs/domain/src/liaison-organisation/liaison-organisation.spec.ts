import { liaisonOrganisationDecider, type LiaisonOrganisationEvent } from '../index.js';
import { ICC, memberState, NOW, organisation, secretariat, specify } from '../../test/decider-spec.js';

const { given } = specify(liaisonOrganisationDecider);
const details = {
  name: 'International Criminal Court',
  acronym: 'ICC',
  kind: 'international-court',
} as const;
const registered: LiaisonOrganisationEvent = {
  type: 'LiaisonOrganisationRegistered',
  data: { organisationId: ICC, ...details },
  visibility: { level: 'open' },
};
const suspended: LiaisonOrganisationEvent = {
  type: 'LiaisonOrganisationSuspended',
  data: { reason: 'review' },
  visibility: { level: 'open' },
};
const base = { actor: secretariat, at: NOW, organisationId: ICC } as const;

describe('LiaisonOrganisation', () => {
  it('registers an organisation', () =>
    given([])
      .when({ ...base, type: 'RegisterLiaisonOrganisation', ...details })
      .then([registered]));
  it('refuses an unknown kind and an empty acronym', () =>
    given([])
      .when({ ...base, type: 'RegisterLiaisonOrganisation', ...details, kind: 'ngo' as never, acronym: ' ' })
      .thenInvalid({ acronym: /non-empty/, kind: /not one of/ }));
  it('registers once', () =>
    given([registered])
      .when({ ...base, type: 'RegisterLiaisonOrganisation', ...details })
      .thenError('Conflict', 'liaison-organisation/already-registered'));
  it('is maintained by the secretariat only', () => {
    for (const actor of [memberState('FR'), organisation(ICC)]) {
      given([registered])
        .when({ ...base, actor, type: 'SuspendLiaisonOrganisation', reason: 'x' })
        .thenError('Forbidden', 'liaison-organisation/secretariat-only');
    }
  });
  it('changes only what differs, and nothing when nothing does', () => {
    given([registered])
      .when({ ...base, type: 'ChangeLiaisonOrganisationDetails', changes: { name: 'ICC', acronym: 'ICC' } })
      .then([
        {
          type: 'LiaisonOrganisationDetailsChanged',
          data: { changes: { name: 'ICC' } },
          visibility: { level: 'open' },
        },
      ]);
    given([registered])
      .when({ ...base, type: 'ChangeLiaisonOrganisationDetails', changes: { acronym: 'ICC' } })
      .then([]);
  });
  it('needs a registered organisation', () =>
    given([])
      .when({ ...base, type: 'ReinstateLiaisonOrganisation' })
      .thenError('NotFound', 'liaison-organisation/not-found'));
  it('suspends openly, its reason a closed field, and not twice', () => {
    given([registered])
      .when({ ...base, type: 'SuspendLiaisonOrganisation', reason: 'review' })
      .then([suspended]);
    given([registered, suspended])
      .when({ ...base, type: 'SuspendLiaisonOrganisation', reason: 'again' })
      .thenError('RuleViolated', 'liaison-organisation/suspended');
    given([registered])
      .when({ ...base, type: 'SuspendLiaisonOrganisation', reason: '' })
      .thenError('Invalid', 'invalid-input');
  });
  it('reinstates only a suspended organisation', () => {
    given([registered, suspended])
      .when({ ...base, type: 'ReinstateLiaisonOrganisation' })
      .then([{ type: 'LiaisonOrganisationReinstated', data: {}, visibility: { level: 'open' } }]);
    given([registered])
      .when({ ...base, type: 'ReinstateLiaisonOrganisation' })
      .thenError('RuleViolated', 'liaison-organisation/not-suspended');
  });
});

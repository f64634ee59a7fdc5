import { CONTACT_POINT_PERSONAL_FIELDS } from '@focal/contracts';
import {
  contactPointDecider,
  isErased,
  liaisonOrganisationDecider,
  primaryByState,
  stateDecider,
  statusOn,
  statusSince,
  type ContactPointEvent,
  type ContactPointState,
  type LiaisonOrganisationState,
  type StateState,
} from '@focal/domain';
import {
  PersonalDataCodec,
  readableOrRefuse,
  type EventStore,
  type KeyStore,
  type Position,
} from '@focal/events';

import { DIRECTORY_PREFIXES, directoryFieldsOf, type DirectoryAsOf } from '@focal/audit';

/**
 * The reference for `DirectorySnapshots.asOf`, kept naive on purpose: the directory as it stood at `instant`,
 * every directory event recorded up to then, decrypted and replayed from the start in log order through the
 * domain's own deciders; a state's status is its status on that date. Personal fields read as
 * erased once erased, whatever the instant: erasure destroys the key, not the history.
 */
export async function directoryAsOfByReplay(
  store: EventStore,
  keys: KeyStore,
  instant: Date,
): Promise<DirectoryAsOf> {
  await readableOrRefuse(store);
  const codec = new PersonalDataCodec(keys, CONTACT_POINT_PERSONAL_FIELDS);
  const states = new Map<string, StateState>();
  const organisations = new Map<string, LiaisonOrganisationState>();
  const contactPoints = new Map<string, ContactPointState>();
  const contactPointEvents: { contactPointId: string; event: ContactPointEvent }[] = [];
  const keyOf = new Map<string, Buffer | undefined>();

  let after: Position | undefined;
  for (;;) {
    const page = await store.readAll({
      ...(after ? { after } : {}),
      limit: 5_000,
      filter: { streamPrefixes: Object.values(DIRECTORY_PREFIXES) },
    });
    if (page.length === 0) break;
    after = page.at(-1)!.globalPosition;
    for (const recorded of page) {
      if (recorded.recordedAt.getTime() > instant.getTime()) continue;
      if (recorded.streamId.startsWith(DIRECTORY_PREFIXES.contactPoint)) {
        const contactPointId = recorded.streamId.slice(DIRECTORY_PREFIXES.contactPoint.length);
        if (!keyOf.has(contactPointId)) keyOf.set(contactPointId, await keys.find(contactPointId));
        const event = {
          type: recorded.type,
          visibility: recorded.visibility,
          data: codec.decodeData(recorded, keyOf.get(contactPointId)),
        } as unknown as ContactPointEvent;
        const current = contactPoints.get(contactPointId) ?? contactPointDecider.initialState;
        contactPoints.set(contactPointId, contactPointDecider.evolve(current, event));
        contactPointEvents.push({ contactPointId, event });
      } else if (recorded.streamId.startsWith(DIRECTORY_PREFIXES.organisation)) {
        const organisationId = recorded.streamId.slice(DIRECTORY_PREFIXES.organisation.length);
        const current = organisations.get(organisationId) ?? liaisonOrganisationDecider.initialState;
        organisations.set(organisationId, liaisonOrganisationDecider.evolve(current, recorded as never));
      } else {
        const code = recorded.streamId.slice(DIRECTORY_PREFIXES.state.length);
        states.set(
          code,
          stateDecider.evolve(states.get(code) ?? stateDecider.initialState, recorded as never),
        );
      }
    }
  }

  const date = instant.toISOString().slice(0, 10);
  const primaries = new Set(primaryByState(contactPointEvents).values());
  return {
    asOf: instant.toISOString(),
    states: [...states.values()]
      .flatMap((state) => {
        const status = statusOn(state, date);
        return state.admitted && status
          ? [{ code: state.code, name: state.name, status, since: statusSince(state, date)! }]
          : [];
      })
      .sort((a, b) => a.code.localeCompare(b.code)),
    organisations: [...organisations.values()]
      .flatMap((o) =>
        o.registered
          ? [{ id: o.organisationId, name: o.name, acronym: o.acronym, kind: o.kind, suspended: o.suspended }]
          : [],
      )
      .sort((a, b) => a.id.localeCompare(b.id)),
    contactPoints: [...contactPoints.values()]
      .flatMap((point) => {
        if (!point.registered) return [];
        const { personal, contactPointId } = point;
        return [
          {
            id: contactPointId,
            ...directoryFieldsOf(point),
            ...(isErased(personal) ? { personalData: { erased: true } } : personal),
            primary: primaries.has(contactPointId),
          },
        ];
      })
      .sort((a, b) => String(a.id).localeCompare(String(b.id))),
  };
}

import { CONTACT_POINT_DETAILS_EVENTS, CONTACT_POINT_PERSONAL_FIELDS } from '@focal/contracts';
import {
  contactPointDecider,
  evolvePrimaries,
  initialPrimaries,
  isErased,
  liaisonOrganisationDecider,
  stateDecider,
  statusOn,
  statusSince,
  type ContactPointEvent,
  type ContactPointState,
  type LiaisonOrganisationState,
  type PrimaryFold,
  type StateState,
} from '@focal/domain';
import {
  PersonalDataCodec,
  plaintextLength,
  type JsonValue,
  type KeyStore,
  type RecordedEvent,
} from '@focal/events';

export const DIRECTORY_PREFIXES = {
  state: 'state-',
  contactPoint: 'contact-point-',
  organisation: 'liaison-organisation-',
} as const;

export interface DirectoryAsOf {
  asOf: string;
  states: { code: string; name: string; status: string; since: string }[];
  organisations: { id: string; name: string; acronym: string; kind: string; suspended: boolean }[];
  contactPoints: Record<string, unknown>[];
}

/** What a replay holds: plain JSON, so that it can be stored as a snapshot and resumed. */
export interface DirectoryReplayState {
  states: Record<string, StateState>;
  organisations: Record<string, LiaisonOrganisationState>;
  /** Each contact point folded without its personal fields... */
  contactPoints: Record<string, ContactPointState>;
  /** ...which are kept as stored (ciphertext), in order, and decrypted only when the directory is shown. */
  personal: Record<string, JsonValue[]>;
  primaries: PrimaryFold;
}

const PERSONAL_FIELD = CONTACT_POINT_PERSONAL_FIELDS.fields as Readonly<Record<string, string>>;

/**
 * A registered contact point's fields in the directory as of an instant, its personal data and its primary
 * flag aside (each shown from elsewhere): its folded state, less what only the decider needs (confirmedOn,
 * absent from snapshots taken before it was folded). Both the snapshots and the reference replay show these.
 */
export function directoryFieldsOf(point: Extract<ContactPointState, { registered: true }>) {
  const {
    personal: _personal,
    contactPointId: _id,
    primary: _primary,
    registered: _registered,
    confirmedOn: _confirmedOn,
    ...fields
  } = point;
  return fields;
}

/**
 * The directory folded from its events through the domain's deciders. Personal fields stay encrypted in the
 * fold (a snapshot never holds them readable), so erasure, which destroys the key, reaches every snapshot.
 */
export class DirectoryReplay {
  constructor(
    readonly state: DirectoryReplayState = {
      states: {},
      organisations: {},
      contactPoints: {},
      personal: {},
      primaries: initialPrimaries(),
    },
  ) {}

  apply(recorded: Pick<RecordedEvent, 'streamId' | 'type' | 'data' | 'visibility'>): void {
    const { state } = this;
    if (recorded.streamId.startsWith(DIRECTORY_PREFIXES.contactPoint)) {
      const id = recorded.streamId.slice(DIRECTORY_PREFIXES.contactPoint.length);
      const field = PERSONAL_FIELD[recorded.type];
      const data = { ...recorded.data };
      if (field && data[field] !== undefined) {
        // The person's details are kept to show; a retirement reason is not part of the directory.
        const details = CONTACT_POINT_DETAILS_EVENTS.includes(recorded.type);
        // A change that encrypts two bytes is `{}`: nothing to merge, so not kept (contact points change often).
        if (details && plaintextLength(data[field]) !== 2) (state.personal[id] ??= []).push(data[field]);
        data[field] = details ? {} : '';
      }
      const event = {
        type: recorded.type,
        visibility: recorded.visibility,
        data,
      } as unknown as ContactPointEvent;
      if (event.type === 'ContactPointRegistered') state.personal[id] = field ? [recorded.data[field]!] : [];
      if (event.type === 'ContactPointPersonalDataErased') delete state.personal[id];
      state.contactPoints[id] = contactPointDecider.evolve(
        state.contactPoints[id] ?? contactPointDecider.initialState,
        event,
      );
      evolvePrimaries(state.primaries, id, event);
    } else if (recorded.streamId.startsWith(DIRECTORY_PREFIXES.organisation)) {
      const id = recorded.streamId.slice(DIRECTORY_PREFIXES.organisation.length);
      state.organisations[id] = liaisonOrganisationDecider.evolve(
        state.organisations[id] ?? liaisonOrganisationDecider.initialState,
        recorded as never,
      );
    } else if (recorded.streamId.startsWith(DIRECTORY_PREFIXES.state)) {
      const code = recorded.streamId.slice(DIRECTORY_PREFIXES.state.length);
      state.states[code] = stateDecider.evolve(
        state.states[code] ?? stateDecider.initialState,
        recorded as never,
      );
    }
  }

  /** The directory as it stood at `instant`, personal fields decrypted now (erased where the key is gone). */
  async render(instant: Date, keys: KeyStore): Promise<DirectoryAsOf> {
    const codec = new PersonalDataCodec(keys, CONTACT_POINT_PERSONAL_FIELDS);
    const date = instant.toISOString().slice(0, 10);
    const primaries = new Set(Object.values(this.state.primaries.primaries));
    const contactPoints: Record<string, unknown>[] = [];
    const keyOf = await keys.findMany(Object.keys(this.state.personal));
    for (const point of Object.values(this.state.contactPoints)) {
      if (!point.registered) continue;
      const { personal: folded, contactPointId } = point;
      let personal: Record<string, unknown> = { personalData: { erased: true } };
      if (!isErased(folded)) {
        const key = keyOf.get(contactPointId);
        const streamId = `${DIRECTORY_PREFIXES.contactPoint}${contactPointId}`;
        let merged: Record<string, unknown> | undefined = {};
        for (const stored of this.state.personal[contactPointId] ?? []) {
          // What the deciders would have folded from the decoded events: the registration's fields, then changes.
          const value = codec.decodeData(
            { type: 'ContactPointRegistered', streamId, data: { personal: stored } },
            key,
          ).personal as Record<string, unknown>;
          if ('erased' in value) {
            merged = undefined;
            break;
          }
          merged = { ...merged, ...value };
        }
        if (merged) personal = merged;
      }
      contactPoints.push({
        id: contactPointId,
        ...directoryFieldsOf(point),
        ...personal,
        primary: primaries.has(contactPointId),
      });
    }
    return {
      asOf: instant.toISOString(),
      states: Object.values(this.state.states)
        .flatMap((state) => {
          const status = statusOn(state, date);
          return state.admitted && status
            ? [{ code: state.code, name: state.name, status, since: statusSince(state, date)! }]
            : [];
        })
        .sort((a, b) => a.code.localeCompare(b.code)),
      organisations: Object.values(this.state.organisations)
        .flatMap((o) =>
          o.registered
            ? [
                {
                  id: o.organisationId,
                  name: o.name,
                  acronym: o.acronym,
                  kind: o.kind,
                  suspended: o.suspended,
                },
              ]
            : [],
        )
        .sort((a, b) => a.id.localeCompare(b.id)),
      contactPoints: contactPoints.sort((a, b) => String(a.id).localeCompare(String(b.id))),
    };
  }
}

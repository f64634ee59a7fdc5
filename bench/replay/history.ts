import { randomUUID } from 'node:crypto';

import { CONTACT_POINT_PERSONAL_FIELDS } from '@focal/contracts';
import {
  contactPointDecider,
  DomainError,
  liaisonOrganisationDecider,
  stateDecider,
  threadDecider,
  type Actor,
  type Decider,
  type DomainEvent,
} from '@focal/domain';
import { PersonalDataCodec, type EventStore, type KeyStore, type NewEvent } from '@focal/events';

const secretariat: Actor = { principal: 'bench', role: 'secretariat' };
const CODES =
  'AT BE BG HR CY CZ DK EE FI FR DE GR HU IE IT LV LT LU MT NL PL PT RO SK SI ES SE BA CA NO CH US GB'.split(
    ' ',
  );

interface Entity {
  streamId: string;
  decider: Decider<unknown, unknown, DomainEvent>;
  state: unknown;
  version: number;
  /** The command of step `step`; `attempt` moves on when the decider refuses it. */
  next(step: number, attempt: number): unknown;
}

/**
 * A history generated through the domain's own deciders: states changing status, liaison organisations
 * suspended and reinstated, contact points (personal fields encrypted as the services do) changed, retired,
 * reinstated, confirmed and designated primary, and threads between member states (messages, deliveries,
 * readings). Every entity takes `perAppend` steps per
 * append, in rounds, so the log interleaves entities as a live system's would.
 */
export async function generateDirectoryHistory(
  store: EventStore,
  keys: KeyStore,
  options: { events: number; contactPoints: number; threads: number; perAppend: number; concurrency: number },
  progress: (written: number) => void,
): Promise<number> {
  const codec = new PersonalDataCodec(keys, CONTACT_POINT_PERSONAL_FIELDS);
  const at = () => new Date().toISOString();
  const entities: Entity[] = [];
  for (const code of CODES) {
    entities.push({
      streamId: `state-${code}`,
      decider: stateDecider as never,
      state: stateDecider.initialState,
      version: 0,
      next: (step) =>
        step === 0
          ? {
              type: 'AdmitState',
              actor: secretariat,
              at: at(),
              code,
              name: code,
              status: 'member',
              effectiveFrom: '2002-06-13',
            }
          : {
              type: 'ChangeStateStatus',
              actor: secretariat,
              at: at(),
              code,
              to: step % 2 ? 'observer' : 'member',
              effectiveFrom: new Date(Date.UTC(2003, 0, 1) + step * 86_400_000).toISOString().slice(0, 10),
            },
    });
  }
  for (let i = 0; i < 50; i++) {
    const organisationId = randomUUID();
    entities.push({
      streamId: `liaison-organisation-${organisationId}`,
      decider: liaisonOrganisationDecider as never,
      state: liaisonOrganisationDecider.initialState,
      version: 0,
      next: (step, attempt) =>
        step === 0
          ? {
              type: 'RegisterLiaisonOrganisation',
              actor: secretariat,
              at: at(),
              organisationId,
              name: `Org ${i}`,
              acronym: `O${i}`,
              kind: 'other',
            }
          : [
              {
                type: 'SuspendLiaisonOrganisation',
                actor: secretariat,
                at: at(),
                organisationId,
                reason: 'review',
              },
              { type: 'ReinstateLiaisonOrganisation', actor: secretariat, at: at(), organisationId },
              {
                type: 'ChangeLiaisonOrganisationDetails',
                actor: secretariat,
                at: at(),
                organisationId,
                changes: { acronym: `O${i}-${step}` },
              },
            ][(step + attempt) % 3],
    });
  }
  for (let i = 0; i < options.contactPoints; i++) {
    const contactPointId = randomUUID();
    const state = CODES[i % CODES.length]!;
    entities.push({
      streamId: `contact-point-${contactPointId}`,
      decider: contactPointDecider as never,
      state: contactPointDecider.initialState,
      version: 0,
      next: (step, attempt) => {
        const base = { actor: secretariat, at: at(), contactPointId };
        if (step === 0) {
          return {
            ...base,
            type: 'RegisterContactPoint',
            state,
            personal: { fullName: `Person ${i}`, email: `p${i}@example.org`, phone: '+31703738000' },
            role: 'prosecutor',
            authority: `Authority ${i}`,
            languages: ['en'],
            expertise: ['war crimes'],
            primary: false,
            facts: {},
          };
        }
        const commands = [
          {
            ...base,
            type: 'ChangeContactPointDetails',
            changes: { authority: `Authority ${i}.${step}` },
            personalChanges: step % 7 ? {} : { phone: `+3170${step}` },
          },
          { ...base, type: 'DesignatePrimaryContactPoint', facts: {} },
          { ...base, type: 'RetireContactPoint', reason: 'moved' },
          { ...base, type: 'ReinstateContactPoint' },
          { ...base, type: 'ConfirmContactPoint' },
        ];
        return commands[(step + attempt) % commands.length];
      },
    });
  }

  // Threads between two member states: a message, its delivery, its reading, and again.
  const netherlands: Actor = { principal: 'nl-bench', role: 'member-state', state: 'NL' };
  const germany: Actor = { principal: 'de-bench', role: 'member-state', state: 'DE' };
  for (let i = 0; i < options.threads; i++) {
    const threadId = randomUUID();
    let lastMessage = randomUUID();
    entities.push({
      streamId: `thread-${threadId}`,
      decider: threadDecider as never,
      state: threadDecider.initialState,
      version: 0,
      next: (step) => {
        const base = { at: at(), threadId };
        if (step === 0) {
          return {
            ...base,
            actor: netherlands,
            type: 'OpenThread',
            subject: `Witness ${i}`,
            visibility: 'restricted',
            participants: ['state:DE', 'secretariat'],
            facts: { suspendedOrganisations: [], guestStates: [] },
          };
        }
        if (step % 3 === 1) {
          lastMessage = randomUUID();
          return {
            ...base,
            actor: netherlands,
            type: 'PostMessage',
            messageId: lastMessage,
            body: `Can the witness in case ${i} be heard in ${step}?`,
            handlingCode: 'H1',
            attachments: [],
          };
        }
        return {
          ...base,
          actor: germany,
          type: step % 3 === 2 ? 'RecordMessageDelivered' : 'MarkMessageRead',
          messageId: lastMessage,
        };
      },
    });
  }

  let written = 0;
  let step = 0;
  while (written < options.events) {
    const round = step;
    step += options.perAppend;
    let cursor = 0;
    const worker = async () => {
      while (cursor < entities.length && written < options.events) {
        const entity = entities[cursor++]!;
        const events: DomainEvent[] = [];
        for (let s = round; s < round + options.perAppend; s++) {
          for (let attempt = 0; attempt < 5; attempt++) {
            const decided = entity.decider.decide(entity.next(s, attempt), entity.state);
            if (decided instanceof DomainError || decided.length === 0) continue;
            for (const event of decided) entity.state = entity.decider.evolve(entity.state, event);
            events.push(...decided);
            break;
          }
        }
        if (events.length === 0) continue;
        const data = await codec.encode(entity.streamId, events);
        const stored: NewEvent[] = events.map((event, index) => ({
          eventId: randomUUID(),
          type: event.type,
          data: data[index]!,
          metadata: { actor: secretariat, correlationId: randomUUID() },
          visibility: event.visibility,
        }));
        await store.append(entity.streamId, stored, { expectedVersion: entity.version });
        entity.version += stored.length;
        written += stored.length;
        progress(written);
      }
    };
    await Promise.all(Array.from({ length: options.concurrency }, worker));
  }
  return written;
}

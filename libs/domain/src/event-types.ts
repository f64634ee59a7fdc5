import type { ContactPointEvent } from './contact-point/contact-point.js';
import type { LiaisonOrganisationEvent } from './liaison-organisation/liaison-organisation.js';
import type { MeetingRequestEvent } from './meeting-request/meeting-request.js';
import type { PlenaryMeetingEvent } from './plenary-meeting/plenary-meeting.js';
import type { StateEvent } from './state/state.js';
import type { ThreadEvent } from './thread/thread.js';

export type FocalEvent =
  | StateEvent
  | ContactPointEvent
  | LiaisonOrganisationEvent
  | MeetingRequestEvent
  | ThreadEvent
  | PlenaryMeetingEvent;

/**
 * Every event type on the wire with its current schema version. The strings are the contract: never derive
 * them from class names. Raise a version only together with an upcaster in libs/events.
 */
export const EVENT_SCHEMA_VERSIONS = {
  StateAdmitted: 1,
  StateStatusChanged: 1,
  ContactPointRegistered: 1,
  ContactPointDetailsChanged: 1,
  ContactPointDesignatedPrimary: 1,
  ContactPointRetired: 1,
  ContactPointReinstated: 1,
  ContactPointConfirmed: 1,
  ContactPointPersonalDataErased: 1,
  LiaisonOrganisationRegistered: 1,
  LiaisonOrganisationDetailsChanged: 1,
  LiaisonOrganisationSuspended: 1,
  LiaisonOrganisationReinstated: 1,
  AdHocMeetingRequested: 1,
  AdHocMeetingCoSponsored: 1,
  AdHocMeetingAccepted: 1,
  AdHocMeetingDeclined: 1,
  AdHocMeetingWithdrawn: 1,
  AdHocMeetingCancelled: 1,
  AdHocMeetingConcluded: 1,
  ThreadOpened: 1,
  MessagePosted: 1,
  MessageDelivered: 1,
  MessageRead: 1,
  PlenaryMeetingConvened: 1,
  PlenaryAgendaItemAdded: 1,
  PlenaryDelegateRegistered: 1,
  PlenaryDelegateWithdrawn: 1,
  PlenaryAttendanceRecorded: 1,
  PlenaryConclusionsPublished: 1,
  PlenaryMeetingCancelled: 1,
} as const satisfies Record<FocalEvent['type'], number>;

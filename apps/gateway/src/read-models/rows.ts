import type {
  Confidentiality,
  ParticipantKind,
  ParticipantRef,
  PersonalData,
  Session,
  StatusEntry,
  ThreadVisibility,
  Visibility,
} from '@focal/domain';

/*
 * The read models' rows, as stored and as read: what the projections write and the queries return, apart from
 * both so that neither imports the other.
 */

/** A state as stored: its whole status history; which status holds is asked of the domain on the day. */
export interface StateRow {
  code: string;
  name: string;
  history: StatusEntry[];
  version: number;
}
export interface OrganisationRow {
  id: string;
  name: string;
  acronym: string;
  kind: string;
  suspended: boolean;
  version: number;
}
/** A contact point as stored: its personal data only sealed with its own key (see personal-data.ts). */
export interface ContactPointRow {
  id: string;
  state: string | null;
  organisation: string | null;
  /** Sealed; null once erased. */
  personal: string | null;
  erased_on: string | null;
  role: string;
  authority: string;
  languages: string[];
  expertise: string[];
  status: string;
  last_confirmed_on: string;
  version: number;
  position: string;
}
/** A contact point with its personal data opened, or null once erased (also before the row knows it). */
export type ContactPointEntry = Omit<ContactPointRow, 'personal'> & {
  personal: Partial<PersonalData> | null;
};

/** A contact point as listed: whether it is its state's primary comes from the primaries the domain folds. */
export type ListedContactPoint = ContactPointEntry & { is_primary: boolean };

export interface MeetingRequestRow {
  id: string;
  requested_by: string;
  co_sponsors: string[];
  subject_kind: string;
  title: string;
  summary: string;
  confidentiality: Confidentiality;
  proposed_dates: string[];
  invited_states: string[];
  invited_organisations: string[];
  status: string;
  scheduled_for: string | null;
  venue: string | null;
  outcome: string | null;
  visibility: Visibility;
  version: number;
}
export interface ThreadRow {
  id: string;
  subject: string;
  visibility: ThreadVisibility;
  participants: ParticipantRef[];
  opened_by: ParticipantRef;
  reply_by: Date | null;
  answered: boolean;
  last_activity: Date;
  version: number;
}
export interface MessageRow {
  message_id: string;
  author: string;
  body: string;
  handling_code: string;
  handling_note: string | null;
  attachments: unknown;
  posted_at: Date;
  delivered_to: string[];
  read_by: string[];
}
export interface PlenaryMeetingRow {
  id: string;
  number: number;
  title: string;
  theme: string;
  starts_on: string;
  ends_on: string;
  venue: string;
  presidency: string;
  status: string;
  cancel_reason: string | null;
  conclusions: string | null;
  topics: string[];
  version: number;
}
export interface PlenaryAgendaItemRow {
  meeting_id: string;
  item_id: string;
  seq: number;
  session: Session;
  title: string;
  summary: string | null;
}
export interface PlenaryDelegateRow {
  meeting_id: string;
  delegate_id: string;
  seq: number;
  session: Session;
  participant: ParticipantRef;
  kind: ParticipantKind;
  country: string | null;
  contact_point_id: string | null;
  /** A liaison organisation's or guest state's delegate's; null for a state's (its contact point's, sealed). */
  name: string | null;
  withdrawn: boolean;
  attended: boolean;
}

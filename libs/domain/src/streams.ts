/**
 * Every aggregate's stream is `<category>-<id>`: the categories, once, for every writer and reader of the log.
 */
export const STREAM_CATEGORIES = [
  'state',
  'contact-point',
  'liaison-organisation',
  'meeting-request',
  'thread',
  'plenary-meeting',
] as const;
export type StreamCategory = (typeof STREAM_CATEGORIES)[number];

/** The prefix of a category's streams, as store filters take it: `contact-point-`. */
export const streamPrefix = (category: StreamCategory) => `${category}-` as const;

export const streamIdOf = (category: StreamCategory, id: string) => `${category}-${id}`;

// Longest first, so that no category is taken for the prefix of another.
const BY_LENGTH = [...STREAM_CATEGORIES].sort((a, b) => b.length - a.length);

/** The category and the aggregate's id of a stream, or undefined for a stream that is no aggregate's. */
export function parseStreamId(streamId: string): { category: StreamCategory; id: string } | undefined {
  const category = BY_LENGTH.find((candidate) => streamId.startsWith(`${candidate}-`));
  return category && { category, id: streamId.slice(category.length + 1) };
}

/**
 * Streams whose events differ in visibility, so that their versions count closed events too and are shown only
 * to those who may see closed events: a plenary meeting's open and closed sessions share one stream; a contact
 * point's changes of closed fields alone (e-mail, phone, notes) are closed events in its stream, and a gap in
 * its versions would tell who may not see them that one happened, and when.
 */
export const versionsCountClosedEvents = (streamId: string) => {
  const category = parseStreamId(streamId)?.category;
  return category === 'plenary-meeting' || category === 'contact-point';
};

import { CONTACT_POINT_PERSONAL_FIELDS } from '@focal/contracts';
import { maySee, maySeeField, type Actor, type Visibility } from '@focal/domain';
import { PersonalDataCodec, type JsonObject, type KeyStore, type RecordedEvent } from '@focal/events';

const CLOSED_FIELDS = ['email', 'phone', 'notes'] as const;

/**
 * What a subscriber receives for an event: the client-shaped payload as an SSE frame, or nothing when the
 * viewer may not see the event. Personal fields are decrypted (erased ones read as erased) and closed fields
 * dropped for those who may not see them. Frames are built once per event and audience and shared by all
 * subscribers of that audience.
 */
export class UpdateFrames {
  private readonly codec: PersonalDataCodec;
  private readonly cache = new WeakMap<RecordedEvent, Promise<{ full: string; openFields: string }>>();

  constructor(private readonly keys: KeyStore) {
    this.codec = new PersonalDataCodec(keys, CONTACT_POINT_PERSONAL_FIELDS);
  }

  async frameFor(event: RecordedEvent, viewer: Actor): Promise<string | undefined> {
    // The store carries the visibility the domain decided, in the domain's own shape.
    if (!maySee(viewer, event.visibility as Visibility)) return undefined;
    let frames = this.cache.get(event);
    if (!frames) {
      frames = this.build(event);
      this.cache.set(event, frames);
    }
    const built = await frames;
    return maySeeField(viewer, 'email') ? built.full : built.openFields;
  }

  private async build(event: RecordedEvent): Promise<{ full: string; openFields: string }> {
    const field =
      CONTACT_POINT_PERSONAL_FIELDS.fields[event.type as keyof typeof CONTACT_POINT_PERSONAL_FIELDS.fields];
    let data: JsonObject = event.data;
    let withoutClosed: JsonObject = event.data;
    if (field) {
      const subject = CONTACT_POINT_PERSONAL_FIELDS.subjectOf(event.streamId);
      data = this.codec.decodeData(event, subject ? await this.keys.find(subject) : undefined);
      const personal = { ...((data[field] ?? {}) as JsonObject) };
      for (const closed of CLOSED_FIELDS) delete personal[closed];
      withoutClosed = { ...data, [field]: personal };
    }
    const frame = (payload: JsonObject) =>
      `id: ${event.globalPosition}\nevent: ${event.type}\ndata: ${JSON.stringify({
        position: event.globalPosition,
        type: event.type,
        streamId: event.streamId,
        streamVersion: event.streamVersion,
        recordedAt: event.recordedAt.toISOString(),
        data: payload,
      })}\n\n`;
    return { full: frame(data), openFields: frame(withoutClosed) };
  }
}

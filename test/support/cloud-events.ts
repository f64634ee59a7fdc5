import type { JsonObject } from '@focal/events';
import { HTTP, type CloudEventV1 } from 'cloudevents';

/**
 * One CloudEvent from an HTTP message, as the `cloudevents` SDK reads it (it validates the attributes):
 * a webhook delivery with its own headers, or an SSE frame's data, which is the same structured JSON.
 */
export function parseCloudEvent(
  body: string,
  headers: Record<string, string | string[] | undefined> = {
    'content-type': 'application/cloudevents+json; charset=utf-8',
  },
): CloudEventV1<JsonObject> {
  const parsed = HTTP.toEvent<JsonObject>({ headers, body });
  if (Array.isArray(parsed))
    throw new Error(`a batch of ${parsed.length} CloudEvents, where one was expected`);
  return parsed;
}

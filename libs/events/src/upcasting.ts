import { UpcastError } from './errors.js';
import type { JsonObject, RecordedEvent } from './envelope.js';

/** Lifts one event type's data from `fromSchemaVersion` to `fromSchemaVersion + 1`. */
export interface Upcaster {
  type: string;
  fromSchemaVersion: number;
  upcast(data: JsonObject): JsonObject;
}

/**
 * The schema versions of event types and the chains that lift old events to the current version.
 * A type's current version is one past its newest upcaster (1 when it has none). Every read path of
 * every adapter passes events through `upcast`, so consumers only ever see current schemas.
 */
export class EventSchemas {
  private readonly chains = new Map<string, Map<number, Upcaster>>();

  constructor(upcasters: readonly Upcaster[] = []) {
    for (const upcaster of upcasters) {
      if (!Number.isInteger(upcaster.fromSchemaVersion) || upcaster.fromSchemaVersion < 1) {
        throw new UpcastError(
          `upcaster for ${upcaster.type} starts at schema version ${upcaster.fromSchemaVersion}; versions start at 1`,
        );
      }
      const chain = this.chains.get(upcaster.type) ?? new Map<number, Upcaster>();
      if (chain.has(upcaster.fromSchemaVersion)) {
        throw new UpcastError(
          `two upcasters for ${upcaster.type} from schema version ${upcaster.fromSchemaVersion}; keep one`,
        );
      }
      chain.set(upcaster.fromSchemaVersion, upcaster);
      this.chains.set(upcaster.type, chain);
    }
    for (const [type, chain] of this.chains) {
      const newest = this.currentVersion(type) - 1;
      for (let version = 1; version <= newest; version++) {
        if (!chain.has(version)) {
          throw new UpcastError(
            `${type} has upcasters up to schema version ${newest} but none from ${version}; the chain must be complete`,
          );
        }
      }
    }
  }

  currentVersion(type: string): number {
    const chain = this.chains.get(type);
    return chain ? Math.max(...chain.keys()) + 1 : 1;
  }

  /** Returns the event with its data lifted to the current schema version of its type. */
  upcast<E extends RecordedEvent>(event: E): E {
    const current = this.currentVersion(event.type);
    if (event.schemaVersion >= current) return event;
    const chain = this.chains.get(event.type)!;
    let data = event.data;
    for (let version = event.schemaVersion; version < current; version++) {
      data = chain.get(version)!.upcast(data);
    }
    return { ...event, data, schemaVersion: current };
  }
}

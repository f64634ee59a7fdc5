import { chainHash } from '../src/index.js';
import type { Tampering } from './contract.js';

type Query = (text: string, params?: unknown[]) => Promise<unknown[]>;

/** Rewrites stored rows behind the store's back, as an intruder with database access could. */
export function sqlTampering(query: Query): Tampering {
  return {
    truncateAfter: async (position) => {
      // A careful intruder: the stream heads are moved back too, so the hash chains end where the log now ends.
      await query('DELETE FROM focal_events WHERE position > $1', [position]);
      await query(
        'DELETE FROM focal_streams s WHERE NOT EXISTS (SELECT 1 FROM focal_events e WHERE e.stream_id = s.stream_id)',
      );
      await query(
        `UPDATE focal_streams s SET version = e.stream_version, last_hash = e.hash
           FROM (SELECT DISTINCT ON (stream_id) stream_id, stream_version, hash FROM focal_events
                  ORDER BY stream_id, stream_version DESC) e
          WHERE e.stream_id = s.stream_id`,
      );
    },
    rewriteEvent: async (eventId) => {
      await query(`UPDATE focal_events SET data = data || '{"rewritten": true}' WHERE event_id = $1`, [
        eventId,
      ]);
      // ... and its stream's hash chain redone from the start, as an intruder who knows the scheme would.
      const rows = (await query(
        `SELECT event_id::text AS "eventId", type, schema_version AS "schemaVersion", stream_id AS "streamId",
                stream_version::int AS "streamVersion",
                to_char(recorded_at AT TIME ZONE 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS.MS"Z"') AS "recordedAt",
                visibility::text AS visibility, data::text AS data, metadata::text AS metadata
           FROM focal_events
          WHERE stream_id = (SELECT stream_id FROM focal_events WHERE event_id = $1)
          ORDER BY stream_version`,
        [eventId],
      )) as Parameters<typeof chainHash>[1][];
      let previous = '';
      for (const row of rows) {
        const hash = chainHash(previous, row);
        await query(
          `UPDATE focal_events SET previous_hash = decode($2, 'hex'), hash = decode($3, 'hex') WHERE event_id = $1`,
          [row.eventId, previous, hash],
        );
        previous = hash;
      }
      await query(`UPDATE focal_streams SET last_hash = decode($2, 'hex') WHERE stream_id = $1`, [
        rows[0]!.streamId,
        previous,
      ]);
    },
    changeData: async (eventId) => {
      await query(`UPDATE focal_events SET data = data || '{"tampered": true}' WHERE event_id = $1`, [
        eventId,
      ]);
    },
    deleteEvent: async (eventId) => {
      await query('DELETE FROM focal_events WHERE event_id = $1', [eventId]);
    },
    swapPlaces: async (first, second) => {
      // Exchange positions and versions, so each event stands where the other stood.
      await query(
        `WITH pair AS (
           SELECT a.event_id AS id, b.position AS position, b.stream_version AS stream_version
             FROM focal_events a JOIN focal_events b ON a.event_id = $1 AND b.event_id = $2
           UNION ALL
           SELECT b.event_id, a.position, a.stream_version
             FROM focal_events a JOIN focal_events b ON a.event_id = $1 AND b.event_id = $2)
         UPDATE focal_events e SET position = -pair.position, stream_version = -pair.stream_version
           FROM pair WHERE e.event_id = pair.id`,
        [first, second],
      );
      await query(
        `UPDATE focal_events SET position = -position, stream_version = -stream_version
          WHERE event_id IN ($1, $2)`,
        [first, second],
      );
    },
  };
}

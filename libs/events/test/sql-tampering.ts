import type { Tampering } from './contract.js';

type Query = (text: string, params?: unknown[]) => Promise<unknown[]>;

/** Rewrites stored rows behind the store's back, as an intruder with database access could. */
export function sqlTampering(query: Query): Tampering {
  return {
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

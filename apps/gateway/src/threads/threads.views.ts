import type { MessageRow, ThreadRow } from '../read-models/rows.js';

export const messageView = (row: MessageRow) => ({
  id: row.message_id,
  author: row.author,
  body: row.body,
  handlingCode: row.handling_code,
  ...(row.handling_note ? { handlingNote: row.handling_note } : {}),
  attachments: row.attachments,
  postedAt: row.posted_at,
  deliveredTo: row.delivered_to,
  readBy: row.read_by,
});

export const threadView = (row: ThreadRow & { overdue?: boolean; unread?: number }) => ({
  id: row.id,
  subject: row.subject,
  visibility: row.visibility,
  participants: row.participants,
  openedBy: row.opened_by,
  ...(row.reply_by ? { urgent: true, replyBy: row.reply_by } : { urgent: false }),
  answered: row.answered,
  ...(row.overdue !== undefined ? { overdue: row.overdue } : {}),
  ...(row.unread !== undefined ? { unread: row.unread } : {}),
  lastActivity: row.last_activity,
  version: row.version,
});

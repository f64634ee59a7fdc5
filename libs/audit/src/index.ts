export {
  AuditRefusedError,
  AuditTrail,
  auditLine,
  auditReadStream,
  recordAuditRead,
  type AuditEventsQuery,
  type AuditLine,
} from './audit-trail.js';
export {
  CHECKPOINT_SIGNER_VARS,
  checkpointSignerOf,
  loadCheckpointSigner,
  type CheckpointSettings,
} from './checkpoint.config.js';
export {
  DIRECTORY_PREFIXES,
  DirectoryReplay,
  directoryFieldsOf,
  type DirectoryAsOf,
} from './directory-replay.js';
export { DirectorySnapshots } from './directory-snapshots.js';
export { diff, history, type FieldChange } from './history.js';

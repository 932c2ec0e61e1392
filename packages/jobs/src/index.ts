// The job lifecycle: durable records and event logs (JobStore), live delivery to the process
// that answers the client (JobEventSubscriber), and stored Responses API objects (ResponseStore).
export { TERMINAL, newJobId } from './types.ts';
export type { JobErrorBody, JobEvent, JobRecord, JobStatus, StoredJobEvent } from './types.ts';
export { JobRecordMissingError, JobStore, type AppendOutcome, type JobStoreOptions } from './job-store.ts';
export {
  JobEventSubscriber,
  compareStreamIds,
  parseEventMessage,
  type JobEventSubscriberOptions,
} from './event-subscriber.ts';
export { ResponseStore } from './response-store.ts';
export type { StoredResponse, ResponseStoreOptions } from './response-store.ts';

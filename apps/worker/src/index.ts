export { loadWorkerConfig, type WorkerConfig } from './config.ts';
export { buildWorker, type MailwardenWorker, type StopResult, type WorkerDeps } from './worker.ts';

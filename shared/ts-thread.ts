import { Worker, type Transferable } from 'node:worker_threads';

/**
 * Starts a worker thread running a TypeScript module, with `workerData` (and what `transferList`
 * moves to it). sluice runs its TypeScript through tsx, and a worker thread does not inherit the
 * loader, so the thread first registers tsx and then imports `entry`.
 */
export function startTsThread(entry: URL, workerData?: unknown, transferList?: readonly Transferable[]): Worker {
  const tsx = import.meta.resolve('tsx/esm/api');
  return new Worker(`import(${JSON.stringify(tsx)}).then((tsx) => { tsx.register(); return import(${JSON.stringify(entry.href)}); })`, {
    eval: true,
    workerData,
    ...(transferList ? { transferList: [...transferList] } : {}),
  });
}

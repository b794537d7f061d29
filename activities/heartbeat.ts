import { Context } from '@temporalio/activity';

/**
 * Heartbeats for long activities: the latest progress is sent at once when the stage changes or a
 * second has passed since the last beat (the CLI's training bar follows them), and again every few
 * seconds while a single long DuckDB statement, transfer or training thread runs, so a worker that
 * is alive is never timed out and one that died is noticed within the heartbeat timeout.
 */
export interface Progress extends Disposable {
  report(details: Record<string, unknown>): void;
}

const PROGRESS_EVERY_MS = 1000;

export function startProgress(activity: string, everyMs = 5_000): Progress {
  const context = Context.current();
  // At least three beats per heartbeat timeout: with a timeout as short as the interval, one late
  // timer on a busy machine would time out a live activity.
  const timeoutMs = context.info.heartbeatTimeoutMs;
  if (timeoutMs) everyMs = Math.min(everyMs, Math.max(250, Math.floor(timeoutMs / 3)));
  let latest: Record<string, unknown> = { activity };
  let lastBeatAt = 0;
  const beat = () => {
    lastBeatAt = Date.now();
    context.heartbeat(latest);
  };
  const timer = setInterval(beat, everyMs);
  timer.unref();
  beat();
  return {
    report(details) {
      const stageChanged = details.stage !== latest.stage;
      latest = { activity, ...details };
      if (stageChanged || Date.now() - lastBeatAt >= PROGRESS_EVERY_MS) beat();
    },
    [Symbol.dispose]() {
      clearInterval(timer);
    },
  };
}

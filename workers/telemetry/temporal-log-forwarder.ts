import type { LogLevel, LogMetadata, Logger as TemporalLogger } from '@temporalio/common';
import type { Logger } from '../../shared/logger.ts';

const LEVEL: Record<LogLevel, 'debug' | 'info' | 'warn' | 'error'> = { TRACE: 'debug', DEBUG: 'debug', INFO: 'info', WARN: 'warn', ERROR: 'error' };

/** Errors as JSON can hold them: JSON.stringify of an Error is `{}`, which would drop the one thing worth reading. */
function plain(value: unknown): unknown {
  if (value instanceof Error) return { name: value.name, message: value.message, ...(value.cause !== undefined ? { cause: plain(value.cause) } : {}) };
  return value;
}

/**
 * The Temporal SDK's logger for a worker process, writing through sluice's JSON logger: the SDK's own
 * messages, workflow and activity `log` calls, and (with forwarding on) Temporal core's Rust logs all
 * come out as one JSON line each, with the same fields as the rest of the process's logs.
 */
export class TemporalLogForwarder implements TemporalLogger {
  constructor(private readonly sink: Logger) {}

  log(level: LogLevel, message: string, meta: LogMetadata = {}): void {
    const fields: Record<string, unknown> = {};
    for (const [k, v] of Object.entries(meta)) fields[k] = plain(v);
    this.sink[LEVEL[level]](message, fields);
  }
  trace(message: string, meta?: LogMetadata): void {
    this.log('TRACE', message, meta);
  }
  debug(message: string, meta?: LogMetadata): void {
    this.log('DEBUG', message, meta);
  }
  info(message: string, meta?: LogMetadata): void {
    this.log('INFO', message, meta);
  }
  warn(message: string, meta?: LogMetadata): void {
    this.log('WARN', message, meta);
  }
  error(message: string, meta?: LogMetadata): void {
    this.log('ERROR', message, meta);
  }
}

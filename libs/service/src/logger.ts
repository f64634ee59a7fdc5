import { ConsoleLogger, type LogLevel } from '@nestjs/common';

/** One JSON object per line on stdout/stderr, with the service's name as context. */
export function jsonLogger(service: string, logLevels?: LogLevel[]): ConsoleLogger {
  return new ConsoleLogger(service, { json: true, ...(logLevels ? { logLevels } : {}) });
}

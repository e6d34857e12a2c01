// Structured JSON logs (pino) tagged with the node's role and id. Never log secrets.
import { type Logger, pino } from 'pino';

export type { Logger };

export function createLogger(
  role: string,
  id: string,
  level = process.env.PROSEC_LOG_LEVEL ?? 'info',
): Logger {
  return pino({
    level,
    base: { role, id, pid: process.pid },
    timestamp: pino.stdTimeFunctions.isoTime,
    redact: {
      paths: ['*.token', '*.privateKeyPem', '*.keyPem', 'token', 'privateKeyPem', 'keyPem'],
      censor: '[secret]',
    },
  });
}

/** The OCI runtime's own words: its error messages, from its log or its output. */
import { readFileSync } from 'node:fs';
import { isErrnoException } from '../errors.js';

/**
 * The last error message in a runtime log: runc and crun write JSON lines
 * `{"level":"error","msg":"..."}` with `--log-format json`; anything else is
 * taken as plain text.
 */
export function lastRuntimeError(text: string): string | undefined {
  let lastError: string | undefined;
  let lastPlain: string | undefined;
  for (const line of text.split('\n')) {
    const trimmed = line.trim();
    if (trimmed === '') continue;
    if (trimmed.startsWith('{')) {
      try {
        const entry = JSON.parse(trimmed) as { level?: string; msg?: string };
        if (entry.level === 'error' || entry.level === 'fatal') lastError = entry.msg ?? lastError;
        continue;
      } catch {
        // Not JSON after all: fall through to plain text.
      }
    }
    lastPlain = trimmed;
  }
  return lastError ?? lastPlain;
}

/** The runtime's last error message from a log file, if it wrote one. */
export function lastRuntimeErrorInFile(path: string): string | undefined {
  try {
    return lastRuntimeError(readFileSync(path, 'utf8'));
  } catch (err) {
    if (isErrnoException(err, 'ENOENT')) return undefined;
    throw err;
  }
}

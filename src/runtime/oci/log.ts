/** The OCI runtime's own words: its error messages, from its log or its output. */
import { readFileSync } from 'node:fs';
import { isErrnoException } from '../errors.js';

/**
 * At most this many characters of a runtime's words reach an error message:
 * a runtime (or a wrapper script) may print pages before it fails, and the
 * cause is at the end.
 */
export const RUNTIME_WORDS_MAX = 1000;
/** Joins the lines kept of plain text: an error message is one line. */
const LINE_SEPARATOR = '; ';

/**
 * The runtime's error message in a log or its output: runc and crun write
 * JSON lines `{"level":"error","msg":"..."}` with `--log-format json`, and the
 * last error (or fatal) one is its message; anything else is taken as plain
 * text, of which the last lines are kept. Bounded by RUNTIME_WORDS_MAX.
 */
export function lastRuntimeError(text: string): string | undefined {
  let lastError: string | undefined;
  const plain: string[] = [];
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
    plain.push(trimmed);
  }
  if (lastError !== undefined) return lastLines([lastError.trim()]);
  return lastLines(plain);
}

/** The last lines that fit in RUNTIME_WORDS_MAX; a cut is marked with an ellipsis. */
function lastLines(lines: readonly string[]): string | undefined {
  if (lines.length === 0) return undefined;
  const last = lines[lines.length - 1]!;
  if (last.length > RUNTIME_WORDS_MAX) return `…${last.slice(-(RUNTIME_WORDS_MAX - 1))}`;
  let kept = last;
  let i = lines.length - 2;
  for (; i >= 0; i--) {
    const joined = `${lines[i]}${LINE_SEPARATOR}${kept}`;
    if (joined.length > RUNTIME_WORDS_MAX - 1) break;
    kept = joined;
  }
  return i >= 0 ? `…${kept}` : kept;
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

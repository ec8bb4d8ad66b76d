import { InvalidIdError } from './errors.js';

/** Ids become path components and runtime arguments: no `/`, no leading `.` or `-`, bounded. */
const ID_PATTERN = /^[A-Za-z0-9][A-Za-z0-9_.+-]{0,63}$/;

export function validateId(kind: string, id: unknown): string {
  if (typeof id !== 'string' || !ID_PATTERN.test(id)) {
    const shown = typeof id === 'string' ? JSON.stringify(id.slice(0, 80)) : typeof id;
    throw new InvalidIdError(
      `invalid ${kind} ${shown}: must match ${ID_PATTERN.source} (letters, digits, _ . + -, at most 64)`,
    );
  }
  return id;
}

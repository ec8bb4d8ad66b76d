/**
 * JSON for OCI configs and process records with every integer exact: a
 * config may hold uint64 values (an rlimit of 18446744073709551615 is
 * RLIM_INFINITY) that a double would round, and the runtime then refuses.
 * Integers beyond 2^53 come back as bigint and are written back digit for digit.
 */
import { parse, stringify } from 'lossless-json';

function parseNumber(text: string): number | bigint {
  const value = Number(text);
  if (Number.isSafeInteger(value) || !/^-?\d+$/.test(text)) return value;
  return BigInt(text);
}

export function parseExactJson(text: string): unknown {
  return parse(text, null, parseNumber);
}

export function stringifyExactJson(value: unknown): string {
  const text = stringify(value);
  if (text === undefined) throw new TypeError('value has no JSON form');
  return text;
}

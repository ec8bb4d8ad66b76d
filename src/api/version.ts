/** berth's version as GetServerVersion reports it: package.json's, split. */
import { readFileSync } from 'node:fs';
import type { GetServerVersionResponse } from './generated/berth.js';

/** What GetServerVersion's `revision` says: berth builds carry no git commit. */
export const REVISION = 'berth';

/** "1.2.3" (or "1.2.3-rc.1") → major/minor/patch; anything else → zeros. */
export function parseVersion(version: string, revision = REVISION): GetServerVersionResponse {
  const match = /^(\d+)\.(\d+)\.(\d+)/.exec(version);
  return {
    major: Number(match?.[1] ?? 0),
    minor: Number(match?.[2] ?? 0),
    patch: Number(match?.[3] ?? 0),
    revision,
  };
}

let cached: string | undefined;

/** package.json's version (from dist/src/api/ or src/api/, both three or two levels below it). */
export function packageVersion(): string {
  if (cached !== undefined) return cached;
  for (const relative of ['../../../package.json', '../../package.json']) {
    try {
      const pkg = JSON.parse(readFileSync(new URL(relative, import.meta.url), 'utf8')) as {
        name?: string;
        version?: string;
      };
      if (pkg.name === 'berth' && typeof pkg.version === 'string') return (cached = pkg.version);
    } catch {
      // Not there: try the next.
    }
  }
  return (cached = '0.0.0');
}

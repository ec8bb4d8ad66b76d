/** Runs the reference CRI client, crictl (v1.26), against a socket. */
import { execFile } from 'node:child_process';
import { accessSync, constants } from 'node:fs';
import { delimiter, join } from 'node:path';
import { fileURLToPath } from 'node:url';

/** Where crictl is: $CRICTL, then PATH, then the shared tools folder beside the project root (as CI has it). */
export function findCrictl(): string | undefined {
  const candidates = [
    process.env.CRICTL,
    ...(process.env.PATH ?? '').split(delimiter).map((dir) => join(dir, 'crictl')),
    // dist/test/helpers/crictl.js → <project>/../shared/tools/crictl
    fileURLToPath(new URL('../../../../shared/tools/crictl', import.meta.url)),
    '/work/shared/tools/crictl',
  ];
  for (const candidate of candidates) {
    if (!candidate) continue;
    try {
      accessSync(candidate, constants.X_OK);
      return candidate;
    } catch {
      // Not there: the next one.
    }
  }
  return undefined;
}

export interface CrictlResult {
  status: number;
  stdout: string;
  stderr: string;
}

/** `crictl --runtime-endpoint unix://<socket> ...args`, bounded in time; never throws on a non-zero exit. */
export function crictl(
  binary: string,
  socket: string,
  args: string[],
  input?: string,
): Promise<CrictlResult> {
  return new Promise((resolve, reject) => {
    const child = execFile(
      binary,
      [
        '--config',
        '/dev/null',
        '--runtime-endpoint',
        `unix://${socket}`,
        '--image-endpoint',
        `unix://${socket}`,
        '--timeout',
        '10s',
        ...args,
      ],
      { timeout: 30_000, encoding: 'utf8', maxBuffer: 16 * 1024 * 1024 },
      (err, stdout, stderr) => {
        if (err && typeof err.code !== 'number') return reject(err);
        resolve({ status: typeof err?.code === 'number' ? err.code : 0, stdout, stderr });
      },
    );
    child.stdin?.end(input ?? '');
  });
}

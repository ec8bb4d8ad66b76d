/**
 * The end-to-end demo: one real container on runc through the library, its
 * output streamed here, its exit status printed, everything removed after.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Container } from '../src/index.js';
import { writeBundle } from '../support/busybox.js';

const base = mkdtempSync(join(tmpdir(), 'berth-demo-'));
const bundle = writeBundle(join(base, 'bundle'), {
  args: [
    'sh',
    '-c',
    'echo "hello from $(hostname), pid $$ in its own namespace"; echo "kernel $(uname -r)"; exit 3',
  ],
});

const container = await Container.create({ root: join(base, 'state'), id: 'demo', bundle });
try {
  const started = performance.now();
  const init = await container.start({ stdio: { stdout: 'pipe', stderr: 'pipe' } });
  init.stdout!.pipe(process.stdout);
  init.stderr!.pipe(process.stderr);
  await init.start();
  const status = await init.wait();
  console.log(
    `container ${container.id} exited with status ${status} (${(performance.now() - started).toFixed(1)} ms)`,
  );
} finally {
  await container.delete({ force: true });
  rmSync(base, { recursive: true, force: true });
}

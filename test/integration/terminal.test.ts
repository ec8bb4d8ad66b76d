/** Terminals: a pty through the runtime's console socket, resized through the shim. */
import { after, test } from 'node:test';
import assert from 'node:assert/strict';
import { readUntil, sandbox, type Sandbox } from '../helpers/env.js';

const box: Sandbox = sandbox();
after(() => box.cleanup());

test('a terminal exec process sees a tty, and resize changes what stty size prints', async () => {
  const container = await box.create({ args: ['sleep', '100'] });
  const init = await container.start();
  await init.start();
  const shell = await container.exec(
    'tty',
    {
      args: [
        'sh',
        '-c',
        '[ -t 0 ] && [ -t 1 ] && echo is-a-tty; read go; stty size; read go; stty size',
      ],
      terminal: true,
    },
    { stdio: { stdin: 'pipe', stdout: 'pipe' } },
  );
  const seen = { text: '' };
  await readUntil(shell.stdout!, /is-a-tty/, seen);
  await shell.resize(100, 40);
  shell.stdin!.write('go\n');
  await readUntil(shell.stdout!, /(\d+) (\d+)\r?\n/, seen);
  assert.match(seen.text, /40 100/);
  await shell.resize(132, 50);
  shell.stdin!.write('go\n');
  await readUntil(shell.stdout!, /50 132/, seen);
  assert.equal(await shell.wait(), 0);
  await assert.rejects(shell.resize(80, 24), /exited/);
  await container.delete({ force: true });
});

test('a terminal init process: closeStdin sends end-of-file', async () => {
  const container = await box.create({ args: ['sh', '-c', 'cat; echo after-eof'], terminal: true });
  const init = await container.start({ stdio: { stdin: 'pipe', stdout: 'pipe' } });
  await init.start();
  init.stdin!.write('typed\n');
  const seen = { text: '' };
  await readUntil(init.stdout!, /typed\r\n.*typed/s, seen);
  await init.closeStdin();
  await readUntil(init.stdout!, /after-eof/, seen);
  assert.equal(await init.wait(), 0);
  await container.delete();
});

test('a terminal: closeStdin right after the input delivers all of it before the end-of-file', async () => {
  const container = await box.create({ args: ['sh', '-c', 'stty -echo; wc -l'], terminal: true });
  const init = await container.start({ stdio: { stdin: 'pipe', stdout: 'pipe' } });
  await init.start();
  const seen = { text: '' };
  init.stdout!.setEncoding('utf8').on('data', (chunk: string) => (seen.text += chunk));
  // Past stty -echo, so that the count is all it prints.
  await new Promise((resolve) => setTimeout(resolve, 300));
  const lines = 2000;
  for (let i = 0; i < lines; i++) init.stdin!.write(`line ${i} ${'x'.repeat(40)}\n`);
  // Every byte is in the FIFO, most of it not yet in the terminal: the shim must pass it on first.
  await new Promise<void>((resolve) => init.stdin!.end(resolve));
  await init.closeStdin();
  assert.equal(await init.wait(), 0);
  assert.equal(seen.text.trim(), String(lines));
  await container.delete();
});

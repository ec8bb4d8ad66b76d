#!/usr/bin/env node
/** The `berth` executable: runs the CLI and exits with its status once output is flushed. */
import { runCli } from './program.js';

// A reader that went away (`berth events | head -1`) is no error of ours: stop quietly.
let stdoutClosed = false;
process.stdout.on('error', (err: NodeJS.ErrnoException) => {
  if (err.code !== 'EPIPE') throw err;
  stdoutClosed = true;
});

const status = await runCli(process.argv.slice(2));
const exit = () => process.exit(stdoutClosed ? 0 : status);
process.stdout.write('', () => process.stderr.write('', exit));

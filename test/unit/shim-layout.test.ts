/** The C shim and the TypeScript library agree on every on-disk name and protocol word. */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { UnknownStatus } from '../../src/runtime/constants.js';
import { packageRoot } from '../../src/runtime/shim/binary.js';
import {
  ControlMessage,
  ReadyError,
  ReadyOk,
  ShimEventName,
} from '../../src/runtime/shim/protocol.js';
import * as layout from '../../src/runtime/state/layout.js';

/** Every `#define NAME "text"` or `#define NAME 123` of protocol.h. */
function cDefines(): Map<string, string | number> {
  const text = readFileSync(join(packageRoot, 'shim', 'src', 'protocol.h'), 'utf8');
  const defines = new Map<string, string | number>();
  for (const match of text.matchAll(/^#define\s+(\w+)\s+(?:"([^"]*)"|(\d+))\s*$/gm)) {
    defines.set(match[1]!, match[2] ?? Number(match[3]));
  }
  return defines;
}

const expected: Record<string, string | number> = {
  EXIT_FIFO: layout.ExitFile,
  CONTROL_FIFO: layout.ControlFile,
  EXIT_STATUS_FILE: layout.ExitStatusFile,
  PID_FILE: layout.PidFile,
  START_TIME_FILE: layout.StartTimeFile,
  PROCESS_FILE: layout.ProcessFile,
  RUNTIME_LOG_FILE: layout.RuntimeLogFile,
  SHIM_LOG_FILE: layout.ShimLogFile,
  CONSOLE_SOCKET_FILE: layout.ConsoleSocketFile,
  RUNTIME_DELETED_FILE: layout.RuntimeDeletedFile,
  CRIU_WORK_DIR: layout.CriuWorkDir,
  CONTROL_CLOSE_STDIN: ControlMessage.CloseStdin,
  CONTROL_RESIZE: ControlMessage.Resize,
  CONTROL_DISCARD_OUTPUT: ControlMessage.DiscardOutput,
  EVENT_EXIT: ShimEventName.Exit,
  EVENT_OOM: ShimEventName.Oom,
  EVENT_LOST: ShimEventName.Lost,
  EVENT_DELETED: ShimEventName.Deleted,
  READY_OK: ReadyOk,
  READY_ERROR: ReadyError,
  UNKNOWN_STATUS: UnknownStatus,
};

test('shim/src/protocol.h and the TypeScript constants hold the same values', () => {
  const defines = cDefines();
  assert.deepEqual(Object.fromEntries(defines), expected);
});

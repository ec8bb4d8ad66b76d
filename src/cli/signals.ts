/** Signals by name (`KILL`, `SIGKILL`, `kill`) or number (`9`), as kill(1) takes them. */
import { constants } from 'node:os';
import { isSignalNumber, MAX_SIGNAL } from '../supervisor/signal.js';
import { UsageError } from './errors.js';

const SIGNALS = constants.signals as Readonly<Record<string, number>>;

export function parseSignal(value: string): number {
  const text = value.trim();
  if (/^\d+$/.test(text)) {
    const number = Number(text);
    if (isSignalNumber(number)) return number;
    throw new UsageError(`signal ${text} is out of range (1-${MAX_SIGNAL})`);
  }
  const upper = text.toUpperCase();
  const name = upper.startsWith('SIG') ? upper : `SIG${upper}`;
  const rt = /^SIGRTMIN(?:\+(\d+))?$/.exec(name) ?? /^SIGRTMAX(?:-(\d+))?$/.exec(name);
  if (rt) {
    const offset = Number(rt[1] ?? 0);
    // glibc's SIGRTMIN is 34 (two real-time signals are the C library's own).
    const number = name.startsWith('SIGRTMIN') ? 34 + offset : MAX_SIGNAL - offset;
    if (number >= 34 && number <= MAX_SIGNAL) return number;
  }
  const number = SIGNALS[name];
  if (number !== undefined) return number;
  throw new UsageError(
    `unknown signal ${JSON.stringify(value)} (a name like TERM or KILL, or a number)`,
  );
}

/** 9 → "SIGKILL"; a number without a name stays a number. */
export function signalName(number: number): string {
  for (const [name, value] of Object.entries(SIGNALS)) if (value === number) return name;
  return String(number);
}

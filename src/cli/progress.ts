/**
 * Long waits on a terminal: a spinner line on stderr (only when stderr is a
 * terminal, and only once the wait has lasted a moment), and Ctrl-C handling
 * scoped to the wait.
 */
import { signalName } from './signals.js';

const FRAMES = ['⠋', '⠙', '⠹', '⠸', '⠼', '⠴', '⠦', '⠧', '⠇', '⠏'];
/** Waits shorter than this show nothing. */
const SHOW_AFTER_MS = 300;

export interface Progress {
  /** Changes the text (e.g. "2/5 exited"). */
  update(text: string): void;
  /** Clears the line. */
  done(): void;
}

export function progress(text: string, stream: NodeJS.WriteStream = process.stderr): Progress {
  if (!stream.isTTY) return { update() {}, done() {} };
  let frame = 0;
  let current = text;
  let shown = false;
  const draw = () => {
    shown = true;
    const width = Math.max(10, (stream.columns || 80) - 3);
    stream.write(`\r\x1b[K${FRAMES[frame++ % FRAMES.length]} ${current.slice(0, width)}`);
  };
  let interval: NodeJS.Timeout | undefined;
  const delay = setTimeout(() => {
    draw();
    interval = setInterval(draw, 100);
    interval.unref();
  }, SHOW_AFTER_MS);
  delay.unref();
  return {
    update(next) {
      current = next;
      if (shown) draw();
    },
    done() {
      clearTimeout(delay);
      if (interval) clearInterval(interval);
      if (shown) stream.write('\r\x1b[K');
      shown = false;
    },
  };
}

/**
 * Runs `handler` on each SIGINT (and SIGTERM) until the returned undo is
 * called; while it is installed, Node does not exit on those signals.
 */
export function onInterrupt(handler: (signal: NodeJS.Signals) => void): () => void {
  const listener = (signal: NodeJS.Signals) => handler(signal);
  process.on('SIGINT', listener);
  process.on('SIGTERM', listener);
  return () => {
    process.off('SIGINT', listener);
    process.off('SIGTERM', listener);
  };
}

/** An AbortSignal that Ctrl-C aborts, for one wait; `release()` uninstalls the handler. */
export function interruptible(): { signal: AbortSignal; release: () => void } {
  const controller = new AbortController();
  const release = onInterrupt(() => controller.abort());
  return { signal: controller.signal, release };
}

/**
 * Forwards our interrupts to an attached process as attach does: SIGINT or
 * SIGTERM as themselves, the second one said out loud, the third as SIGKILL.
 * Returns the undo.
 */
export function forwardInterrupts(send: (signal: number) => void): () => void {
  let interrupts = 0;
  return onInterrupt((signal) => {
    interrupts++;
    const number = interrupts >= 3 ? 9 : signal === 'SIGTERM' ? 15 : 2;
    if (interrupts === 2)
      process.stderr.write(`\r\nberth: ${signalName(number)} sent; again sends SIGKILL\r\n`);
    send(number);
  });
}

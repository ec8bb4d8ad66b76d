/** `berth containers watch`: containers live, a refreshed table on a terminal, event lines when piped. */
import type { CommandUnknownOpts } from '@commander-js/extra-typings';
import type { Event } from '../../../api/generated/berth.js';
import { printJsonLine, redraw } from '../../output.js';
import { interruptible } from '../../progress.js';
import {
  EVENT_HEADER,
  containerStarts,
  containersTable,
  eventJson,
  eventLine,
} from '../../views.js';
import { act, examples, leaf } from '../common.js';
import { oneContainer } from './lookup.js';

export function watchCommand(): CommandUnknownOpts {
  const command = leaf(
    'watch',
    'follow containers live: a refreshed table on a terminal, event lines when piped',
  )
    .argument('[id]', 'only this container (ends when it exits)')
    .addHelpText(
      'after',
      examples(
        'berth containers watch',
        'berth containers watch web',
        'berth containers watch --json | head',
      ),
    );
  return act(command, async (ctx, [id]) => {
    const client = ctx.client();
    if (id) await oneContainer(client, id);
    const stream = client.events(id ? { id } : {});
    const live = ctx.out.isTTY && !ctx.json;
    const interrupt = interruptible();
    interrupt.signal.addEventListener('abort', () => stream.cancel(), { once: true });
    const recent: Event[] = [];
    let repaint: (() => Promise<void>) | undefined;
    let ticker: NodeJS.Timeout | undefined;
    if (live) {
      let drawing = false;
      let drawn = false;
      repaint = async () => {
        if (drawing) return;
        drawing = true;
        try {
          const { containers } = await client.state();
          const shown = id ? containers.filter((c) => c.id === id) : containers;
          const starts = await containerStarts(client, shown);
          const events = recent.map((e) => eventLine(e)).join('');
          redraw(ctx.out, `${containersTable(shown, starts)}\n${EVENT_HEADER}${events}`, !drawn);
          drawn = true;
        } catch {
          // berthd went away: the event stream says so.
        } finally {
          drawing = false;
        }
      };
      await repaint();
      ticker = setInterval(() => void repaint?.(), 1000);
    } else if (!ctx.json) {
      ctx.out.write(EVENT_HEADER);
    }
    try {
      for await (const event of stream) {
        if (event.type === 'live') continue;
        if (ctx.json) printJsonLine(ctx.out, eventJson(event));
        else if (live) {
          recent.push(event);
          if (recent.length > 10) recent.shift();
          await repaint?.();
        } else ctx.out.write(eventLine(event));
        // Watching one container: its init's exit is the end of it.
        if (id && event.type === 'exit' && event.id === id && event.pid === 'init') break;
      }
    } finally {
      if (ticker) clearInterval(ticker);
      stream.cancel();
      interrupt.release();
    }
    return 0;
  });
}

/**
 * 50 Events subscribers on a real berthd, one deliberately slow (its grpc-js
 * stream paused while thousands of pause/resume events are generated). The
 * 49 others get every event, in the same order; the slow one, once it reads
 * again, gets a prefix of that sequence and then RESOURCE_EXHAUSTED whose
 * `berth-last-timestamp` trailer (and message) names the last event it was
 * given; a new subscription from that timestamp replays the rest without a
 * gap or a repeat.
 * CI: 2000 events; BERTH_LOAD_EVENTS for the soak.
 */
import { after, test } from 'node:test';
import assert from 'node:assert/strict';
import { credentials, status as GrpcStatus, type Metadata } from '@grpc/grpc-js';
import { APIClient } from '../../src/api/generated/berth.js';
import type { Event } from '../../src/api/generated/berth.js';
import { connect, type TestClient } from '../helpers/api-client.js';
import { createRequest, harness, ns, recordEvents, waitFor } from '../helpers/berthd-load.js';

const EVENTS = Number(process.env.BERTH_LOAD_EVENTS ?? 2000);
const SLOW_WINDOW = Number(process.env.BERTH_LOAD_SLOW_WINDOW ?? 1024);
const SUBSCRIBERS = 50;
const CONTAINERS = 4;
const h = harness('load-subs');
after(() => h.cleanup());

const key = (e: Event) => `${e.type}:${e.id}:${e.pid}:${ns(e)}`;
const ts = (n: bigint) => ({ seconds: n / 1_000_000_000n, nanos: Number(n % 1_000_000_000n) });

test(`${SUBSCRIBERS} subscribers, one slow, ${EVENTS} events`, { timeout: 900_000 }, async () => {
  const daemon = await h.start(['--retain-count', String(EVENTS * 2 + 1000)]);
  const control = connect(daemon.address);
  const prefix = `ls${process.pid}c`;
  const ids: string[] = [];
  for (let i = 0; i < CONTAINERS; i++) {
    const id = `${prefix}${i}`;
    await control.createContainer(createRequest(id, h.bundle({ args: ['sleep', '1000'] })));
    ids.push(id);
  }

  const clients: TestClient[] = [];
  let slowRaw: APIClient | undefined;
  const subs: ReturnType<typeof recordEvents>[] = [];
  for (let i = 0; i < SUBSCRIBERS; i++) {
    const client = connect(daemon.address);
    clients.push(client);
    // The slow one on a channel of its own with a small HTTP/2 window, so that
    // the server's bounded buffer fills after fewer events.
    const raw =
      i === 0
        ? new APIClient(daemon.address, credentials.createInsecure(), {
            'grpc-node.flow_control_window': SLOW_WINDOW,
          })
        : client.raw;
    if (i === 0) slowRaw = raw;
    subs.push(recordEvents(raw.events({ timestamp: undefined, storedOnly: false, id: '' })));
  }
  await waitFor(() => subs.every((s) => s.seen.some((e) => e.type === 'live')), 'live markers');
  const slow = subs[0]!;
  let trailer: Metadata | undefined;
  slow.stream.on('status', (s: { metadata: Metadata }) => (trailer = s.metadata));
  slow.stream.pause();
  const fast = subs.slice(1);

  const started = Date.now();
  let made = 0;
  await Promise.all(
    ids.map(async (id) => {
      while (made < EVENTS) {
        await control.updateContainer({ id, pid: '', status: 'paused', resources: undefined });
        await control.updateContainer({ id, pid: '', status: 'running', resources: undefined });
        made += 2;
      }
    }),
  );
  const generated = Date.now() - started;
  await waitFor(
    () => fast.every((s) => s.seen.filter((e) => e.type !== 'live').length >= made),
    'fast subscribers caught up',
    60_000,
  );
  // Every fast subscriber: the same sequence, nothing else, nothing missing.
  const reference = fast[0]!.seen.filter((e) => e.type !== 'live').map(key);
  assert.equal(reference.length, made, 'one event per pause and per resume');
  for (const [i, s] of fast.entries()) {
    assert.equal(s.status, undefined, `fast subscriber ${i} ended: ${JSON.stringify(s.status)}`);
    assert.deepEqual(
      s.seen.filter((e) => e.type !== 'live').map(key),
      reference,
      `subscriber ${i}`,
    );
  }

  // The slow one reads again: a prefix, then RESOURCE_EXHAUSTED naming where it stopped.
  slow.stream.resume();
  await waitFor(() => slow.status !== undefined, 'slow subscriber ended', 60_000);
  const slowSeen = slow.seen.filter((e) => e.type !== 'live');
  assert.equal(slow.status!.code, GrpcStatus.RESOURCE_EXHAUSTED, slow.status!.details);
  const last = trailer?.get('berth-last-timestamp')[0];
  assert.ok(last, 'berth-last-timestamp trailer');
  assert.match(slow.status!.details, new RegExp(String(last)));
  assert.ok(slowSeen.length < made, 'the slow one was cut off before the end');
  assert.deepEqual(slowSeen.map(key), reference.slice(0, slowSeen.length), 'slow: a prefix');
  assert.equal(ns(slowSeen.at(-1)!).toString(), String(last), 'trailer names its last event');

  // Resume from there: the rest, exactly.
  const again = recordEvents(
    clients[0]!.raw.events({ timestamp: ts(BigInt(String(last))), storedOnly: true, id: '' }),
  );
  await waitFor(() => again.status !== undefined, 'replay ended', 30_000);
  assert.equal(again.status!.code, GrpcStatus.OK, again.status!.details);
  const rest = again.seen.filter((e) => e.type !== 'live' && e.id.startsWith(prefix)).map(key);
  assert.deepEqual([...slowSeen.map(key), ...rest], reference, 'no gap, no repeat');

  console.log(
    `# load-subscribers: ${made} events in ${generated} ms (${((made * 1000) / generated).toFixed(0)}/s) to ${SUBSCRIBERS} subscribers; slow one cut off after ${slowSeen.length}, replayed ${rest.length} more`,
  );
  for (const s of subs) s.cancel();
  for (const c of clients) c.close();
  slowRaw?.close();
  for (const id of ids) await control.signal({ id, pid: 'init', signal: 9 });
  await waitFor(async () => (await control.state({ id: '' })).containers.length === 0, 'gone');
  control.close();
});

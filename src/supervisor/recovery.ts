/**
 * Restart recovery: what a supervisor opening a state dir picks back up.
 * Exits decided before a crash are journaled, creates cut short are removed
 * (or adopted, if their shim came up after all), every container that loads
 * is handed back to the supervisor to watch, and converted bundles nobody
 * owns are removed. Nobody was told of a create cut short: it goes without
 * an event.
 */
import { readdirSync } from 'node:fs';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import {
  Container,
  InitProcessID,
  State,
  isErrnoException,
  removeUnrecordedContainers,
  type LoadOptions,
} from '../runtime/index.js';
import { replayPendingExits, type ExitRecord } from './pending-exits.js';
import { SHADOW_BUNDLES_DIR, removeShadowBundle, shadowBundleDir } from './shadow-bundle.js';
import type { SupervisorLogger } from './types.js';

/** How long after a restart a create cut short is looked at again, for a shim still starting. */
const CUT_SHORT_RECHECK_MS = 1000;

/** What recovery needs of the supervisor it runs for. */
export interface RecoveryHost {
  readonly stateDir: string;
  readonly log: SupervisorLogger;
  readonly loadOptions: LoadOptions;
  /** Journals the exits of a pending record that the journal does not have yet. */
  journalExits(id: string, exits: ExitRecord[]): void;
  /** Takes a loaded container into the supervisor's care and watches its processes. */
  adopt(container: Container): void;
  /** Work the supervisor waits for before it is settled. */
  track(work: Promise<void>): void;
  /** Once closed, a late look at a create cut short leaves it alone. */
  isClosed(): boolean;
}

/** No init, or one that never had a PID and is gone: a create cut short before anything ran. */
function cutShort(container: Container): boolean {
  const init = container.process(InitProcessID);
  return !init || (init.systemPid === 0 && init.state() === State.Stopped);
}

/** Picks up the state dir after a restart; the supervisor's state is complete when this resolves. */
export async function recover(host: RecoveryHost): Promise<void> {
  const { stateDir, log } = host;
  replayPendingExits(
    stateDir,
    (id, exits) => host.journalExits(id, exits),
    (id, err) => log.error({ id, err: err.message }, 'unreadable pending exits'),
  );
  // Creates killed before their container was recorded: nobody was told of them.
  for (const id of removeUnrecordedContainers(stateDir))
    log.info({ id }, 'removed a container whose create was cut short before its record');
  const { containers, errors } = await Container.loadAll(stateDir, host.loadOptions);
  for (const { id, error } of errors)
    log.error({ id, err: error.message }, 'container cannot be loaded; left as it is');
  const adopted = new Set<string>();
  for (const container of containers) {
    // No init, or one that never had a PID and is gone: a create cut short before
    // anything ran. Nobody was told of it; it goes without an event.
    if (cutShort(container)) {
      // Its shim may still be starting (launched just before the kill): look again shortly.
      container.close();
      host.track(settleCutShort(host, container.id));
      continue;
    }
    host.adopt(container);
    adopted.add(container.id);
  }
  // Converted bundles of creates cut short before their container was recorded.
  let shadows: string[] = [];
  try {
    shadows = readdirSync(join(stateDir, SHADOW_BUNDLES_DIR));
  } catch (err) {
    if (!isErrnoException(err, 'ENOENT')) throw err;
  }
  for (const id of shadows) if (!adopted.has(id)) removeShadowBundle(shadowBundleDir(stateDir, id));
  log.info({ containers: adopted.size }, 'state dir loaded');
}

/**
 * A create cut short by a kill: adopted if its shim came up after all,
 * else removed. Nobody was told of it, so it goes without an event.
 */
async function settleCutShort(host: RecoveryHost, id: string): Promise<void> {
  await sleep(CUT_SHORT_RECHECK_MS);
  if (host.isClosed()) return;
  const container = await Container.load(host.stateDir, id, host.loadOptions).catch(
    () => undefined,
  );
  if (!container) return;
  if (!cutShort(container)) {
    host.adopt(container);
    host.log.info({ id }, 'adopted a container whose create was cut short');
    return;
  }
  await container.delete({ force: true }).catch(() => {});
  removeShadowBundle(shadowBundleDir(host.stateDir, id));
  host.log.info({ id }, 'removed a container whose create was cut short');
}

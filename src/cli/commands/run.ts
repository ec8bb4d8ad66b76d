/**
 * `berth run`: from nothing to an exit status in one command, like `docker
 * run`: through berthd when one listens at the address, else in this
 * process (daemonless, like podman).
 */
import { existsSync, readFileSync, rmSync } from 'node:fs';
import { join, resolve } from 'node:path';
import type { CommandUnknownOpts } from '@commander-js/extra-typings';
import { createImageBundle, type ImageOverrides } from '../../images/index.js';
import { RootfsFile, isMounted, validateId } from '../../runtime/index.js';
import { terminalSize } from '../attach.js';
import { isListening } from '../client.js';
import { CliError, UsageError } from '../errors.js';
import { imageForRun, openStore, pullPolicy } from '../images.js';
import { runLocal } from '../local.js';
import { printJson } from '../output.js';
import { bytesArg, collect, envArg, positiveNumberArg } from '../parse.js';
import { runAttached } from '../session.js';
import {
  applyOverrides,
  bundleWantsTerminal,
  defaultSpec,
  overridesFromOptions,
  readRelocatedConfig,
  writeConfig,
  type Overrides,
} from '../spec.js';
import { act, examples, leaf, type Action } from './common.js';
import { storeOption } from './images.js';

/**
 * The CLI's own state dir: daemonless containers and generated bundles.
 * `.cli` cannot be a container id (ids start with a letter or digit), so it
 * never collides with a container of berthd's even when berthd's state dir
 * is /run/berth.
 */
export const DEFAULT_STATE_DIR = '/run/berth/.cli';
/** Generated bundles, beside the containers: `.bundles` is not an id either. */
const BUNDLES_DIR = '.bundles';

/** `berth run`'s arguments and options; its action is `run`. */
function runDefinition() {
  return leaf('run', 'run a command in a new container and exit with its status')
    .usage('[options] (IMAGE | --bundle DIR | --rootfs DIR) [--] [CMD [ARGS...]]')
    .argument(
      '[image-and-command...]',
      "an image (pulled when absent), then the container's command (default: the image's Entrypoint + Cmd, the bundle's, or sh)",
    )
    .option(
      '--rootfs <dir>',
      'a root filesystem: the config is made from defaults, as runc spec would',
    )
    .option('--bundle <dir>', 'an OCI bundle (config.json); flags below override its process')
    .option('--name <id>', 'container id (default: run-<random>)')
    .option('--rm', 'also remove the bundle config that --rootfs (or an override) generated')
    .option('-t, --tty', 'give the container a terminal (raw mode here, window size forwarded)')
    .option('-d, --detach', 'start it and print its id (needs berthd)')
    .option(
      '-e, --env <key=value>',
      "an environment variable, or KEY for this one's (repeatable)",
      envArg,
    )
    .option('--cwd <dir>', 'working directory in the container')
    .option('-w, --workdir <dir>', "the same as --cwd (docker run's name)")
    .option(
      '-u, --user <user[:group]>',
      "user (and group) by name in the image's /etc/passwd, or by number",
    )
    .option('--entrypoint <cmd>', "replaces the image's Entrypoint (and drops its Cmd)")
    .option('--pull <policy>', 'pull the image: missing (default), always, never')
    .option(
      '--insecure-registry <host>',
      'reach this registry over plain HTTP (repeatable)',
      collect,
    )
    .option('--hostname <name>', 'hostname (default with --rootfs: the id)')
    .option('--memory <bytes>', 'memory limit: 67108864, 64m, 1g (no swap beyond it)', bytesArg)
    .option('--cpus <n>', 'CPU time limit, in CPUs (0.5 = half of one)', positiveNumberArg)
    .option('-l, --label <key=value>', 'a label (repeatable)', collect)
    .option('-r, --runtime <runtime>', "OCI runtime name or path (default: runc, or berthd's)")
    .option('--runtime-args <arg>', 'an argument for the runtime (repeatable)', collect)
    .option('--no-pivot', 'do not use pivot_root (for a rootfs on a ramdisk)')
    .option(
      '--state-dir <dir>',
      `where daemonless containers and generated bundles live (default ${DEFAULT_STATE_DIR})`,
    )
    .addOption(storeOption())
    .passThroughOptions()
    .addHelpText(
      'after',
      `
Without berthd listening at the address, the container runs in this process
(daemonless) and is gone once it has exited. With berthd, it runs there;
berthd deletes a container when it exits. Ctrl-C is passed on as SIGINT
(a third one sends SIGKILL); with -t, keys go to the container's terminal.
The exit status is the container's (128+N when killed by signal N).
A container from an image lives in the store's containers/<id>/: an overlay
of the image's layers with its own upper dir, removed with the container.
${examples(
  "berth run busybox -- sh -c 'id; echo hello'",
  'berth run -t -u nobody -w /tmp -e FOO=bar alpine:3.20 sh',
  "berth run --rootfs /var/tmp/berth-busybox-rootfs --rm -- sh -c 'echo hello; exit 7'; echo $?",
  'berth run -t --rootfs ./rootfs --rm -- sh',
  'echo data | berth run --bundle ./bundle --memory 64m -- wc -c',
  'berth run -d --name web --bundle /srv/bundles/web        # via berthd',
)}`,
    );
}

type RunOptions = ReturnType<ReturnType<typeof runDefinition>['opts']>;

export function runCommand(): CommandUnknownOpts {
  return act(runDefinition(), run);
}

function generatedId(): string {
  return `run-${Math.random().toString(16).slice(2, 10)}`;
}

interface PreparedBundle {
  dir: string;
  terminal: boolean;
  /** Written by us (removed by --rm), or the user's own. */
  generated: boolean;
  /** A container rootfs folder from an image: removed with its container, or here if none was created. */
  fromImage?: boolean;
}

/** What `run IMAGE` changes of the image's process, docker run's flags. */
function imageOverrides(opts: RunOptions, command: string[], id: string): ImageOverrides {
  const cwd = opts.cwd ?? opts.workdir;
  const size = opts.tty === true ? terminalSize() : undefined;
  return {
    ...(command.length ? { args: command } : {}),
    ...(opts.entrypoint !== undefined ? { entrypoint: [opts.entrypoint] } : {}),
    ...(opts.env?.length ? { env: opts.env } : {}),
    ...(cwd !== undefined ? { cwd } : {}),
    ...(opts.user !== undefined ? { user: opts.user } : {}),
    terminal: opts.tty === true,
    ...(size ? { consoleSize: size } : {}),
    hostname: opts.hostname ?? id,
  };
}

/**
 * `run IMAGE`: the image from the store (pulled first when absent), and
 * its container's folder in the store: bundle, upper/work dirs, overlay
 * mount point. The runtime library mounts it at start and removes it all at
 * delete, here or in berthd.
 */
async function prepareImageBundle(
  ctx: { json: boolean },
  id: string,
  ref: string,
  opts: RunOptions,
  command: string[],
): Promise<PreparedBundle> {
  const store = await openStore(opts);
  const image = await imageForRun(store, ref, {
    policy: pullPolicy(opts.pull),
    json: ctx.json,
    insecureRegistries: opts.insecureRegistry ?? [],
  });
  // Under the store lock: a prune cannot take the layers between the lookup and the record naming them.
  const bundle = await store.withLock(() =>
    createImageBundle(store, { id, image, overrides: imageOverrides(opts, command, id) }),
  );
  if (opts.memory !== undefined || opts.cpus !== undefined) {
    try {
      const limits = overridesFromOptions({ memory: opts.memory, cpus: opts.cpus }, []);
      writeConfig(bundle.path, applyOverrides(readRelocatedConfig(bundle.path), limits));
    } catch (err) {
      rmSync(bundle.path, { recursive: true, force: true });
      throw err;
    }
  }
  return { dir: bundle.path, terminal: opts.tty === true, generated: true, fromImage: true };
}

/**
 * A container folder from an image that no container was created for (the
 * create was refused): nobody else will remove it. One that a container
 * owns goes with the container's delete.
 */
function removeIfUnowned(dir: string): void {
  try {
    const record = JSON.parse(readFileSync(join(dir, RootfsFile), 'utf8')) as { owner?: unknown };
    if (record.owner !== undefined || isMounted(join(dir, 'rootfs'))) return;
  } catch {
    // No record left to say so (the folder is gone, or torn): nothing of a container in it.
    if (!existsSync(dir)) return;
  }
  rmSync(dir, { recursive: true, force: true });
}

function prepareBundle(
  id: string,
  stateDir: string,
  opts: RunOptions,
  command: string[],
): PreparedBundle {
  const overrides: Overrides = overridesFromOptions(opts, command);
  const size = opts.tty === true ? terminalSize() : undefined;
  if (size) overrides.consoleSize = size;
  const dir = join(stateDir, BUNDLES_DIR, id);
  if (opts.rootfs !== undefined) {
    const rootfs = resolve(opts.rootfs);
    if (!existsSync(rootfs))
      throw new CliError(`rootfs ${rootfs} does not exist`, 'ERR_BUNDLE_NOT_FOUND');
    const config = defaultSpec({
      rootfs,
      hostname: id,
      ...overrides,
      terminal: opts.tty === true,
    });
    writeConfig(dir, config);
    return { dir, terminal: opts.tty === true, generated: true };
  }
  // Without --rootfs, run has --bundle: `run` checked it already.
  if (opts.bundle === undefined)
    throw new UsageError('run needs an IMAGE (before --), or --bundle DIR or --rootfs DIR');
  const bundle = resolve(opts.bundle);
  if (opts.tty === true) overrides.terminal = true;
  if (Object.keys(overrides).length === 0)
    return { dir: bundle, terminal: bundleWantsTerminal(bundle), generated: false };
  // The command line changes the process: a copy of the config, pointing at the bundle's rootfs.
  const config = applyOverrides(readRelocatedConfig(bundle), overrides);
  writeConfig(dir, config);
  const proc = config.process as { terminal?: unknown } | undefined;
  return { dir, terminal: proc?.terminal === true, generated: true };
}

/** What follows `--` is the command: `run -- sh` names no image. */
function commandOnly(self: CommandUnknownOpts): boolean {
  let top = self;
  while (top.parent) top = top.parent;
  const raw = top.args;
  const dash = raw.indexOf('--');
  return dash >= 0 && raw.length - dash - 1 === self.args.length;
}

/** `run`'s action: `self` tells whether the arguments followed `--`. */
const run: Action<[string[]], RunOptions> = async (ctx, [given], opts, self) => {
  if (opts.bundle !== undefined && opts.rootfs !== undefined)
    throw new UsageError('run takes one of IMAGE, --bundle DIR or --rootfs DIR');
  const imageRef =
    opts.bundle === undefined && opts.rootfs === undefined && !commandOnly(self)
      ? given[0]
      : undefined;
  if (imageRef === undefined && opts.bundle === undefined && opts.rootfs === undefined)
    throw new UsageError('run needs an IMAGE (before --), or --bundle DIR or --rootfs DIR');
  // `run IMAGE -- CMD`: the `--` after the image comes through as an argument.
  const command = imageRef === undefined ? given : given.slice(given[1] === '--' ? 2 : 1);
  if (opts.detach && opts.rm)
    throw new UsageError('--rm waits for the container to exit: it cannot go with -d');
  const id = validateId('container id', opts.name ?? generatedId());
  const stateDir = resolve(opts.stateDir ?? DEFAULT_STATE_DIR);
  const daemon = await isListening(ctx.address.path);
  if (!daemon && opts.detach)
    throw new CliError(
      `run -d needs berthd, and none listens at ${ctx.address.address} (start berthd, or run without -d)`,
      'ERR_NO_DAEMON',
    );
  const bundle =
    imageRef !== undefined
      ? await prepareImageBundle(ctx, id, imageRef, opts, command)
      : prepareBundle(id, stateDir, opts, command);
  const runtime = opts.runtime ?? '';
  const runtimeArgs = opts.runtimeArgs ?? [];
  const labels = opts.label ?? [];
  const noPivotRoot = opts.pivot === false;
  try {
    if (!daemon) {
      process.stderr.write(
        `berth: no berthd at ${ctx.address.address}: running ${id} in this process (daemonless)\n`,
      );
      return await runLocal({
        stateDir,
        id,
        bundle: bundle.dir,
        terminal: bundle.terminal,
        runtime,
        runtimeArgs,
        labels,
        noPivotRoot,
      });
    }
    const client = ctx.client();
    const request = {
      id,
      bundlePath: bundle.dir,
      labels,
      noPivotRoot,
      runtime,
      runtimeArgs,
    };
    if (opts.detach) {
      const container = await client.createContainer(request);
      if (ctx.json) printJson(ctx.out, container ?? null);
      else ctx.out.write(`${id}\n`);
      return 0;
    }
    return await runAttached({
      client,
      id,
      pid: 'init',
      terminal: bundle.terminal,
      label: `starting ${id}`,
      launch: async (stdio, signal) => {
        await client.createContainer({ ...request, ...stdio }, signal);
      },
    });
  } finally {
    if (bundle.fromImage) removeIfUnowned(bundle.dir);
    else if (opts.rm && bundle.generated) rmSync(bundle.dir, { recursive: true, force: true });
  }
};

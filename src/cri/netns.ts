/**
 * Named network namespaces that outlive the process that made them, as
 * containerd and CRI-O keep a pod's: an empty file under the netns dir with
 * the namespace's nsfs inode bind-mounted on it. Node cannot unshare(2)
 * itself, so a short-lived `unshare --net=<file>` makes the namespace, binds
 * it to the file (util-linux's persistent namespace), and runs
 * `ip link set lo up` inside it before it exits. The file is what runc's
 * `linux.namespaces` `{type: network, path}` and CNI_NETNS name.
 */
import { execFile } from 'node:child_process';
import { mkdir, open, readdir, statfs, unlink } from 'node:fs/promises';
import { join } from 'node:path';
import { isErrnoException, validateId } from '../runtime/index.js';
import { NetnsError, NetnsExistsError } from './network-errors.js';

export const DEFAULT_NETNS_DIR = '/run/berth/netns';
/** statfs(2)'s f_type of a namespace file (linux/magic.h). */
const NSFS_MAGIC = 0x6e736673;
const DEFAULT_HELPER_TIMEOUT_MS = 10_000;
/** More bind mounts stacked on one file than this is not ours to peel. */
const MAX_UNMOUNTS = 8;

export interface NetnsOptions {
  /** Each helper (`unshare`, `umount`) is killed past this. */
  helperTimeoutMs?: number;
}

export class NetnsStore {
  readonly #timeoutMs: number;

  constructor(
    readonly dir: string = DEFAULT_NETNS_DIR,
    options: NetnsOptions = {},
  ) {
    this.#timeoutMs = options.helperTimeoutMs ?? DEFAULT_HELPER_TIMEOUT_MS;
  }

  /** The file of namespace `name` (validated: it becomes a path). */
  path(name: string): string {
    return join(this.dir, validateId('network namespace name', name));
  }

  /** Makes namespace `name` with its loopback up; returns its file. Nothing is left if it fails. */
  async create(name: string, signal?: AbortSignal): Promise<string> {
    const file = this.path(name);
    await mkdir(this.dir, { recursive: true, mode: 0o755 });
    try {
      // Read-only and exclusive, as containerd makes it: the name is claimed before anything is mounted.
      await (await open(file, 'wx', 0o444)).close();
    } catch (err) {
      if (isErrnoException(err, 'EEXIST'))
        throw new NetnsExistsError(`network namespace ${name} exists (${file})`);
      throw err;
    }
    try {
      await this.#run(['unshare', `--net=${file}`, 'ip', 'link', 'set', 'dev', 'lo', 'up'], signal);
      if (!(await isNamespaceFile(file)))
        throw new NetnsError(`unshare left no network namespace on ${file}`);
      return file;
    } catch (err) {
      await this.remove(name).catch(() => undefined);
      throw err;
    }
  }

  /** Unmounts and deletes namespace `name`; done already (or never made) is fine. */
  async remove(name: string, signal?: AbortSignal): Promise<void> {
    const file = this.path(name);
    for (let i = 0; i < MAX_UNMOUNTS && (await isNamespaceFile(file)); i++) {
      // Lazy, as `ip netns del` and containerd do: a process still inside keeps it, not the file.
      await this.#run(['umount', '--lazy', file], signal);
    }
    if (await isNamespaceFile(file))
      throw new NetnsError(`${file} is still a namespace after ${MAX_UNMOUNTS} unmounts`);
    try {
      await unlink(file);
    } catch (err) {
      if (!isErrnoException(err, 'ENOENT')) throw err;
    }
  }

  /** Whether `name`'s file holds a live namespace (a bare leftover file does not count). */
  async exists(name: string): Promise<boolean> {
    return isNamespaceFile(this.path(name));
  }

  /** The names of the files in the netns dir that hold a namespace, sorted. */
  async list(): Promise<string[]> {
    let names: string[];
    try {
      names = await readdir(this.dir);
    } catch (err) {
      if (isErrnoException(err, 'ENOENT')) return [];
      throw err;
    }
    const live: string[] = [];
    for (const name of names.sort()) {
      if (isValidName(name) && (await isNamespaceFile(join(this.dir, name)))) live.push(name);
    }
    return live;
  }

  #run(argv: string[], signal: AbortSignal | undefined): Promise<void> {
    const bounded = AbortSignal.timeout(this.#timeoutMs);
    const [command, ...args] = argv as [string, ...string[]];
    return new Promise((resolve, reject) => {
      execFile(
        command,
        args,
        {
          signal: signal ? AbortSignal.any([signal, bounded]) : bounded,
          killSignal: 'SIGKILL',
          maxBuffer: 64 * 1024,
        },
        (err, _stdout, stderr) => {
          if (!err) return resolve();
          const why = bounded.aborted
            ? `did not finish in ${this.#timeoutMs} ms`
            : stderr.trim() || err.message;
          reject(new NetnsError(`${argv.join(' ')}: ${why}`, { cause: err }));
        },
      );
    });
  }
}

function isValidName(name: string): boolean {
  try {
    validateId('network namespace name', name);
    return true;
  } catch {
    return false;
  }
}

async function isNamespaceFile(file: string): Promise<boolean> {
  try {
    return (await statfs(file)).type === NSFS_MAGIC;
  } catch (err) {
    if (isErrnoException(err, 'ENOENT')) return false;
    throw err;
  }
}

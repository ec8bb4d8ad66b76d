/**
 * The files a pod's containers see as /etc/resolv.conf, /etc/hostname and
 * /etc/hosts, written once per sandbox and bind-mounted into its containers.
 * resolv.conf comes from the CRI's DNSConfig, in containerd's layout
 * (search, nameserver, options lines), or is the host's own when the config
 * is empty: the kubelet then means "as the node resolves" (dnsPolicy Default,
 * or ClusterFirst with nothing cluster-side).
 */
import { mkdir, readFile, rename, rm, writeFile } from 'node:fs/promises';
import { isIP } from 'node:net';
import { join } from 'node:path';
import { InvalidArgumentError, isErrnoException } from '../runtime/index.js';

export const HOST_RESOLV_CONF = '/etc/resolv.conf';

/** The CRI's DNSConfig. */
export interface DnsConfig {
  servers?: readonly string[];
  searches?: readonly string[];
  options?: readonly string[];
}

export interface PodFilesSpec {
  hostname: string;
  dns?: DnsConfig | undefined;
  /** The pod's addresses, named by its hostname in its hosts file. */
  ips?: readonly string[];
  /** The file an empty DNSConfig copies; the host's by default. */
  hostResolvConf?: string;
}

export interface PodFiles {
  resolvConf: string;
  hostname: string;
  hosts: string;
}

/** A resolv.conf word: one token, no comment or line break smuggled in. */
const WORD = /^[^\s#;]{1,253}$/;
/** RFC 1123 names, as pod hostnames are; Linux takes 64 bytes. */
const HOSTNAME =
  /^(?=.{1,64}$)[A-Za-z0-9]([A-Za-z0-9-]*[A-Za-z0-9])?(\.[A-Za-z0-9]([A-Za-z0-9-]*[A-Za-z0-9])?)*$/;

/** resolv.conf from `dns`; undefined when it sets nothing (the host's file is used then). */
export function resolvConfFromDns(dns: DnsConfig | undefined): string | undefined {
  const servers = dns?.servers ?? [];
  const searches = dns?.searches ?? [];
  const options = dns?.options ?? [];
  for (const server of servers)
    if (isIP(server) === 0)
      throw new InvalidArgumentError(`invalid DNS server ${JSON.stringify(server.slice(0, 80))}`);
  for (const [kind, words] of [
    ['search domain', searches],
    ['DNS option', options],
  ] as const) {
    for (const word of words)
      if (!WORD.test(word))
        throw new InvalidArgumentError(`invalid ${kind} ${JSON.stringify(word.slice(0, 80))}`);
  }
  if (servers.length + searches.length + options.length === 0) return undefined;
  let text = '';
  if (searches.length > 0) text += `search ${searches.join(' ')}\n`;
  for (const server of servers) text += `nameserver ${server}\n`;
  if (options.length > 0) text += `options ${options.join(' ')}\n`;
  return text;
}

export function checkHostname(hostname: string): string {
  if (!HOSTNAME.test(hostname))
    throw new InvalidArgumentError(
      `invalid hostname ${JSON.stringify(hostname.slice(0, 80))}: must be an RFC 1123 name of at most 64 bytes`,
    );
  return hostname;
}

export function hostnameFile(hostname: string): string {
  return `${checkHostname(hostname)}\n`;
}

/** The kubelet's layout of a pod's hosts file: loopback names, then each pod address with the hostname. */
export function hostsFile(hostname: string, ips: readonly string[] = []): string {
  checkHostname(hostname);
  let text =
    '# berth-managed hosts file.\n' +
    '127.0.0.1\tlocalhost\n' +
    '::1\tlocalhost ip6-localhost ip6-loopback\n' +
    'fe00::0\tip6-localnet\n' +
    'fe00::0\tip6-mcastprefix\n' +
    'fe00::1\tip6-allnodes\n' +
    'fe00::2\tip6-allrouters\n';
  for (const ip of ips) {
    if (isIP(ip) === 0) throw new InvalidArgumentError(`invalid pod IP ${JSON.stringify(ip)}`);
    text += `${ip}\t${hostname}\n`;
  }
  return text;
}

/** The pod's resolv.conf content: from `dns`, else the host's file (empty if the host has none). */
export async function resolvConf(
  dns: DnsConfig | undefined,
  hostResolvConf: string = HOST_RESOLV_CONF,
): Promise<string> {
  const own = resolvConfFromDns(dns);
  if (own !== undefined) return own;
  try {
    return await readFile(hostResolvConf, 'utf8');
  } catch (err) {
    if (isErrnoException(err, 'ENOENT')) return '';
    throw err;
  }
}

/** Writes the three files into `dir` (the sandbox's folder); every input is checked before any write. */
export async function writePodFiles(dir: string, spec: PodFilesSpec): Promise<PodFiles> {
  const files = {
    resolvConf: [join(dir, 'resolv.conf'), await resolvConf(spec.dns, spec.hostResolvConf)],
    hostname: [join(dir, 'hostname'), hostnameFile(spec.hostname)],
    hosts: [join(dir, 'hosts'), hostsFile(spec.hostname, spec.ips)],
  } as const;
  await mkdir(dir, { recursive: true });
  for (const [path, content] of Object.values(files)) await writeReadable(path, content);
  return {
    resolvConf: files.resolvConf[0],
    hostname: files.hostname[0],
    hosts: files.hosts[0],
  };
}

/**
 * Replaces `path` whole (a temporary file renamed over it), readable by all:
 * the containers' users are rarely root, and the state dir's 0600 would hide
 * their resolver from them.
 */
async function writeReadable(path: string, content: string): Promise<void> {
  const tmp = `${path}.tmp-${process.pid}`;
  try {
    await writeFile(tmp, content, { mode: 0o644 });
    await rename(tmp, path);
  } catch (err) {
    await rm(tmp, { force: true });
    throw err;
  }
}

/**
 * Registry credentials: passed in, or from the docker config file
 * (`$DOCKER_CONFIG/config.json`, else `~/.docker/config.json`, its `auths`;
 * credential helpers are not run). And the `WWW-Authenticate` challenge.
 */
import { readFile } from 'node:fs/promises';
import { homedir } from 'node:os';
import { join } from 'node:path';
import type { Credentials } from './types.js';

interface DockerConfigFile {
  auths?: Record<
    string,
    { auth?: string; username?: string; password?: string; identitytoken?: string }
  >;
}

function dockerConfigPath(): string {
  return join(process.env.DOCKER_CONFIG ?? join(homedir(), '.docker'), 'config.json');
}

/** The key forms docker writes for a registry host. */
function keysFor(domain: string): string[] {
  const keys = [
    domain,
    `https://${domain}`,
    `http://${domain}`,
    `https://${domain}/v1/`,
    `https://${domain}/v2/`,
  ];
  if (domain === 'docker.io')
    keys.push('https://index.docker.io/v1/', 'index.docker.io', 'registry-1.docker.io');
  return keys;
}

export async function credentialsFromDockerConfig(
  domain: string,
): Promise<Credentials | undefined> {
  let file: DockerConfigFile;
  try {
    file = JSON.parse(await readFile(dockerConfigPath(), 'utf8')) as DockerConfigFile;
  } catch {
    return undefined;
  }
  const auths = file.auths ?? {};
  for (const key of keysFor(domain)) {
    const entry = auths[key];
    if (!entry) continue;
    if (entry.identitytoken) return { identityToken: entry.identitytoken };
    if (entry.auth) {
      const decoded = Buffer.from(entry.auth, 'base64').toString('utf8');
      const colon = decoded.indexOf(':');
      if (colon > 0)
        return { username: decoded.slice(0, colon), password: decoded.slice(colon + 1) };
    }
    if (entry.username) return { username: entry.username, password: entry.password ?? '' };
  }
  return undefined;
}

export interface Challenge {
  scheme: string;
  params: Record<string, string>;
}

/** Parses `Bearer realm="...",service="...",scope="..."` (RFC 7235 auth-params, quoted or not). */
export function parseChallenge(header: string): Challenge | undefined {
  const match = /^\s*([A-Za-z]+)\s*(.*)$/s.exec(header);
  if (!match) return undefined;
  const params: Record<string, string> = {};
  const param = /([A-Za-z_][\w-]*)\s*=\s*(?:"((?:[^"\\]|\\.)*)"|([^,\s]*))\s*,?\s*/g;
  for (const m of match[2]!.matchAll(param)) {
    params[m[1]!.toLowerCase()] = m[2] !== undefined ? m[2].replace(/\\(.)/g, '$1') : (m[3] ?? '');
  }
  return { scheme: match[1]!.toLowerCase(), params };
}

export function basicAuthorization(credentials: Credentials): string {
  return `Basic ${Buffer.from(`${credentials.username ?? ''}:${credentials.password ?? ''}`).toString('base64')}`;
}

/**
 * What a CNI ADD answered, read into berth's terms: the interfaces, the IPs
 * (with gateways) and DNS. Results of spec 0.3.0 to 1.0.0 share one shape;
 * the older 0.1/0.2 one (`ip4`, `ip6`) is read too, as libcni converts it.
 */
import { isIP } from 'node:net';
import { isObject } from './cni-config.js';

export interface CniInterface {
  name: string;
  mac?: string;
  /** The namespace file for an interface inside the pod; absent for host-side ones. */
  sandbox?: string;
}

export interface CniIpConfig {
  /** CIDR form, `10.213.0.2/24`. */
  address: string;
  gateway?: string;
  /** Index into `interfaces`. */
  interface?: number;
}

export interface CniDns {
  nameservers: string[];
  domain?: string;
  search: string[];
  options: string[];
}

export interface CniResult {
  cniVersion: string;
  interfaces: CniInterface[];
  ips: CniIpConfig[];
  dns: CniDns;
}

export function readResult(raw: unknown): CniResult {
  const json = isObject(raw) ? raw : {};
  const cniVersion = typeof json.cniVersion === 'string' ? json.cniVersion : '';
  const interfaces = array(json.interfaces).flatMap((i): CniInterface[] =>
    isObject(i) && typeof i.name === 'string'
      ? [
          {
            name: i.name,
            ...(typeof i.mac === 'string' ? { mac: i.mac } : {}),
            ...(typeof i.sandbox === 'string' && i.sandbox !== '' ? { sandbox: i.sandbox } : {}),
          },
        ]
      : [],
  );
  const ips = [...array(json.ips), ...legacyIps(json)].flatMap((ip): CniIpConfig[] =>
    isObject(ip) && typeof ip.address === 'string'
      ? [
          {
            address: ip.address,
            ...(typeof ip.gateway === 'string' ? { gateway: ip.gateway } : {}),
            ...(typeof ip.interface === 'number' ? { interface: ip.interface } : {}),
          },
        ]
      : [],
  );
  const dnsJson = isObject(json.dns) ? json.dns : {};
  const dns: CniDns = {
    nameservers: strings(dnsJson.nameservers),
    search: strings(dnsJson.search),
    options: strings(dnsJson.options),
    ...(typeof dnsJson.domain === 'string' ? { domain: dnsJson.domain } : {}),
  };
  return { cniVersion, interfaces, ips, dns };
}

/**
 * The pod's addresses (no prefix length) for PodSandboxStatus: those on
 * interfaces inside the pod (or on no named interface), IPv4 first as
 * containerd orders them; the first is `ip`, the rest `additional_ips`.
 */
export function podIps(result: CniResult): string[] {
  const inPod = result.ips.filter((ip) => {
    const iface = ip.interface === undefined ? undefined : result.interfaces[ip.interface];
    return iface === undefined || iface.sandbox !== undefined;
  });
  const addresses = inPod.map((ip) => ip.address.split('/')[0] ?? '').filter((a) => isIP(a) !== 0);
  return [...addresses.filter((a) => isIP(a) === 4), ...addresses.filter((a) => isIP(a) === 6)];
}

/** Spec 0.1/0.2's `ip4`/`ip6` objects as `ips` entries. */
function legacyIps(json: Record<string, unknown>): unknown[] {
  return [json.ip4, json.ip6].flatMap((ip) =>
    isObject(ip) && typeof ip.ip === 'string' ? [{ address: ip.ip, gateway: ip.gateway }] : [],
  );
}

function array(value: unknown): unknown[] {
  return Array.isArray(value) ? value : [];
}

function strings(value: unknown): string[] {
  return array(value).filter((s): s is string => typeof s === 'string');
}

/** Capabilities between v0.2.8's flat list and today's OCI object. */

export interface CapabilitySets {
  bounding: string[];
  effective: string[];
  inheritable: string[];
  permitted: string[];
}

/** A flat list means bounding, effective, inheritable and permitted, as runc read it before 1.0. */
export function capabilitiesFromFlat(list: readonly string[]): CapabilitySets {
  return {
    bounding: [...list],
    effective: [...list],
    inheritable: [...list],
    permitted: [...list],
  };
}

/** The flat list a v0.2.8 client expects to read back: the bounding set (or the flat list itself). */
export function flatCapabilities(capabilities: unknown): string[] {
  if (Array.isArray(capabilities)) return capabilities.filter((c) => typeof c === 'string');
  if (typeof capabilities === 'object' && capabilities !== null) {
    const bounding = (capabilities as { bounding?: unknown }).bounding;
    if (Array.isArray(bounding)) return bounding.filter((c) => typeof c === 'string');
  }
  return [];
}

/** Capabilities as a v0.2.8 client reads them back: a flat list. */

/** The flat list a v0.2.8 client expects to read back: the bounding set (or the flat list itself). */
export function flatCapabilities(capabilities: unknown): string[] {
  if (Array.isArray(capabilities)) return capabilities.filter((c) => typeof c === 'string');
  if (typeof capabilities === 'object' && capabilities !== null) {
    const bounding = (capabilities as { bounding?: unknown }).bounding;
    if (Array.isArray(bounding)) return bounding.filter((c) => typeof c === 'string');
  }
  return [];
}

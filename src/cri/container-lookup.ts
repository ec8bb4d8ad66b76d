/**
 * How the CRI's exec, streaming and stats code finds a CRI container without
 * knowing how containers are recorded (`containers.ts` implements it). A CRI
 * container's id is also its supervisor container's id, so a view's `id` can
 * be handed to the supervisor as is.
 */

/** The CRI's container states, as runtime.v1 names them. */
export type CriContainerState = 'created' | 'running' | 'exited' | 'unknown';

export interface CriContainerView {
  /** 64 hex digits: the CRI's id and the supervisor's. */
  id: string;
  podSandboxId: string;
  metadata: { name: string; attempt: number };
  labels: Record<string, string>;
  annotations: Record<string, string>;
  /** The image as the request named it, and the image id it resolved to. */
  image: string;
  imageRef: string;
  state: CriContainerState;
  /** The container's writable layer (its overlay upper dir), for stats' writable layer usage. */
  writableLayerPath?: string;
}

export interface CriContainerLookup {
  /** A full id or a unique prefix of one; undefined when no container matches. Throws on an ambiguous prefix. */
  resolve(idOrPrefix: string): Promise<CriContainerView | undefined>;
  /** Every CRI container, in no particular order. */
  list(): Promise<CriContainerView[]>;
}

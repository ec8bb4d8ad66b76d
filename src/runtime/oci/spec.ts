/** The parts of the OCI runtime spec (config.json) that berth reads or writes. */

/** An OCI runtime-spec `process` object (config.json's, or an exec's). */
export interface ProcessSpec {
  args: string[];
  terminal?: boolean;
  consoleSize?: { height: number; width: number };
  user?: { uid: number; gid: number; umask?: number; additionalGids?: number[]; username?: string };
  env?: string[];
  cwd?: string;
  capabilities?: Record<string, string[] | undefined>;
  /** uint64: beyond 2^53 a bigint (RLIM_INFINITY is 2^64-1). */
  rlimits?: Array<{ type: string; hard: number | bigint; soft: number | bigint }>;
  noNewPrivileges?: boolean;
  apparmorProfile?: string;
  selinuxLabel?: string;
  oomScoreAdj?: number;
  [field: string]: unknown;
}

/** A bundle's config.json. */
export interface BundleConfig {
  process: ProcessSpec;
  root?: { path: string; readonly?: boolean };
  linux?: { cgroupsPath?: string; [field: string]: unknown };
  [field: string]: unknown;
}

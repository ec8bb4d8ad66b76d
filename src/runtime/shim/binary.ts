/** Where the shim built by this package lives: resolved from the package root, here only. */
import { fileURLToPath } from 'node:url';

/**
 * The package root. This file is compiled to dist/src/runtime/shim/binary.js,
 * four levels below it.
 */
export const packageRoot: string = fileURLToPath(new URL('../../../../', import.meta.url));

/** A file of `shim/build/` (`berth-shim`, or the sanitizer build `berth-shim-asan`). */
export function builtShimPath(name = 'berth-shim'): string {
  return fileURLToPath(new URL(`shim/build/${name}`, `file://${packageRoot}`));
}

/** The shim built by this package (`npm run build`), unless BERTH_SHIM names another. */
export function defaultShimPath(): string {
  return process.env.BERTH_SHIM || builtShimPath();
}

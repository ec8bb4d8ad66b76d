import type { StoreLayout } from './layout.js';
import type { Image, ImportOptions } from './types.js';
export async function importImages(
  _layout: StoreLayout,
  _source: string | NodeJS.ReadableStream,
  _opts: ImportOptions,
): Promise<Image[]> {
  throw new Error('not yet');
}

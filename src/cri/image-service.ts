/**
 * runtime.v1.ImageService: UNIMPLEMENTED for now; src/images/ will back it.
 */
import { ImageServiceService, type ImageServiceServer } from './generated/api.js';
import { unimplementedHandlers } from './unimplemented.js';

/** The ImageService's handlers. */
export function imageService(): ImageServiceServer {
  return unimplementedHandlers(ImageServiceService) as ImageServiceServer;
}

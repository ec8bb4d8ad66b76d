/**
 * Errors of running an image: making its bundle and its rootfs. Codes start
 * with ERR_IMAGE_ as the rest of the images layer's.
 */
import { ImageError } from './errors.js';

/** `-u NAME` (or the image's User) names a user or group the image's /etc/passwd or /etc/group lacks. */
export class ImageUserNotFoundError extends ImageError {
  readonly code: string = 'ERR_IMAGE_USER_NOT_FOUND';
  constructor(
    readonly user: string,
    reason: string,
  ) {
    super(`unable to find user ${user}: ${reason}`);
  }
}

/** Neither the image (Entrypoint, Cmd) nor the command line gives a command. */
export class ImageNoCommandError extends ImageError {
  readonly code: string = 'ERR_IMAGE_NO_COMMAND';
  constructor(readonly image: string) {
    super(`image ${image} has no command (no Entrypoint or Cmd): give one after the image`);
  }
}

/** An override the bundle cannot take (a relative working dir, an env entry without a name). */
export class InvalidOverrideError extends ImageError {
  readonly code: string = 'ERR_IMAGE_INVALID_OVERRIDE';
}

/** `<store>/containers/<id>/` is there already: another container of that id, or one being made. */
export class ContainerRootfsExistsError extends ImageError {
  readonly code: string = 'ERR_IMAGE_CONTAINER_EXISTS';
  constructor(
    readonly id: string,
    readonly path: string,
  ) {
    super(`a container rootfs for ${id} already exists at ${path}`);
  }
}

/** The image's layers do not fit into one overlay mount (the kernel reads one page of options). */
export class TooManyLayersError extends ImageError {
  readonly code: string = 'ERR_IMAGE_TOO_MANY_LAYERS';
}

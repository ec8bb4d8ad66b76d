/**
 * runtime.v1.ImageService over berth's image store (src/images/): the CRI's
 * images are the store's, one per id with every name it goes by. Without a
 * store every RPC is UNIMPLEMENTED.
 */
import type { sendUnaryData, ServerUnaryCall } from '@grpc/grpc-js';
import type { Logger } from 'pino';
import { basename } from 'node:path';
import {
  ImageInUseError,
  ImageNotFoundError,
  ImageStore,
  parseReference,
  readContainerRootfsRecords,
} from '../images/index.js';
import type { Image as StoreImage } from '../images/types.js';
import {
  ImageServiceService,
  type ImageFsInfoRequest,
  type ImageFsInfoResponse,
  type ImageServiceServer,
  type ImageStatusRequest,
  type ImageStatusResponse,
  type ListImagesRequest,
  type ListImagesResponse,
  type PullImageRequest,
  type PullImageResponse,
  type RemoveImageRequest,
  type RemoveImageResponse,
} from './generated/api.js';
import { storeUsage } from './image-fs.js';
import {
  credentialsFor,
  groupById,
  imageStatusFromError,
  requestedImage,
  toCriImage,
  verboseInfo,
} from './image-translate.js';
import { unimplementedHandlers } from './unimplemented.js';

export interface ImageServiceOptions {
  /** Without it, the ImageService is UNIMPLEMENTED. */
  store?: ImageStore;
  /** Where unexpected (INTERNAL) errors are logged. */
  logger?: Logger;
}

/**
 * A unary handler from an async function given the call's request and a
 * signal aborted when the client cancels; its error becomes the gRPC status.
 */
function unary<Req, Res>(
  logger: Logger | undefined,
  handle: (request: Req, signal: AbortSignal) => Promise<Res>,
): (call: ServerUnaryCall<Req, Res>, callback: sendUnaryData<Res>) => void {
  return (call, callback) => {
    const cancelled = new AbortController();
    call.once('cancelled', () => cancelled.abort());
    handle(call.request, cancelled.signal).then(
      (response) => callback(null, response),
      (err: unknown) => {
        const { code, details, internal } = imageStatusFromError(err);
        if (internal) logger?.error({ err, rpc: call.getPath() }, 'CRI image call failed');
        callback({ code, details });
      },
    );
  };
}

/** An image id or id prefix, which the store finds though it is no reference. */
const IMAGE_ID = /^(?:sha256:)?[a-f0-9]{12,64}$/;

/**
 * Every record of the image `ref` names (all its names), or undefined when
 * there is none; a `ref` that is neither a reference nor an id is an
 * InvalidReferenceError.
 */
async function findImage(store: ImageStore, ref: string): Promise<StoreImage[] | undefined> {
  let image: StoreImage;
  try {
    image = await store.get(ref);
  } catch (err) {
    if (!(err instanceof ImageNotFoundError)) throw err;
    if (!IMAGE_ID.test(ref)) parseReference(ref);
    return undefined;
  }
  const records = (await store.list()).filter((r) => r.id === image.id);
  return records.length ? records : [image];
}

/** The ImageService's handlers. */
export function imageService(options: ImageServiceOptions = {}): ImageServiceServer {
  const handlers = unimplementedHandlers(ImageServiceService) as ImageServiceServer;
  const { store, logger } = options;
  if (!store) return handlers;

  handlers.listImages = unary<ListImagesRequest, ListImagesResponse>(logger, async (request) => {
    const filter = request.filter?.image?.image ?? '';
    if (filter !== '') {
      const records = await findImage(store, requestedImage('ListImages', request.filter?.image));
      return { images: records ? [toCriImage(records)] : [] };
    }
    return { images: groupById(await store.list()).map(toCriImage) };
  });

  handlers.imageStatus = unary<ImageStatusRequest, ImageStatusResponse>(logger, async (request) => {
    const records = await findImage(store, requestedImage('ImageStatus', request.image));
    // An absent image is an answer, not an error: the kubelet pulls on it.
    if (!records) return { image: undefined, info: {} };
    return { image: toCriImage(records), info: request.verbose ? verboseInfo(records) : {} };
  });

  handlers.pullImage = unary<PullImageRequest, PullImageResponse>(
    logger,
    async (request, signal) => {
      const ref = requestedImage('PullImage', request.image);
      const auth = credentialsFor(ref, request.auth);
      const image = await store.pull(ref, { signal, ...(auth && { auth }) });
      logger?.info({ image: ref, id: image.id }, 'CRI pulled image');
      return { imageRef: image.id };
    },
  );

  handlers.removeImage = unary<RemoveImageRequest, RemoveImageResponse>(
    logger,
    async (request, signal) => {
      const records = await findImage(store, requestedImage('RemoveImage', request.image));
      // Already gone is success: the CRI's RemoveImage is idempotent.
      if (!records) return {};
      // The store guards an image's last name only: refuse before any name goes, not after.
      const users = (await readContainerRootfsRecords(store.root)).filter(
        ({ record }) => record?.image === records[0]!.id,
      );
      if (users.length) {
        throw new ImageInUseError(
          request.image!.image,
          users.map(({ dir }) => basename(dir)),
        );
      }
      for (const record of records) {
        try {
          await store.remove(record.name || record.id, { signal });
        } catch (err) {
          if (!(err instanceof ImageNotFoundError)) throw err;
        }
      }
      // The kubelet removes images to free disk: their blobs and layers go now.
      await store.prune({ signal });
      return {};
    },
  );

  handlers.imageFsInfo = unary<ImageFsInfoRequest, ImageFsInfoResponse>(
    logger,
    async (_request, signal) => {
      const timestamp = BigInt(Date.now()) * 1_000_000n;
      const usage = await storeUsage(store.root, signal);
      return {
        imageFilesystems: [
          {
            timestamp,
            fsId: { mountpoint: store.root },
            usedBytes: { value: usage.usedBytes },
            inodesUsed: { value: usage.inodesUsed },
          },
        ],
      };
    },
  );

  return handlers;
}

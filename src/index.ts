/** berth: a container supervisor for Node.js. The runtime library (containerd v0.2.8's runtime package), and images. */
export * from './runtime/index.js';
/** The images layer (pull, import, store, GC): `import { images } from 'berth'`. */
export * as images from './images/index.js';

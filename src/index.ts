/** berth: a container supervisor for Node.js. Today: the runtime library (containerd v0.2.8's runtime package). */
export * from './runtime/index.js';

/**
 * Typed arrays over SharedArrayBuffers: what the tree builder hands its helper threads
 * (tree-helpers.ts) is shared, not copied. They read and write like any typed array.
 */
export const sharedUint8 = (length: number) => new Uint8Array(new SharedArrayBuffer(length));
export const sharedInt32 = (length: number) => new Int32Array(new SharedArrayBuffer(4 * length));
export const sharedUint32 = (length: number) => new Uint32Array(new SharedArrayBuffer(4 * length));
export const sharedFloat64 = (length: number) => new Float64Array(new SharedArrayBuffer(8 * length));

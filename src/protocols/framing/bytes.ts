/**
 * Byte-array helpers shared by every codec. Sockets hand us Buffers but tests and callers may pass any
 * Uint8Array; the codecs read with Buffer's typed readers, so they take a view rather than a copy.
 */

/** A Buffer view of any byte array, without copying. */
export function asBuffer(bytes: Uint8Array): Buffer {
  return Buffer.isBuffer(bytes) ? bytes : Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength);
}

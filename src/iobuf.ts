/** A fixed-capacity byte buffer: `b` is allocated once and never grows; the first `n` bytes are in use. */
export interface IoBuf {
  b: Uint8Array;
  n: number;
}

/** A buffer of `size` bytes, allocated now, once. */
export function ioNew(size: number): IoBuf {
  return { b: new Uint8Array(size), n: 0 };
}

/** Free space in bytes. */
export function ioFree(io: IoBuf): number {
  return io.b.length - io.n;
}

/** Append up to `len` bytes of `src` from `off`; returns how many fitted. */
export function ioAdd(io: IoBuf, src: Uint8Array, off: number, len: number): number {
  const k = Math.min(len, io.b.length - io.n);
  if (k > 0) {
    io.b.set(off === 0 && k === src.length ? src : src.subarray(off, off + k), io.n);
    io.n += k;
  }
  return k;
}

/** Remove `len` bytes at `off`, moving the rest down (a forward copy: safe for overlap). */
export function ioDel(io: IoBuf, off: number, len: number): void {
  const end = off + len;
  if (end < io.n) io.b.set(io.b.subarray(end, io.n), off);
  io.n -= len;
}

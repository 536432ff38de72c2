/**
 * The one frame assembler: cuts a byte stream into frames for every framing we speak (MBAP, APCI,
 * Modbus RTU and Modbus ASCII). A stream transport (TCP, a serial line) delivers octets in chunks
 * that split frames anywhere or hold several, so each protocol needs the same three things — find where
 * a frame ends, refuse sizes it can never have, keep the partial tail for the next chunk — and only the
 * first differs between framings. That part is a `FrameSpec`; the rest lives here once.
 *
 * Pure: no I/O and no timers. RTU frames are sized from their function code by the header reader, so the
 * assembler never waits for RTU's 3.5-character silence; a caller that also watches for it (to resync
 * after noise) does so with its own timer and `reset()`.
 *
 * Frames are views into the received bytes, not copies; only a tail held between chunks is copied.
 */
import { asBuffer } from "./bytes";

/**
 * What a header reader says about the octets at the front of the stream: a number is the size of the
 * whole frame, header included — from a length field (MBAP, APCI), from the function code (RTU), or from
 * where a terminator was found (ASCII's CR LF). Otherwise:
 * - `need-more`: at least `need` more octets before it can say (a delimiter reader that has not yet seen
 *   its terminator says `need: 1`);
 * - `malformed`: these octets cannot start a frame (wrong start octet, protocol id, function code).
 *
 * The size is a bare number rather than a tagged object because it is the answer for every frame on the
 * hot path and costs no allocation; `typeof` tells it from the other two.
 */
export type HeaderRead = number | NeedMore | { readonly kind: "malformed"; readonly reason: string };

export interface NeedMore {
  readonly kind: "need-more";
  readonly need: number;
}

/**
 * Reads the header of the frame starting at `offset` in `bytes`; `bytes.length - offset` octets are
 * available, possibly fewer than a header. Must not throw on any input: wire data is untrusted.
 */
export type HeaderReader = (bytes: Buffer, offset: number) => HeaderRead;

/**
 * Why the stream lost its framing. Every variant carries `reason`, a sentence a plant engineer can read
 * in a log or a status; the code lets a program tell the cases apart without parsing it.
 */
export type FramingError =
  | { readonly code: "bad-header"; readonly reason: string }
  | { readonly code: "too-small"; readonly size: number; readonly min: number; readonly reason: string }
  /** `size` is undefined when no frame end was found within `max` octets (a delimiter never came). */
  | {
      readonly code: "too-large";
      readonly size: number | undefined;
      readonly max: number;
      readonly reason: string;
    }
  | { readonly code: "bad-frame"; readonly reason: string };

export interface Malformed {
  readonly kind: "malformed";
  readonly error: FramingError;
}

/**
 * One framing: how to find a frame's size, the sizes it may have, and how to read a whole frame.
 * `F` is an object type, so a frame is told from a string (the body decoder's "malformed, because…").
 */
export interface FrameSpec<F extends object> {
  readonly readHeader: HeaderReader;
  /** Smallest and largest whole frame in octets, header included. */
  readonly minSize: number;
  readonly maxSize: number;
  /**
   * How sizes appear in messages. With a length field, `{ name: "MBAP length", excluded: 6 }` reports
   * the field's own value (size − excluded), the number an engineer sees in a capture. Without one,
   * sizes are reported as "frame of N octets".
   */
  readonly lengthField?: { readonly name: string; readonly excluded: number };
  /**
   * Reads the frame of `size` octets at `offset` (size already within bounds) and returns it, or the
   * reason it is malformed as a string (no result object per frame on the hot path). The frame should
   * hold views into `bytes`, not copies. Checks that need the whole frame (control field, CRC, LRC) go
   * here.
   */
  readonly decode: (bytes: Buffer, offset: number, size: number) => F | string;
  /**
   * What a malformed frame does to the stream. Unset (or false): the stream has lost its framing and
   * stays broken until `reset()` — right for a length field (MBAP, APCI), where nothing after a bad
   * header can be trusted. True: the assembler drops one octet and reads again from the next, so
   * garbage is dropped and the stream resynchronises on the next good frame — right for RTU and ASCII,
   * whose frames carry their own check (CRC, LRC) and no length an error could have corrupted for good.
   */
  readonly resync?: boolean;
}

/** One frame read from the front of a buffer and the octets it used, a request for more, or an error. */
export type FrameRead<F> =
  { readonly kind: "frame"; readonly frame: F; readonly size: number } | NeedMore | Malformed;

function sizeText(spec: FrameSpec<object>, size: number): string {
  const field = spec.lengthField;
  return field === undefined ? `frame of ${size} octets` : `${field.name} ${size - field.excluded}`;
}

function boundText(spec: FrameSpec<object>, size: number): string {
  return spec.lengthField === undefined ? `${size} octets` : `${size - spec.lengthField.excluded}`;
}

/**
 * The size of the whole frame at `offset` once all its octets are in, else how many more are needed
 * or why the stream lost its framing. Sizes are checked as soon as the header gives them, so a corrupted
 * length is reported without waiting for octets that may never come.
 */
export function measureFrame(
  spec: FrameSpec<object>,
  bytes: Buffer,
  offset: number,
): number | NeedMore | Malformed {
  const avail = bytes.length - offset;
  const h = spec.readHeader(bytes, offset);
  if (typeof h !== "number") {
    if (h.kind === "malformed") return { kind: "malformed", error: { code: "bad-header", reason: h.reason } };
    // A reader still looking for its frame end after `maxSize` octets (a delimiter that never came)
    // has lost the frame; waiting longer would let garbage grow without bound.
    return avail < spec.maxSize ? h : outOfBounds(spec, undefined);
  }
  if (h < spec.minSize || h > spec.maxSize) return outOfBounds(spec, h);
  return avail < h ? { kind: "need-more", need: h - avail } : h;
}

// Kept out of measureFrame so the hot path stays small enough for the engine to inline.
function outOfBounds(spec: FrameSpec<object>, size: number | undefined): Malformed {
  const max = spec.maxSize;
  if (size === undefined) {
    const reason = `no frame end within ${boundText(spec, max)}`;
    return { kind: "malformed", error: { code: "too-large", size, max, reason } };
  }
  if (size > max) {
    const reason = `${sizeText(spec, size)} is too long (maximum ${boundText(spec, max)})`;
    return { kind: "malformed", error: { code: "too-large", size, max, reason } };
  }
  const min = spec.minSize;
  const reason = `${sizeText(spec, size)} is too short (minimum ${boundText(spec, min)})`;
  return { kind: "malformed", error: { code: "too-small", size, min, reason } };
}

/** Turn the body decoder's reason into the framing error it stands for. */
export function badFrame(reason: string): Malformed {
  return { kind: "malformed", error: { code: "bad-frame", reason } };
}

/** Read the frame that starts at `offset`: measure it, then decode it. */
export function readFrame<F extends object>(spec: FrameSpec<F>, bytes: Buffer, offset: number): FrameRead<F> {
  const size = measureFrame(spec, bytes, offset);
  if (typeof size !== "number") return size;
  const frame = spec.decode(bytes, offset, size);
  return typeof frame === "string" ? badFrame(frame) : { kind: "frame", frame, size };
}

/** What one chunk yielded: whole frames, and the error when the stream lost its framing. */
export type AssembleResult<F> =
  | { readonly kind: "frames"; readonly frames: readonly F[] }
  | { readonly kind: "malformed"; readonly frames: readonly F[]; readonly error: FramingError };

const EMPTY = Buffer.alloc(0);

/**
 * Reassembles frames from chunks. Frames handed out may be views into the pushed chunk (no copy on the
 * common path, where a chunk holds whole frames); Node's sockets never reuse a chunk, other callers must
 * not either until the frames are consumed. The partial tail is copied, so the caller may reuse its
 * chunk after `push` returns as far as the tail is concerned.
 *
 * After a framing error it discards everything it holds and keeps answering with that error until
 * `reset()`: the caller is expected to drop the connection, since octets after a bad header are not
 * frames anyone can trust. A framing with `resync` instead drops the offending octet and goes on.
 */
export class FrameAssembler<F extends object> {
  private pending: Buffer = EMPTY;
  private broken: FramingError | undefined;
  /** Frames handed out since the last reset: the ordinal of the frame the held tail belongs to. */
  private completed = 0;
  private droppedCount = 0;
  /** Garbage was dropped and no good frame has come since (resynchronising framings). */
  private resyncing = false;
  private lastDrop: FramingError | undefined;

  constructor(private readonly spec: FrameSpec<F>) {}

  push(chunk: Uint8Array): AssembleResult<F> {
    if (this.broken !== undefined) return { kind: "malformed", frames: [], error: this.broken };
    const buf = this.pending.length === 0 ? asBuffer(chunk) : Buffer.concat([this.pending, chunk]);
    const frames: F[] = [];
    let offset = 0;
    for (;;) {
      // measure + decode rather than readFrame: no result object per frame, only the frame itself.
      const size = measureFrame(this.spec, buf, offset);
      if (typeof size !== "number") {
        if (size.kind === "need-more") {
          const next = this.resyncing ? this.findFrame(buf, offset + 1) : undefined;
          if (next === undefined) break;
          this.droppedCount += next - offset;
          offset = next;
          continue;
        }
        if (this.spec.resync === true) {
          offset = this.skip(offset, size.error);
          continue;
        }
        return this.fail(frames, size.error);
      }
      const frame = this.spec.decode(buf, offset, size);
      if (typeof frame === "string") {
        if (this.spec.resync === true) {
          offset = this.skip(offset, badFrame(frame).error);
          continue;
        }
        return this.fail(frames, badFrame(frame).error);
      }
      frames.push(frame);
      this.resyncing = false;
      offset += size;
    }
    this.completed += frames.length;
    this.pending = offset === buf.length ? EMPTY : Buffer.from(buf.subarray(offset));
    return { kind: "frames", frames };
  }

  // Resynchronising: the octet at `offset` cannot start a frame, so it is garbage; the next may.
  private skip(offset: number, error: FramingError): number {
    this.droppedCount++;
    this.lastDrop = error;
    this.resyncing = true;
    return offset + 1;
  }

  /**
   * While resynchronising, octets after garbage may read as the start of a frame longer than what
   * follows (a byte count in noise), which would hold the good frames behind it until enough octets
   * came. So, only then, look further on for a whole frame that checks out (its CRC); the offset of the
   * first one, or undefined. Not done on a healthy stream, where a frame split across chunks is normal
   * and its data could, rarely, look like a frame of its own.
   */
  private findFrame(buf: Buffer, from: number): number | undefined {
    for (let at = from; at < buf.length; at++) {
      const size = measureFrame(this.spec, buf, at);
      if (typeof size === "number" && typeof this.spec.decode(buf, at, size) !== "string") return at;
    }
    return undefined;
  }

  /**
   * Octets dropped as garbage since the assembler was made (resynchronising framings only), and why
   * the last one was: for a counter and a log line, since the stream itself goes on.
   */
  get dropped(): { readonly octets: number; readonly last: FramingError | undefined } {
    return { octets: this.droppedCount, last: this.lastDrop };
  }

  private fail(frames: readonly F[], error: FramingError): AssembleResult<F> {
    this.broken = error;
    this.pending = EMPTY;
    return { kind: "malformed", frames, error };
  }

  /** Octets held back waiting for the rest of a frame. */
  get buffered(): number {
    return this.pending.length;
  }

  /**
   * The frame whose first octets are held, as its ordinal on this stream, or undefined when no frame is
   * incomplete. It changes exactly when a new frame starts, so a caller that times how long one frame
   * stays incomplete (a peer that sent half a frame and stopped, issue #21) restarts its clock only then
   * and not for a busy stream whose chunks always end mid-frame.
   */
  get pendingFrame(): number | undefined {
    return this.pending.length > 0 ? this.completed : undefined;
  }

  /** Start over, e.g. on a new connection. */
  reset(): void {
    this.pending = EMPTY;
    this.broken = undefined;
    this.completed = 0;
    this.resyncing = false;
  }
}

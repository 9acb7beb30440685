/**
 * The few PostgreSQL wire-protocol facts the embedded server needs: framing
 * client messages, naming one client's statements apart from another's, and
 * reading when the backend is ready for the next query.
 */

const SSL_REQUEST = 80877103;
const GSS_ENCRYPTION_REQUEST = 80877104;
const CANCEL_REQUEST = 80877102;
/** A Sync message: ends an extended-query cycle, so the backend answers ReadyForQuery. */
export const SYNC = Uint8Array.of(0x53, 0, 0, 0, 4);
const READY_FOR_QUERY = 0x5a;
const TERMINATE = 0x58;

/** A whole client message; `untyped` for those before startup ends (startup, SSL or cancel request). */
export type Frame = { bytes: Buffer; untyped: boolean };

/**
 * Cuts a client's byte stream into whole messages. The first messages have no
 * type byte (length, then a code); every later one starts with its type.
 */
export function createFrameReader() {
  let buffered: Buffer = Buffer.alloc(0);
  let started = false;
  return {
    /** The whole messages now available; a partial one waits for more bytes. */
    push(chunk: Buffer): Frame[] {
      buffered = buffered.length === 0 ? chunk : Buffer.concat([buffered, chunk]);
      const frames: Frame[] = [];
      for (;;) {
        const headerLength = started ? 5 : 4;
        if (buffered.length < headerLength) break;
        const length = started ? 1 + buffered.readInt32BE(1) : buffered.readInt32BE(0);
        if (buffered.length < length) break;
        const bytes = buffered.subarray(0, length);
        buffered = buffered.subarray(length);
        frames.push({ bytes, untyped: !started });
        // SSL and GSS requests come before the startup message, which is still untyped.
        if (!started && !isEncryptionRequest(bytes)) started = true;
      }
      return frames;
    },
  };
}

/** The code of an untyped message (protocol version, or which request it is). */
const untypedCode = (bytes: Buffer): number => (bytes.length >= 8 ? bytes.readInt32BE(4) : -1);
const isEncryptionRequest = (bytes: Buffer): boolean =>
  bytes.length === 8 && (untypedCode(bytes) === SSL_REQUEST || untypedCode(bytes) === GSS_ENCRYPTION_REQUEST);

/** What the server answers itself rather than passing to PGlite. */
export function controlMessage({ bytes, untyped }: Frame): "encryption" | "end" | null {
  if (untyped && isEncryptionRequest(bytes)) return "encryption";
  if (untyped ? untypedCode(bytes) === CANCEL_REQUEST : bytes[0] === TERMINATE) return "end";
  return null;
}

/**
 * Where a typed message carries statement or portal names: Parse names a
 * statement; Bind a portal then a statement; Execute a portal; Describe and
 * Close either, after a kind byte ('S' or 'P').
 */
function nameOffsets(frame: Buffer): number[] {
  switch (String.fromCharCode(frame[0] ?? 0)) {
    case "P":
    case "E":
      return [5];
    case "B":
      return [5, frame.indexOf(0, 5) + 1];
    case "D":
    case "C":
      return [6];
    default:
      return [];
  }
}

/** A message with every non-empty statement and portal name it carries prefixed, and its length fixed. */
export function withNamesPrefixed(frame: Buffer, prefix: string): Buffer {
  const offsets = nameOffsets(frame).filter((at) => frame[at] !== 0);
  if (offsets.length === 0) return frame;
  const parts: Buffer[] = [];
  let from = 0;
  for (const at of offsets) {
    parts.push(frame.subarray(from, at), Buffer.from(prefix));
    from = at;
  }
  parts.push(frame.subarray(from));
  const renamed = Buffer.concat(parts);
  renamed.writeInt32BE(renamed.length - 1, 1);
  return renamed;
}

/** The statement a Parse message names (already prefixed), or null for the unnamed one or another message. */
export function parsedStatement(frame: Buffer): string | null {
  return frame[0] === 0x50 && frame[5] !== 0 ? cString(frame, 5) : null;
}

/** The statement a Close message closes, or null. */
export function closedStatement(frame: Buffer): string | null {
  return frame[0] === 0x43 && frame[5] === 0x53 && frame[6] !== 0 ? cString(frame, 6) : null;
}

function cString(frame: Buffer, at: number): string {
  return frame.toString("utf8", at, frame.indexOf(0, at));
}

/**
 * Follows the backend's replies across chunks and tells whether the last
 * complete message was ReadyForQuery, with its transaction status ('I' idle,
 * 'T' in a transaction, 'E' in a failed one).
 */
export function createReplyReader() {
  const header = Buffer.alloc(5);
  let headerBytes = 0;
  let remaining = 0;
  let type = 0;
  let status: string | null = null;
  return {
    read(chunk: Uint8Array): void {
      for (let i = 0; i < chunk.length; ) {
        if (remaining > 0) {
          if (type === READY_FOR_QUERY) status = String.fromCharCode(chunk[i]!);
          const take = Math.min(remaining, chunk.length - i);
          remaining -= take;
          i += take;
          continue;
        }
        header[headerBytes++] = chunk[i++]!;
        if (headerBytes < 5) continue;
        headerBytes = 0;
        type = header[0]!;
        remaining = header.readInt32BE(1) - 4;
        status = null;
      }
    },
    /** ReadyForQuery's status if it was the last message and nothing has followed, else null. */
    readyStatus(): string | null {
      return remaining === 0 && headerBytes === 0 && type === READY_FOR_QUERY ? status : null;
    },
  };
}

import { Duplex } from 'node:stream';

/**
 * The remote editor's tunnel: its frames and streams, both ends' (the agent's tunnel.ts
 * opens it, the platform's device-tunnels.ts takes it), so the two cannot drift. A device's Node-RED listens on the device's loopback, and a
 * plant lets nothing in: so when someone opens the device's editor, the platform asks the
 * device (its desired state says `editorTunnel: true`) to open a WebSocket outward to
 * TUNNEL_PATH, signed in with its device credential. Over that one connection the platform
 * multiplexes streams; each is one TCP connection the agent makes to its own Node-RED's
 * port, and to nothing else: whoever holds the platform's end reaches the editor, which
 * answers nothing without a platform-signed token, and no other address on the plant's
 * network.
 *
 * Frames are binary WebSocket messages: [op: 1 byte][stream id: uint32 BE][payload].
 *   OPEN   platform → device: connect stream id to Node-RED
 *   DATA   both ways: bytes of the stream
 *   CLOSE  both ways: the stream is over (a refused OPEN is answered with CLOSE)
 */

/** What a tunnel needs of its WebSocket (a `ws` WebSocket, on either end). */
export interface TunnelSocket {
  readonly readyState: number;
  on(event: 'message', listener: (data: Buffer, isBinary: boolean) => void): unknown;
  on(event: 'close', listener: () => void): unknown;
  send(data: Buffer, options: { binary: boolean }, callback: (error?: Error) => void): void;
  close(code?: number, reason?: string): void;
  terminate(): void;
}

/** WebSocket.OPEN */
const OPEN = 1;

export const OP_OPEN = 1;
export const OP_DATA = 2;
export const OP_CLOSE = 3;
const HEADER_BYTES = 5;
/** The editor opens a handful of connections; more at once means something is wrong. */
export const MAX_STREAMS = 64;
/** The device closes a tunnel that has carried no stream for this long. */
export const TUNNEL_IDLE_MS = 5 * 60_000;

export type Frame = { op: number; id: number; payload: Buffer };

export function encodeFrame(op: number, id: number, payload?: Buffer): Buffer {
  const frame = Buffer.allocUnsafe(HEADER_BYTES + (payload?.length ?? 0));
  frame.writeUInt8(op, 0);
  frame.writeUInt32BE(id, 1);
  payload?.copy(frame, HEADER_BYTES);
  return frame;
}

export function decodeFrame(data: Buffer): Frame | null {
  if (data.length < HEADER_BYTES) return null;
  const op = data.readUInt8(0);
  if (op !== OP_OPEN && op !== OP_DATA && op !== OP_CLOSE) return null;
  return { op, id: data.readUInt32BE(1), payload: data.subarray(HEADER_BYTES) };
}

/**
 * One stream of a tunnel, as a Duplex: what is written goes out as DATA frames (a write
 * completes when the WebSocket has taken it, which is the stream's backpressure), and what
 * the other end sends is read. Ending it sends CLOSE; so does destroying it.
 */
export class TunnelStream extends Duplex {
  readonly id: number;
  private readonly session: TunnelSession;
  private closeSent = false;

  constructor(session: TunnelSession, id: number) {
    super({ allowHalfOpen: false });
    this.id = id;
    this.session = session;
  }

  override _read(): void {}

  override _write(chunk: Buffer, _encoding: BufferEncoding, callback: (error?: Error | null) => void): void {
    this.session.send(encodeFrame(OP_DATA, this.id, chunk), callback);
  }

  override _final(callback: (error?: Error | null) => void): void {
    this.sendClose();
    callback();
  }

  override _destroy(error: Error | null, callback: (error?: Error | null) => void): void {
    this.sendClose();
    this.session.forget(this.id);
    callback(error);
  }

  /** Bytes from the other end. */
  receive(payload: Buffer): void {
    this.push(Buffer.from(payload));
  }

  /** The other end closed the stream: read to the end, then this side is over too. */
  closedByPeer(): void {
    this.closeSent = true;
    this.push(null);
    this.end();
  }

  private sendClose(): void {
    if (this.closeSent) return;
    this.closeSent = true;
    this.session.send(encodeFrame(OP_CLOSE, this.id), () => undefined);
  }
}

/**
 * Both ends of a tunnel: the streams multiplexed over one WebSocket. The platform opens
 * streams (`open`); the device takes them (`onOpen`).
 */
export class TunnelSession {
  private readonly ws: TunnelSocket;
  private readonly streams = new Map<number, TunnelStream>();
  private nextId = 1;
  private readonly onOpen: ((stream: TunnelStream) => void) | null;
  private readonly onIdle: (() => void) | null;

  constructor(ws: TunnelSocket, options: { onOpen?: (stream: TunnelStream) => void; onIdle?: () => void } = {}) {
    this.ws = ws;
    this.onOpen = options.onOpen ?? null;
    this.onIdle = options.onIdle ?? null;
    ws.on('message', (data: Buffer, isBinary: boolean) => {
      const frame = isBinary ? decodeFrame(data) : null;
      if (!frame) return ws.close(1003, 'not a tunnel frame');
      this.receive(frame);
    });
    ws.on('close', () => {
      for (const stream of [...this.streams.values()]) stream.destroy();
    });
  }

  get open(): boolean {
    return this.ws.readyState === OPEN;
  }

  get streamCount(): number {
    return this.streams.size;
  }

  /** A new stream to the device's Node-RED (the platform's side). */
  openStream(): TunnelStream {
    if (!this.open) throw new Error('the tunnel is closed');
    if (this.streams.size >= MAX_STREAMS) throw new Error(`the tunnel carries ${MAX_STREAMS} streams already`);
    const id = this.nextId++;
    const stream = new TunnelStream(this, id);
    this.streams.set(id, stream);
    this.send(encodeFrame(OP_OPEN, id), () => undefined);
    return stream;
  }

  send(frame: Buffer, callback: (error?: Error | null) => void): void {
    if (!this.open) return callback(new Error('the tunnel is closed'));
    this.ws.send(frame, { binary: true }, (error) => callback(error ?? null));
  }

  forget(id: number): void {
    this.streams.delete(id);
    if (this.streams.size === 0) this.onIdle?.();
  }

  terminate(): void {
    this.ws.terminate();
  }

  private receive(frame: Frame): void {
    const stream = this.streams.get(frame.id);
    if (frame.op === OP_OPEN) {
      if (!this.onOpen || stream || this.streams.size >= MAX_STREAMS) return this.send(encodeFrame(OP_CLOSE, frame.id), () => undefined);
      const opened = new TunnelStream(this, frame.id);
      this.streams.set(frame.id, opened);
      this.onOpen(opened);
    } else if (frame.op === OP_DATA) {
      stream?.receive(frame.payload);
    } else {
      stream?.closedByPeer();
    }
  }
}

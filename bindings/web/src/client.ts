/**
 * A sealnet client over secure WebSockets (protocol version 4), for browsers.
 *
 * The session follows docs/protocol.md sections 5 and 9 with the WSS rules: Connect offers versions 4
 * to 4; once the server accepts, TLS already protects everything, so the client reports Connect (1024)
 * and at once EncryptionEstablished (1048) and is in the Encrypted state without any key exchange.
 * Every frame is one binary WebSocket message; nothing is authenticated by sealnet itself. Pings go
 * out every second, and ten seconds without any frame from the server end the connection.
 *
 * Names follow Photon's SDKs and sealnet's native peer where they fit: `onStatus` (Photon's
 * `OnStatusChanged`), `onOperationResponse`, `onEvent`, `sendOperation(opCode, params, options)`.
 */

import { CodecError, DEFAULT_LIMITS, type Limits } from './codec.js';
import {
  DeliveryMode,
  DisconnectReason,
  EventCode,
  MUST_ENCRYPT_OPERATIONS,
  OperationCode,
  ParameterCode,
  PeerState,
  ReceiverGroup,
  ReturnCode,
  RoomOptionKey,
  StatusCode,
  reasonName,
} from './constants.js';
import {
  HANDSHAKE_VERSION,
  MAX_BODY,
  MAX_CLEAR_BODY,
  MessageType,
  ProtocolError,
  SECURE_VERSION,
  buildFrame,
  decodeConnectAck,
  decodeDisconnect,
  decodeEvent,
  decodeOperationResponse,
  decodePing,
  decodePong,
  encodeConnect,
  encodeDisconnect,
  encodeOperationRequest,
  encodePing,
  encodePong,
  parseFrame,
  type Frame,
  type FrameOptions,
} from './protocol.js';
import {
  Bool,
  Bytes,
  Hashtable,
  Int32,
  Params,
  Str,
  Table,
  UInt8,
  toValue,
  type ParamsInit,
  type Value,
  type ValueInput,
} from './values.js';

/** The message of EncryptionEstablished over WSS, the same in every sealnet binding. */
export const WSS_ENCRYPTION_MESSAGE = 'TLS protects the connection (WSS); no key exchange runs';

/** The subset of the browser's WebSocket this client uses, so tests can stand in for it. */
export interface WebSocketLike {
  binaryType: string;
  readonly readyState: number;
  onopen: ((event: unknown) => void) | null;
  onmessage: ((event: { readonly data: unknown }) => void) | null;
  onerror: ((event: unknown) => void) | null;
  onclose: ((event: { readonly code: number; readonly reason: string }) => void) | null;
  send(data: Uint8Array): void;
  close(code?: number, reason?: string): void;
}
export type WebSocketFactory = new (url: string) => WebSocketLike;

const WS_OPEN = 1;

export interface ClientOptions {
  /** The WebSocket class; the browser's by default. */
  readonly WebSocket?: WebSocketFactory;
  /** Milliseconds between pings (section 9: 1000). */
  readonly pingIntervalMs?: number;
  /** Silence after which the connection ends with TimeoutDisconnect (section 9: 10 000). */
  readonly disconnectTimeoutMs?: number;
  /** How long the server has to accept (section 9: 10 000). */
  readonly connectTimeoutMs?: number;
  /** Decoder limits (section 4.5 defaults). */
  readonly limits?: Partial<Omit<Limits, 'protocolVersion'>>;
  /** A monotonic clock in milliseconds; `performance.now()` by default. */
  readonly now?: () => number;
}

export interface ConnectOptions {
  /** The application id the server serves (1 to 64 bytes of UTF-8). */
  readonly appId: string;
  /** The game's version, at most 32 bytes, sent in Connect. */
  readonly appVersion?: string;
}

/** How an operation goes out. Over WSS everything is reliable and TLS-protected whatever these say. */
export interface SendOptions {
  /**
   * Ask for encryption. TLS protects every frame already; the flag still tells the server that this
   * operation (or the event it raises) must never reach anyone in clear.
   */
  readonly encrypt?: boolean;
  readonly channel?: number;
  /** Photon's DeliveryMode; Reliable by default. */
  readonly delivery?: DeliveryMode;
}

export interface OperationResponse {
  readonly opCode: number;
  readonly returnCode: number;
  /** Empty when the server sent none. */
  readonly debugMessage: string;
  readonly params: Params;
  /** The server sent it with the ENCRYPTED flag (it answers an operation sent with `encrypt`). */
  readonly encrypted: boolean;
}

export interface EventData {
  readonly code: number;
  /** The actor number of the player that raised it (0 for the server). */
  readonly sender: number;
  readonly params: Params;
  /** The sender asked for encryption. */
  readonly encrypted: boolean;
}

export type StatusListener = (code: number, reason: number, message: string) => void;

/** A failed connection attempt: the status and reason that ended it. */
export class ConnectError extends Error {
  override readonly name = 'ConnectError';
  constructor(
    readonly status: number,
    readonly reason: number,
    message: string,
  ) {
    super(message);
  }
}

/** A send refused locally: not connected, or parameters the server would refuse (then `cause` is a CodecError). */
export class SendError extends Error {
  override readonly name = 'SendError';
}

/** An operation the server answered with a return code other than 0. */
export class OperationError extends Error {
  override readonly name = 'OperationError';
  constructor(readonly response: OperationResponse) {
    super(`operation ${response.opCode} failed with return code ${response.returnCode}${response.debugMessage ? `: ${response.debugMessage}` : ''}`);
  }
  get returnCode(): number {
    return this.response.returnCode;
  }
}

/** The connection ended before an awaited response arrived. */
export class DisconnectedError extends Error {
  override readonly name = 'DisconnectedError';
}

/** Authentication values refused locally, before anything is sent (the limits of docs/auth.md). */
export class AuthValuesError extends RangeError {
  override readonly name = 'AuthValuesError';
}

export interface ServerToken {
  readonly bytes: Uint8Array;
  /** Milliseconds since the Unix epoch. */
  readonly expiresAtMs: number;
}

/**
 * What a client authenticates with (Photon's `AuthenticationValues`, docs/auth.md section 4.1). With
 * `token`, the request is AuthenticateOnce (231) with that server token; otherwise Authenticate (230).
 */
export interface AuthValues {
  /** `custom` (0, checked by the studio's backend; the default) or `none` (255, anonymous). */
  readonly authType?: 'custom' | 'none';
  /** The bytes the game built from its backend session, at most 128. */
  readonly connectionToken?: Uint8Array;
  readonly userId?: string;
  /** Parameters for the backend: at most 32, keys and values at most 256 bytes. */
  readonly params?: Readonly<Record<string, string>>;
  /** At most 1024 bytes. */
  readonly authData?: Uint8Array;
  /** A server token from an earlier authentication (at most 2048 bytes): authenticates with it alone. */
  readonly token?: Uint8Array;
}

export interface AuthResult {
  readonly userId: string;
  readonly nickname: string;
  readonly token: ServerToken | undefined;
  /** The backend's data for the player (a Table of String to scalars), when it sent some. */
  readonly data: Hashtable | undefined;
  readonly response: OperationResponse;
}

export interface RoomOptions {
  /** 0: the server's limit. */
  readonly maxPlayers?: number;
  readonly isVisible?: boolean;
  readonly isOpen?: boolean;
}

export interface JoinOptions extends RoomOptions {
  /**
   * true: create the room if it does not exist (join mode 1); false: it must exist (join mode 0);
   * absent: no join mode is sent, and the reference server creates the room on demand.
   */
  readonly createIfMissing?: boolean;
  /** Sent with the ENCRYPTED flag by default, so that a fresh server token comes in the response. */
  readonly encrypt?: boolean;
}

export interface RoomInfo {
  readonly name: string;
  readonly actorNumber: number;
  readonly actors: readonly number[];
}

export interface RaiseEventOptions extends SendOptions {
  /** `others` (default), `all`, or `master` (the member with the lowest actor number). */
  readonly receivers?: 'others' | 'all' | 'master';
}

type Pending = { resolve(response: OperationResponse): void; reject(error: Error): void } | null;

const MAX_CONNECTION_TOKEN = 128;
const MAX_USER_ID = 128;
const MAX_AUTH_PARAMS = 32;
const MAX_AUTH_PARAM_TEXT = 256;
const MAX_AUTH_DATA = 1024;
const MAX_SERVER_TOKEN = 2048;
/** How long a closing socket may take before the client stops waiting for its close event. */
const CLOSE_GRACE_MS = 2000;

function utf8Len(text: string): number {
  return new TextEncoder().encode(text).length;
}

function defaultNow(): number {
  return globalThis.performance ? globalThis.performance.now() : Date.now();
}

/** The status a Disconnect (or refusing ConnectAck) with `reason` is reported with (section 5.3). */
export function statusForServerReason(reason: number): number {
  switch (reason) {
    case DisconnectReason.Timeout:
      return StatusCode.DisconnectByServerTimeout;
    case DisconnectReason.ServerFull:
      return StatusCode.DisconnectByServerUserLimit;
    default:
      // Reason 0, or one this library does not know, says nothing about why.
      return reason === DisconnectReason.None || reasonName(reason).startsWith('reason ')
        ? StatusCode.DisconnectByServerReasonUnknown
        : StatusCode.DisconnectByServerLogic;
  }
}

export class SealnetClient {
  /** Status changes: `code` is a StatusCode (Photon's numbers), `reason` a disconnect reason or 0. */
  onStatus: StatusListener | null = null;
  /** Every operation response, whether or not a promise of this client also awaits it. */
  onOperationResponse: ((response: OperationResponse) => void) | null = null;
  /** Every event, Join (255), Leave (254) and AuthEvent (223) included. */
  onEvent: ((event: EventData) => void) | null = null;

  readonly #options: Required<Omit<ClientOptions, 'limits' | 'WebSocket'>> & { WebSocket: WebSocketFactory | undefined };
  readonly #limits: Limits;
  #state: PeerState = PeerState.Disconnected;
  #socket: WebSocketLike | null = null;
  #startedAt = 0;
  #lastReceivedAt = 0;
  #nextPingAt = 0;
  #connectDeadline = 0;
  #timer: ReturnType<typeof setTimeout> | null = null;
  #closeTimer: ReturnType<typeof setTimeout> | null = null;
  #closeReason = 0;
  /** The socket opened (Connect went out): a close after it is a lost connection, not a failed one. */
  #opened = false;
  #connectAttempt: { resolve(): void; reject(error: Error): void } | null = null;
  #closed: Array<() => void> = [];
  #pending = new Map<number, Pending[]>();
  #rtt: number | undefined;
  #serverClockOffset: number | undefined;
  #token: ServerToken | undefined;
  #room: RoomInfo | undefined;
  #userId = '';
  #nickname = '';

  constructor(options: ClientOptions = {}) {
    this.#options = {
      WebSocket: options.WebSocket,
      pingIntervalMs: options.pingIntervalMs ?? 1000,
      disconnectTimeoutMs: options.disconnectTimeoutMs ?? 10_000,
      connectTimeoutMs: options.connectTimeoutMs ?? 10_000,
      now: options.now ?? defaultNow,
    };
    this.#limits = { ...DEFAULT_LIMITS, ...options.limits, protocolVersion: SECURE_VERSION };
  }

  /** Section 10.3's state; Encrypted from the server's acceptance on. */
  get state(): PeerState {
    return this.#state;
  }
  /** Accepted by the server and not closing. */
  get isConnected(): boolean {
    return this.#state === PeerState.Encrypted;
  }
  /** Over WSS, true as soon as the connection is accepted: TLS protects it. */
  get isEncrypted(): boolean {
    return this.#state === PeerState.Encrypted;
  }
  /** The protocol version of the connection: 4 (WSS) once accepted, 0 before. */
  get protocolVersion(): number {
    return this.#state === PeerState.Encrypted || this.#state === PeerState.Disconnecting ? SECURE_VERSION : 0;
  }
  /** The round-trip time of the last Pong, in milliseconds; undefined before the first. */
  get roundTripTime(): number | undefined {
    return this.#rtt;
  }
  /**
   * The server's clock in milliseconds (Photon's `ServerTimeInMilliSeconds`): the time every client of
   * the server shares, estimated from the last Pong; undefined before the first.
   */
  get serverTimeMs(): number | undefined {
    return this.#serverClockOffset === undefined ? undefined : Math.floor(this.#options.now() + this.#serverClockOffset);
  }
  /** The server token from the last authentication or refresh. */
  get serverToken(): ServerToken | undefined {
    return this.#token;
  }
  get userId(): string {
    return this.#userId;
  }
  get nickname(): string {
    return this.#nickname;
  }
  /** The room this client is in, with its members as the last Join or Leave event gave them. */
  get room(): RoomInfo | undefined {
    return this.#room;
  }
  get actorNumber(): number {
    return this.#room?.actorNumber ?? 0;
  }

  /**
   * Opens a WSS connection to `url` (for example `wss://game.example:4531/`) and sends Connect. Resolves
   * once the server accepted (after the statuses Connect and EncryptionEstablished); rejects with a
   * ConnectError when the connection failed or was refused (its statuses are reported too).
   */
  connect(url: string, options: ConnectOptions): Promise<void> {
    if (this.#state !== PeerState.Disconnected) return Promise.reject(new Error('already connected or connecting; disconnect first'));
    const Socket = this.#options.WebSocket ?? (globalThis as { WebSocket?: unknown }).WebSocket as WebSocketFactory | undefined;
    if (!Socket) return Promise.reject(new Error('no WebSocket implementation: pass one as options.WebSocket'));
    let connectFrame: Uint8Array;
    try {
      if (!/^wss?:\/\//i.test(url)) throw new Error(`not a WebSocket URL: ${url} (use wss://host:port/)`);
      connectFrame = buildFrame(HANDSHAKE_VERSION, MessageType.Connect, {}, MAX_CLEAR_BODY, (out) =>
        encodeConnect(out, { appId: options.appId, clientVersion: options.appVersion ?? '', versions: { min: SECURE_VERSION, max: SECURE_VERSION } }),
      );
    } catch (error) {
      return Promise.reject(error);
    }
    let socket: WebSocketLike;
    try {
      socket = new Socket(url);
    } catch (error) {
      // The browser refused the URL itself (a bad host or port): nothing was opened, but the
      // statuses still end with Disconnect, as every connection attempt's do.
      const message = `cannot open ${url}: ${error instanceof Error ? error.message : String(error)}`;
      this.#report(StatusCode.ServerAddressInvalid, 0, message);
      this.#report(StatusCode.Disconnect, 0, 'disconnected (None)');
      return Promise.reject(new ConnectError(StatusCode.ServerAddressInvalid, 0, message));
    }
    socket.binaryType = 'arraybuffer';
    this.#socket = socket;
    this.#state = PeerState.Connecting;
    this.#closeReason = 0;
    this.#startedAt = this.#options.now();
    this.#connectDeadline = this.#startedAt + this.#options.connectTimeoutMs;
    this.#rtt = undefined;
    this.#serverClockOffset = undefined;
    const attempt = new Promise<void>((resolve, reject) => {
      this.#connectAttempt = { resolve, reject };
    });

    socket.onopen = () => {
      if (this.#socket !== socket || this.#state !== PeerState.Connecting) return;
      this.#opened = true;
      socket.send(connectFrame);
    };
    socket.onmessage = (event) => {
      if (this.#socket === socket) this.#receive(event.data);
    };
    socket.onerror = () => {
      // A browser says nothing about why (refused, unreachable, an untrusted certificate): only that
      // the socket failed. Before Connect went out, the transport never connected.
      if (this.#socket !== socket || this.#state !== PeerState.Connecting || socket.readyState === WS_OPEN) return;
      this.#end(StatusCode.ExceptionOnConnect, 0, `could not open a WebSocket to ${url} (unreachable, refused, or a certificate the browser does not trust)`, false);
    };
    socket.onclose = (event) => {
      if (this.#socket === socket) this.#transportClosed(event.code, event.reason);
    };
    this.#schedule();
    return attempt;
  }

  /**
   * Ends the connection: sends Disconnect (ClientRequest) and closes the socket. Resolves once the
   * socket is closed and Disconnect (1025) was reported.
   */
  disconnect(): Promise<void> {
    if (this.#state === PeerState.Disconnected) return Promise.resolve();
    const closed = new Promise<void>((resolve) => this.#closed.push(resolve));
    if (this.#state !== PeerState.Disconnecting) {
      this.#end(undefined, DisconnectReason.ClientRequest, 'the client disconnected', true);
    }
    return closed;
  }

  /**
   * Sends an operation request. Throws SendError when not connected, or when the parameters break a
   * limit of section 4.5 (its `cause` is the CodecError the server would have reported). Its response,
   * if the server sends one, goes to `onOperationResponse`.
   */
  sendOperation(opCode: number, params?: Params | ParamsInit, options: SendOptions = {}): void {
    this.#send(opCode, params, options, null);
  }

  /** Sends an operation and resolves with its response, whatever its return code. */
  request(opCode: number, params?: Params | ParamsInit, options: SendOptions = {}): Promise<OperationResponse> {
    if (opCode === OperationCode.RaiseEvent) return Promise.reject(new TypeError('RaiseEvent gets no response when it succeeds: use raiseEvent'));
    return new Promise((resolve, reject) => {
      try {
        this.#send(opCode, params, options, { resolve, reject });
      } catch (error) {
        reject(error);
      }
    });
  }

  /**
   * Authenticates (docs/auth.md): with a connection token and the studio's backend (Authenticate,
   * 230), or with a server token from an earlier authentication (AuthenticateOnce, 231). Resolves with
   * the player's identity and a fresh server token; rejects with an OperationError (InvalidAuthentication,
   * CustomAuthenticationFailed, AuthenticationTicketExpired, ...) when the server says no, or with an
   * AuthValuesError before sending when a value is over its limit.
   */
  async authenticate(values: AuthValues): Promise<AuthResult> {
    const [opCode, params] = authRequest(values);
    const response = await this.request(opCode, params, { encrypt: true });
    if (response.returnCode !== ReturnCode.Ok) throw new OperationError(response);
    this.#takeToken(response.params);
    this.#userId = response.params.typed(ParameterCode.UserId, 'Str')?.value ?? '';
    this.#nickname = response.params.typed(ParameterCode.Nickname, 'Str')?.value ?? '';
    return {
      userId: this.#userId,
      nickname: this.#nickname,
      token: this.#token,
      data: response.params.typed(ParameterCode.Data, 'Table')?.value,
      response,
    };
  }

  /** Joins (by default creating on demand) the room `name`. Resolves with the room once joined. */
  async joinRoom(name: string, options: JoinOptions = {}): Promise<RoomInfo> {
    const params = new Params().set(ParameterCode.RoomName, Str(name));
    if (options.createIfMissing !== undefined) params.set(ParameterCode.JoinMode, UInt8(options.createIfMissing ? 1 : 0));
    const roomOptions = roomOptionsTable(options);
    if (roomOptions) params.set(ParameterCode.RoomOptions, roomOptions);
    return this.#joined(await this.request(OperationCode.JoinRoom, params, { encrypt: options.encrypt ?? true }));
  }

  /** Creates a room (the server names it when `name` is absent) and joins it. */
  async createRoom(name?: string, options: RoomOptions & { readonly encrypt?: boolean } = {}): Promise<RoomInfo> {
    const params = new Params();
    if (name !== undefined) params.set(ParameterCode.RoomName, Str(name));
    const roomOptions = roomOptionsTable(options);
    if (roomOptions) params.set(ParameterCode.RoomOptions, roomOptions);
    return this.#joined(await this.request(OperationCode.CreateRoom, params, { encrypt: options.encrypt ?? true }));
  }

  /** Joins an open, visible room with space, chosen by the server. */
  async joinRandomRoom(): Promise<RoomInfo> {
    return this.#joined(await this.request(OperationCode.JoinRandomRoom, new Params(), { encrypt: true }));
  }

  /** Leaves the room; resolves once the server confirmed. */
  async leaveRoom(): Promise<void> {
    const response = await this.request(OperationCode.LeaveRoom, new Params());
    if (response.returnCode !== ReturnCode.Ok) throw new OperationError(response);
    this.#room = undefined;
  }

  /**
   * Raises event `code` (0 to 199) in the room with `data` (any value; plain JS values are typed by
   * `toValue`). The server answers only when it skipped recipients (to `onOperationResponse`).
   */
  raiseEvent(code: number, data?: ValueInput, options: RaiseEventOptions = {}): void {
    if (!Number.isInteger(code) || code < 0 || code > 199) throw new RangeError('an event code is 0 to 199 (200 and above are the server\'s)');
    const params = new Params().set(ParameterCode.Code, Int32(code));
    if (data !== undefined) params.set(ParameterCode.Data, toValue(data));
    const group = { others: ReceiverGroup.Others, all: ReceiverGroup.All, master: ReceiverGroup.MasterClient }[options.receivers ?? 'others'];
    if (group === undefined) throw new RangeError('receivers is "others", "all" or "master"');
    if (group !== ReceiverGroup.Others) params.set(ParameterCode.ReceiverGroup, Int32(group));
    this.sendOperation(OperationCode.RaiseEvent, params, options);
  }

  // -------------------------------------------------------------------------------------------
  // Sending
  // -------------------------------------------------------------------------------------------

  #send(opCode: number, init: Params | ParamsInit | undefined, options: SendOptions, pending: Pending): void {
    if (!Number.isInteger(opCode) || opCode < 0 || opCode > 255) throw new RangeError('an operation code is 0 to 255');
    if (this.#state !== PeerState.Encrypted || !this.#socket) throw new SendError('not connected: connect first (and wait for it to resolve)');
    const params = init instanceof Params ? init : new Params(init);
    // A must-encrypt operation is marked so even when the caller did not ask: the flag is how a peer
    // says it, and TLS is what protects it here.
    const frameOptions: FrameOptions = {
      encrypted: options.encrypt === true || MUST_ENCRYPT_OPERATIONS.has(opCode),
      delivery: options.delivery ?? DeliveryMode.Reliable,
      channel: options.channel ?? 0,
    };
    let frame: Uint8Array;
    try {
      frame = buildFrame(SECURE_VERSION, MessageType.OperationRequest, frameOptions, MAX_BODY, (out) =>
        encodeOperationRequest(out, { opCode, params }, this.#limits),
      );
    } catch (error) {
      if (error instanceof CodecError) throw new SendError(`operation ${opCode} not sent: ${error.message}`, { cause: error });
      throw error;
    }
    this.#socket.send(frame);
    // The server answers every operation but a successful RaiseEvent, in the order they were sent, so
    // each sent operation takes its place in its code's queue and the answers are matched in order.
    if (opCode !== OperationCode.RaiseEvent) {
      const queue = this.#pending.get(opCode) ?? [];
      queue.push(pending);
      this.#pending.set(opCode, queue);
    }
  }

  #sendFrame(type: MessageType, write: Parameters<typeof buildFrame>[4]): void {
    const socket = this.#socket;
    if (!socket || socket.readyState !== WS_OPEN) return;
    const version = this.#state === PeerState.Connecting ? HANDSHAKE_VERSION : SECURE_VERSION;
    socket.send(buildFrame(version, type, {}, MAX_BODY, write));
  }

  #ping(now: number): void {
    this.#nextPingAt = now + this.#options.pingIntervalMs;
    const timestamp = BigInt(Math.max(0, Math.floor(now - this.#startedAt)));
    this.#sendFrame(MessageType.Ping, (out) => encodePing(out, timestamp));
  }

  // -------------------------------------------------------------------------------------------
  // Receiving
  // -------------------------------------------------------------------------------------------

  #receive(data: unknown): void {
    if (this.#state === PeerState.Disconnecting || this.#state === PeerState.Disconnected) return;
    try {
      // Compared by tag, not instanceof: an ArrayBuffer from another realm (an iframe) is one too.
      if (Object.prototype.toString.call(data) !== '[object ArrayBuffer]') {
        throw new ProtocolError('a text WebSocket message: sealnet frames are binary messages');
      }
      const accepted = this.#state !== PeerState.Connecting;
      let frame: Frame;
      try {
        frame = parseFrame(new Uint8Array(data as ArrayBuffer), accepted ? SECURE_VERSION : HANDSHAKE_VERSION, accepted ? MAX_BODY : MAX_CLEAR_BODY);
      } catch (error) {
        // A first answer that is not sealnet at all is a different mistake (a wrong port, an HTTP
        // server) from a broken sealnet frame, and is worth saying so.
        if (!accepted && error instanceof ProtocolError && new Uint8Array(data as ArrayBuffer)[0] !== HANDSHAKE_VERSION) {
          throw new ProtocolError('the server does not speak the sealnet protocol');
        }
        throw error;
      }
      this.#lastReceivedAt = this.#options.now();
      this.#dispatch(frame);
    } catch (error) {
      if (error instanceof ProtocolError || error instanceof CodecError) {
        const reason = error instanceof ProtocolError ? error.reason : DisconnectReason.ProtocolViolation;
        this.#end(StatusCode.ExceptionOnReceive, reason, `refused a frame from the server: ${error.message}`, true);
        return;
      }
      throw error;
    }
  }

  #dispatch(frame: Frame): void {
    if (frame.type === MessageType.Disconnect) {
      const { reason, message } = decodeDisconnect(frame.body);
      this.#end(statusForServerReason(reason), reason, message || `the server disconnected (${reasonName(reason)})`, false);
      return;
    }
    if (this.#state === PeerState.Connecting) {
      if (frame.type !== MessageType.ConnectAck) throw new ProtocolError(`message type ${frame.type} before the server accepted`);
      this.#connectAck(frame.body);
      return;
    }
    switch (frame.type) {
      case MessageType.OperationResponse: {
        const body = decodeOperationResponse(frame.body, this.#limits);
        this.#response({ ...body, encrypted: frame.encrypted });
        return;
      }
      case MessageType.Event: {
        const body = decodeEvent(frame.body, this.#limits);
        this.#event({ ...body, encrypted: frame.encrypted });
        return;
      }
      case MessageType.Ping: {
        const timestamp = decodePing(frame.body);
        // A client's Pong never carries a server time (section 3.11).
        this.#sendFrame(MessageType.Pong, (out) => encodePong(out, { echoMs: timestamp }));
        return;
      }
      case MessageType.Pong: {
        const pong = decodePong(frame.body);
        if (pong.serverTimeMs === undefined) throw new ProtocolError('a Pong without the server time, which version 4 requires');
        const now = this.#options.now();
        const rtt = Math.max(0, now - this.#startedAt - Number(pong.echoMs));
        this.#rtt = rtt;
        this.#serverClockOffset = Number(pong.serverTimeMs) + rtt / 2 - now;
        return;
      }
      default:
        // Connect, ConnectAck after acceptance, the key-exchange messages (no key exchange runs over
        // WSS) and OperationRequest are never valid at a client.
        throw new ProtocolError(`message type ${frame.type} is not valid at a client over WSS`);
    }
  }

  #connectAck(body: Uint8Array): void {
    const ack = decodeConnectAck(body);
    if (ack.reason !== DisconnectReason.None) {
      let message = ack.message || `the server refused the connection (${reasonName(ack.reason)})`;
      if (ack.reason === DisconnectReason.VersionMismatch && ack.versions) {
        message = `the server speaks protocol versions ${ack.versions.min} to ${ack.versions.max}; this client speaks ${SECURE_VERSION} to ${SECURE_VERSION}: update the older one`;
      }
      // A refusing ConnectAck is the server's last word: nothing is sent after it.
      this.#end(statusForServerReason(ack.reason), ack.reason, message, false);
      return;
    }
    if (!ack.versions) throw new ProtocolError('the ConnectAck has no version range, but the Connect had one');
    if (ack.versions.chosen !== SECURE_VERSION) throw new ProtocolError(`the server chose protocol version ${ack.versions.chosen}, outside this client's ${SECURE_VERSION} to ${SECURE_VERSION}`);
    this.#state = PeerState.Encrypted;
    this.#report(StatusCode.Connect, 0, 'connected');
    this.#report(StatusCode.EncryptionEstablished, 0, WSS_ENCRYPTION_MESSAGE);
    // The first Ping goes at once, so the round-trip time and the server clock are known within one
    // round trip (section 9).
    if (this.#state === PeerState.Encrypted) this.#ping(this.#options.now());
    const attempt = this.#connectAttempt;
    this.#connectAttempt = null;
    attempt?.resolve();
    this.#schedule();
  }

  #response(response: OperationResponse): void {
    if (response.opCode === OperationCode.JoinRoom || response.opCode === OperationCode.CreateRoom) this.#takeToken(response.params);
    const queue = this.#pending.get(response.opCode);
    const pending = queue?.shift();
    if (queue && queue.length === 0) this.#pending.delete(response.opCode);
    this.#call(() => this.onOperationResponse?.(response));
    pending?.resolve(response);
  }

  #event(event: EventData): void {
    const actors = actorList(event.params.get(ParameterCode.ActorList));
    if ((event.code === EventCode.Join || event.code === EventCode.Leave) && this.#room && actors) {
      this.#room = { ...this.#room, actors };
    }
    if (event.code === EventCode.AuthEvent) this.#takeToken(event.params);
    this.#call(() => this.onEvent?.(event));
  }

  #joined(response: OperationResponse): RoomInfo {
    if (response.returnCode !== ReturnCode.Ok) throw new OperationError(response);
    const name = response.params.typed(ParameterCode.RoomName, 'Str')?.value ?? '';
    const actorNumber = response.params.typed(ParameterCode.ActorNr, 'Int32')?.value ?? 0;
    this.#room = { name, actorNumber, actors: actorList(response.params.get(ParameterCode.ActorList)) ?? [actorNumber] };
    return this.#room;
  }

  #takeToken(params: Params): void {
    const bytes = params.typed(ParameterCode.Token, 'Bytes')?.value;
    const expires = params.typed(ParameterCode.TokenExpires, 'Int64')?.value;
    if (bytes && expires !== undefined) this.#token = { bytes, expiresAtMs: Number(expires) };
  }

  // -------------------------------------------------------------------------------------------
  // Timers and closing
  // -------------------------------------------------------------------------------------------

  /** One timer, set for the earliest thing due: the connect deadline, the next Ping, the silence limit. */
  #schedule(): void {
    if (this.#timer !== null) clearTimeout(this.#timer);
    this.#timer = null;
    let due: number;
    if (this.#state === PeerState.Connecting) due = this.#connectDeadline;
    else if (this.#state === PeerState.Encrypted) due = Math.min(this.#nextPingAt, this.#lastReceivedAt + this.#options.disconnectTimeoutMs);
    else return;
    this.#timer = setTimeout(() => this.#tick(), Math.max(0, due - this.#options.now()));
  }

  #tick(): void {
    this.#timer = null;
    const now = this.#options.now();
    if (this.#state === PeerState.Connecting && now >= this.#connectDeadline) {
      this.#end(StatusCode.TimeoutDisconnect, DisconnectReason.Timeout, `the server did not accept within ${this.#options.connectTimeoutMs} ms`, true);
      return;
    }
    if (this.#state === PeerState.Encrypted) {
      if (now - this.#lastReceivedAt >= this.#options.disconnectTimeoutMs) {
        this.#end(StatusCode.TimeoutDisconnect, DisconnectReason.Timeout, `nothing received from the server for ${this.#options.disconnectTimeoutMs} ms`, true);
        return;
      }
      if (now >= this.#nextPingAt) this.#ping(now);
    }
    this.#schedule();
  }

  /**
   * Starts closing: reports `status` (if any), says goodbye with a Disconnect when asked to and the
   * socket is open, and closes the socket; Disconnect (1025) follows when it has closed.
   */
  #end(status: number | undefined, reason: number, message: string, sendDisconnect: boolean): void {
    if (this.#state === PeerState.Disconnecting || this.#state === PeerState.Disconnected) return;
    if (sendDisconnect) this.#sendFrame(MessageType.Disconnect, (out) => encodeDisconnect(out, { reason, message }));
    this.#state = PeerState.Disconnecting;
    this.#closeReason = reason;
    if (this.#timer !== null) clearTimeout(this.#timer);
    this.#timer = null;
    const attempt = this.#connectAttempt;
    this.#connectAttempt = null;
    if (status !== undefined) this.#report(status, reason, message);
    attempt?.reject(new ConnectError(status ?? StatusCode.Disconnect, reason, message));
    this.#rejectPending(message);
    const socket = this.#socket;
    try {
      socket?.close(1000);
    } catch {
      // Closing a socket that never opened may throw in some browsers; it is closed either way.
    }
    // Some sockets never report their close (a stand-in, a browser tab being torn down): stop
    // waiting after a while.
    this.#closeTimer = setTimeout(() => {
      if (this.#socket === socket) this.#transportClosed(1006, '');
    }, CLOSE_GRACE_MS);
  }

  #transportClosed(code: number, why: string): void {
    if (this.#state !== PeerState.Disconnecting && this.#state !== PeerState.Disconnected) {
      // The transport went away without a Disconnect (section 5.3).
      const detail = why ? `: ${why}` : '';
      const status = this.#opened ? StatusCode.DisconnectByServerReasonUnknown : StatusCode.ExceptionOnConnect;
      this.#end(status, DisconnectReason.None, `the connection was closed without a Disconnect (WebSocket close ${code}${detail})`, false);
    }
    if (this.#state === PeerState.Disconnected) return;
    if (this.#closeTimer !== null) clearTimeout(this.#closeTimer);
    this.#closeTimer = null;
    const socket = this.#socket;
    if (socket) socket.onopen = socket.onmessage = socket.onerror = socket.onclose = null;
    this.#socket = null;
    this.#state = PeerState.Disconnected;
    this.#opened = false;
    this.#room = undefined;
    const reason = this.#closeReason;
    this.#report(StatusCode.Disconnect, reason, `disconnected (${reasonName(reason)})`);
    const waiting = this.#closed;
    this.#closed = [];
    for (const resolve of waiting) resolve();
  }

  #rejectPending(message: string): void {
    const pending = [...this.#pending.values()].flat();
    this.#pending.clear();
    for (const entry of pending) entry?.reject(new DisconnectedError(`the connection ended before the response: ${message}`));
  }

  #report(code: number, reason: number, message: string): void {
    this.#call(() => this.onStatus?.(code, reason, message));
  }

  /**
   * Runs an application callback. What it throws must not break the session, so it is reported the
   * way a browser reports an uncaught error (`reportError`: the console and `window.onerror`), or,
   * where that does not exist, rethrown on its own.
   */
  #call(callback: () => void): void {
    try {
      callback();
    } catch (error) {
      const report = (globalThis as { reportError?: (error: unknown) => void }).reportError;
      if (report) report(error);
      else
        queueMicrotask(() => {
          throw error;
        });
    }
  }
}

/** The request of `values` (docs/auth.md section 4.1), after the limits of src/auth.rs. */
export function authRequest(values: AuthValues): [number, Params] {
  const params = new Params();
  if (values.token !== undefined) {
    if (values.token.length === 0) throw new AuthValuesError('token authentication needs a server token');
    if (values.token.length > MAX_SERVER_TOKEN) throw new AuthValuesError(`the server token is ${values.token.length} bytes; the limit is ${MAX_SERVER_TOKEN} bytes`);
    params.set(ParameterCode.Token, Bytes(values.token));
    return [OperationCode.AuthenticateOnce, params];
  }
  params.set(ParameterCode.AuthType, UInt8(values.authType === 'none' ? 255 : 0));
  const token = values.connectionToken;
  if (token !== undefined && token.length > 0) {
    if (token.length > MAX_CONNECTION_TOKEN) {
      throw new AuthValuesError(`the connection token is ${token.length} bytes; the limit is ${MAX_CONNECTION_TOKEN} bytes (it is never truncated)`);
    }
    params.set(ParameterCode.ConnectionToken, Bytes(token));
  }
  if (values.userId) {
    const size = utf8Len(values.userId);
    if (size > MAX_USER_ID) throw new AuthValuesError(`the user id is ${size} bytes; the limit is ${MAX_USER_ID} bytes`);
    params.set(ParameterCode.UserId, Str(values.userId));
  }
  const entries = Object.entries(values.params ?? {});
  if (entries.length > MAX_AUTH_PARAMS) throw new AuthValuesError(`more than ${MAX_AUTH_PARAMS} authentication parameters`);
  if (entries.length > 0) {
    const table = new Hashtable();
    for (const [key, value] of entries) {
      const size = Math.max(utf8Len(key), utf8Len(value));
      if (size > MAX_AUTH_PARAM_TEXT || key.length === 0) {
        throw new AuthValuesError(`an authentication parameter of ${size} bytes; keys and values are limited to ${MAX_AUTH_PARAM_TEXT} bytes`);
      }
      table.set(Str(key), Str(value));
    }
    params.set(ParameterCode.AuthParams, Table(table));
  }
  if (values.authData !== undefined) {
    if (values.authData.length > MAX_AUTH_DATA) throw new AuthValuesError(`the authentication data is ${values.authData.length} bytes; the limit is ${MAX_AUTH_DATA} bytes`);
    params.set(ParameterCode.AuthData, Bytes(values.authData));
  }
  return [OperationCode.Authenticate, params];
}

function roomOptionsTable(options: RoomOptions): Table | undefined {
  const table = new Hashtable();
  if (options.maxPlayers !== undefined) {
    table.set(UInt8(RoomOptionKey.MaxPlayers), options.maxPlayers <= 255 ? UInt8(options.maxPlayers) : Int32(options.maxPlayers));
  }
  if (options.isVisible !== undefined) table.set(UInt8(RoomOptionKey.IsVisible), Bool(options.isVisible));
  if (options.isOpen !== undefined) table.set(UInt8(RoomOptionKey.IsOpen), Bool(options.isOpen));
  return table.size > 0 ? Table(table) : undefined;
}

/** The actor list of section 13.2: an IntArray, or a List of Int32 on version 1. */
function actorList(value: Value | undefined): number[] | undefined {
  if (value?.type === 'IntArray') return Array.from(value.value);
  if (value?.type === 'List' && value.value.every((item) => item.type === 'Int32')) return value.value.map((item) => item.value as number);
  return undefined;
}

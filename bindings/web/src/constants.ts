/**
 * The numbers of docs/protocol.md section 10 and of the reference server (section 13, docs/auth.md),
 * with Photon's names, so game code written against Photon's SDKs reads the same here.
 */

/** What the client reports to the application (section 10.2): Photon's `StatusCode` numbers. */
export const StatusCode = Object.freeze({
  SecurityExceptionOnConnect: 1022,
  ExceptionOnConnect: 1023,
  Connect: 1024,
  Disconnect: 1025,
  Exception: 1026,
  SendError: 1030,
  ExceptionOnReceive: 1039,
  TimeoutDisconnect: 1040,
  DisconnectByServerTimeout: 1041,
  DisconnectByServerUserLimit: 1042,
  DisconnectByServerLogic: 1043,
  DisconnectByServerReasonUnknown: 1044,
  EncryptionEstablished: 1048,
  EncryptionFailedToEstablish: 1049,
  ServerAddressInvalid: 1050,
  DnsExceptionOnConnect: 1051,
});
export type StatusCode = (typeof StatusCode)[keyof typeof StatusCode];

/** Disconnect reasons on the wire (section 10.1). */
export const DisconnectReason = Object.freeze({
  None: 0,
  ClientRequest: 1,
  ServerShutdown: 2,
  Timeout: 3,
  ProtocolViolation: 4,
  AuthenticationFailed: 5,
  Replay: 6,
  UnknownAppId: 7,
  VersionMismatch: 8,
  KeyExchangeFailed: 9,
  CounterExhausted: 10,
  SlowConsumer: 11,
  ServerLogic: 12,
  ServerFull: 13,
  RateLimited: 14,
  TokenRefused: 15,
});

/** Local peer states (section 10.3); over WSS a connected client is `Encrypted` at once. */
export const PeerState = Object.freeze({
  Disconnected: 0,
  Connecting: 1,
  Connected: 3,
  Disconnecting: 4,
  EstablishingEncryption: 5,
  Encrypted: 6,
});
export type PeerState = (typeof PeerState)[keyof typeof PeerState];

/** Photon's `DeliveryMode` (section 2.2). Over WSS every frame arrives reliably and in order. */
export const DeliveryMode = Object.freeze({
  Unreliable: 0,
  Reliable: 1,
  UnreliableUnsequenced: 2,
  ReliableUnsequenced: 3,
});
export type DeliveryMode = (typeof DeliveryMode)[keyof typeof DeliveryMode];

/** Operation return codes (section 10.4, docs/auth.md section 4.2). */
export const ReturnCode = Object.freeze({
  Ok: 0,
  InternalServerError: -1,
  InvalidOperation: -2,
  OperationNotAllowedInCurrentState: -3,
  MustEncrypt: -10,
  PluginRejected: -11,
  ServerBusy: -12,
  DirectoryUnavailable: -13,
  InvalidAuthentication: 32767,
  GameIdAlreadyExists: 32766,
  GameFull: 32765,
  GameClosed: 32764,
  ServerFull: 32762,
  NoRandomMatchFound: 32760,
  GameDoesNotExist: 32758,
  CustomAuthenticationFailed: 32755,
  AuthenticationTicketExpired: 32753,
  HttpLimitReached: 32745,
  ExternalHttpCallFailed: 32744,
});

/** Operations of the reference server (section 10.5). */
export const OperationCode = Object.freeze({
  Authenticate: 230,
  AuthenticateOnce: 231,
  JoinRoom: 226,
  CreateRoom: 227,
  JoinRandomRoom: 225,
  LeaveRoom: 254,
  RaiseEvent: 253,
});

/** Operations that must travel encrypted (section 8); over WSS TLS protects them. */
export const MUST_ENCRYPT_OPERATIONS: ReadonlySet<number> = new Set([OperationCode.Authenticate, OperationCode.AuthenticateOnce]);

/** Events the reference server sends (section 13.2). */
export const EventCode = Object.freeze({
  Join: 255,
  Leave: 254,
  AuthEvent: 223,
});

/** Parameter keys of the reference server (section 13.2, docs/auth.md section 4.1). */
export const ParameterCode = Object.freeze({
  RoomName: 255,
  ActorNr: 254,
  ActorList: 252,
  Code: 244,
  Data: 245,
  ReceiverGroup: 246,
  Skipped: 241,
  Delivered: 240,
  JoinMode: 215,
  RoomOptions: 248,
  AuthType: 217,
  AuthParams: 216,
  AuthData: 214,
  UserId: 225,
  Token: 221,
  ConnectionToken: 199,
  TokenExpires: 198,
  Nickname: 202,
});

/** RaiseEvent's receiver groups (section 13.3). */
export const ReceiverGroup = Object.freeze({
  Others: 0,
  All: 1,
  MasterClient: 2,
});

/** Keys of the room options table (parameter 248), Byte-keyed as Photon's GameProperties. */
export const RoomOptionKey = Object.freeze({
  MaxPlayers: 255,
  IsVisible: 254,
  IsOpen: 253,
});

/** Photon's names for the statuses, for messages and logs. */
export function statusName(code: number): string {
  for (const [name, value] of Object.entries(StatusCode)) if (value === code) return name;
  return `Status${code}`;
}

/** The name of a disconnect reason, or "reason N" for one this library does not know. */
export function reasonName(reason: number): string {
  for (const [name, value] of Object.entries(DisconnectReason)) if (value === reason) return name;
  return `reason ${reason}`;
}

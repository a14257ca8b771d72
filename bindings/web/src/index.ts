/** sealnet for browsers: the value model, the codec and a WSS client (docs/protocol.md, version 4). */

export * from './values.js';
export {
  CodecError,
  DEFAULT_LIMITS,
  Reader,
  Writer,
  checkParams,
  decodeParams,
  decodedSize,
  encodeParams,
  type CodecErrorCode,
  type Limits,
} from './codec.js';
export * from './constants.js';
export {
  Flag,
  MessageType,
  ProtocolError,
  SECURE_VERSION,
  buildFrame,
  parseFrame,
  type Frame,
} from './protocol.js';
export * from './client.js';

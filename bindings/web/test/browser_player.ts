/**
 * The browser's side of test/browser.test.mjs: runs inside Chromium (loaded from test/page.html) and
 * plays against the native C player (test/native_player.c) through the real server. Every wait is for
 * a message and has a deadline; the first thing that is not as expected throws, with what was seen.
 */

import {
  ConnectError,
  Dict,
  EventCode,
  OperationError,
  Params,
  SealnetClient,
  StatusCode,
  Str,
  WSS_ENCRYPTION_MESSAGE,
  describeParams,
  encodeParams,
  paramsEqual,
  readVector,
  type EventData,
} from '../src/index.js';
import { allTypes, edgeValues } from './fixtures.js';

export interface PlayerConfig {
  readonly url: string;
  readonly room: string;
  /** The actor number the native player joined as. */
  readonly nativeActor: number;
  /** SEALNET_TEST_CONNECTION_TOKEN (hex), when the server has a backend; empty otherwise. */
  readonly connectionToken: string;
  /** The nickname the backend gave that guest. */
  readonly nickname: string;
}

export interface PlayerReport {
  readonly actor: number;
  readonly statuses: Array<[number, number, string]>;
  readonly typesFromNative: string[];
  readonly nativeChat: string;
  readonly echoedBytes: number;
  readonly authenticated: string;
  readonly tokenAuthStatuses: number[];
  readonly refusedStatuses: Array<[number, number]>;
  readonly roundTripTime: number | undefined;
  readonly serverTimeMs: number | undefined;
  readonly actorsAfterLeave: readonly number[];
}

const STEP_MS = 20_000;

function fail(message: string): never {
  throw new Error(message);
}

function within<T>(promise: Promise<T>, what: string, ms = STEP_MS): Promise<T> {
  let timer: ReturnType<typeof setTimeout> | undefined;
  const deadline = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new Error(`no ${what} within ${ms} ms`)), ms);
  });
  return Promise.race([promise, deadline]).finally(() => clearTimeout(timer));
}

/** Events as they arrive, and waits for the next one that matches. */
class Inbox {
  readonly #events: EventData[] = [];
  readonly #waiters: Array<{ match(event: EventData): boolean; resolve(event: EventData): void }> = [];

  push(event: EventData): void {
    const at = this.#waiters.findIndex((waiter) => waiter.match(event));
    if (at >= 0) this.#waiters.splice(at, 1)[0]?.resolve(event);
    else this.#events.push(event);
  }

  next(match: (event: EventData) => boolean, what: string): Promise<EventData> {
    const at = this.#events.findIndex(match);
    if (at >= 0) return Promise.resolve(this.#events.splice(at, 1)[0] as EventData);
    return within(new Promise((resolve) => this.#waiters.push({ match, resolve })), what);
  }
}

function unhex(text: string): Uint8Array {
  return Uint8Array.from(text.match(/../g) ?? [], (pair) => parseInt(pair, 16));
}

function sameBytes(a: Uint8Array, b: Uint8Array): boolean {
  return a.length === b.length && a.every((byte, i) => byte === b[i]);
}

function dataOf(event: EventData): Params {
  const data = event.params.get(245);
  if (data?.type !== 'Dict') fail(`event ${event.code} has no Dict in parameter 245: ${describeParams(event.params)}`);
  return data.value;
}

/** A client whose statuses are recorded. */
function recorded(): { client: SealnetClient; statuses: Array<[number, number, string]> } {
  const client = new SealnetClient();
  const statuses: Array<[number, number, string]> = [];
  client.onStatus = (code, reason, message) => {
    statuses.push([code, reason, message]);
    console.log(`status ${code} reason ${reason}: ${message}`);
  };
  return { client, statuses };
}

export async function run(config: PlayerConfig): Promise<PlayerReport> {
  const { client, statuses } = recorded();
  const inbox = new Inbox();
  client.onEvent = (event) => inbox.push(event);
  client.onOperationResponse = (response) => {
    // The server answers RaiseEvent only when it skipped a recipient, which must not happen here.
    if (response.opCode === 253) console.log(`RaiseEvent answered ${response.returnCode}: ${response.debugMessage}`);
  };

  await within(client.connect(config.url, { appId: 'demo', appVersion: 'web-test' }), 'acceptance');
  const opening = statuses.map(([code, reason, message]) => `${code}/${reason}/${message}`);
  if (opening.join('|') !== `1024/0/connected|1048/0/${WSS_ENCRYPTION_MESSAGE}`) fail(`statuses on connecting: ${opening.join(', ')}`);
  if (!client.isEncrypted || client.protocolVersion !== 4) fail('not Encrypted on protocol version 4 after acceptance');

  // Custom authentication through the backend, then the server token on a second connection.
  let authenticated = 'anonymous';
  let token: Uint8Array | undefined;
  if (config.connectionToken) {
    const auth = await within(client.authenticate({ connectionToken: unhex(config.connectionToken) }), 'Authenticate response');
    if (auth.nickname !== config.nickname) fail(`authenticated as "${auth.nickname}", the backend's guest is "${config.nickname}"`);
    if (!auth.token || auth.token.bytes.length === 0 || auth.token.expiresAtMs <= Date.now()) fail('no valid server token after Authenticate');
    token = auth.token.bytes;
    authenticated = `${auth.nickname} (${auth.userId})`;
  }

  const room = await within(client.joinRoom(config.room), 'JoinRoom response');
  if (!room.actors.includes(config.nativeActor)) fail(`the room's actors ${room.actors.join(', ')} do not include the native player ${config.nativeActor}`);

  // The native player's 21 values, exactly, with their types, and its chat line.
  const fromNative = await inbox.next((e) => e.code === 42, 'event 42 from the native player');
  if (fromNative.sender !== config.nativeActor) fail(`event 42 from actor ${fromNative.sender}, not ${config.nativeActor}`);
  if (!fromNative.encrypted) fail('event 42 arrived without the encrypted flag the native player raised it with');
  const values = dataOf(fromNative);
  if (!paramsEqual(values, allTypes())) fail(`event 42 holds ${describeParams(values)}\nexpected ${describeParams(allTypes())}`);
  if (!sameBytes(encodeParams(values), encodeParams(allTypes()))) fail('event 42 re-encodes to other bytes than the 21 values');
  const vector = readVector(values.get(19));
  if (vector?.join(',') !== '1,2,3') fail(`key 19 reads as the vector ${String(vector)}, not (1, 2, 3)`);
  const typesFromNative = values.entries().map(([key, value]) => `${key}:${value.type}`);

  const chat = await inbox.next((e) => e.code === 1, 'chat line from the native player');
  const chatData = dataOf(chat);
  const nativeChat = `${chatData.typed(1, 'Str')?.value}: ${chatData.typed(2, 'Str')?.value}`;
  if (nativeChat !== 'native: hello from C') fail(`the native chat line reads "${nativeChat}"`);

  // The same 21 values back, every edge value to be echoed, and a chat line sent without encryption.
  client.raiseEvent(42, Dict(allTypes()), { encrypt: true });
  // The data is at depth 1 in the event, so its deepest Dict may go 7 levels further.
  const edges = edgeValues(7);
  client.raiseEvent(44, Dict(edges), { encrypt: true });
  client.raiseEvent(1, Dict(new Params([[1, Str('browser')], [2, Str('hello from the browser')]])));

  const echo = await inbox.next((e) => e.code === 45, 'event 45 (the echo) from the native player');
  const echoed = dataOf(echo);
  if (!paramsEqual(echoed, edges)) fail(`the echo holds ${describeParams(echoed)}\nsent ${describeParams(edges)}`);
  const echoedBytes = encodeParams(echoed);
  if (!sameBytes(echoedBytes, encodeParams(edges))) fail('the echo re-encodes to other bytes than were sent');

  client.raiseEvent(46);
  const left = await inbox.next((e) => e.code === EventCode.Leave && e.sender === config.nativeActor, 'Leave event of the native player');
  const actorsAfterLeave = client.room?.actors ?? [];
  if (actorsAfterLeave.join() !== String(room.actorNumber)) fail(`after the native player left the room lists ${actorsAfterLeave.join(', ')} (Leave event ${describeParams(left.params)})`);

  // A second connection authenticates with the server token alone (AuthenticateOnce).
  const tokenStatuses: number[] = [];
  if (token) {
    const second = recorded();
    await within(second.client.connect(config.url, { appId: 'demo' }), 'acceptance of the second connection');
    const again = await within(second.client.authenticate({ token }), 'AuthenticateOnce response');
    if (again.nickname !== config.nickname) fail(`the server token authenticated "${again.nickname}"`);
    await within(second.client.disconnect(), 'close of the second connection');
    tokenStatuses.push(...second.statuses.map(([code]) => code));
    // A token that is not one the server sealed is refused with AuthenticationTicketExpired.
    const third = recorded();
    await within(third.client.connect(config.url, { appId: 'demo' }), 'acceptance of the third connection');
    const forged = token.slice();
    forged[forged.length - 1] = (forged[forged.length - 1] as number) ^ 1;
    const refusal = await third.client.authenticate({ token: forged }).then(
      () => fail('an altered server token was accepted'),
      (error: unknown) => error,
    );
    if (!(refusal instanceof OperationError) || refusal.returnCode !== 32753) fail(`an altered token was refused with ${String(refusal)}`);
    await third.client.disconnect();
  }

  // An application id the server does not serve is refused by its ConnectAck.
  const refused = recorded();
  const refusal = await refused.client.connect(config.url, { appId: 'no-such-app' }).then(
    () => fail('a connection for an unknown app id was accepted'),
    (error: unknown) => error,
  );
  if (!(refusal instanceof ConnectError) || refusal.status !== StatusCode.DisconnectByServerLogic || refusal.reason !== 7) {
    fail(`an unknown app id was refused with ${String(refusal)}`);
  }
  await within(refused.client.disconnect(), 'close of the refused connection');

  const rtt = client.roundTripTime;
  const serverTimeMs = client.serverTimeMs;
  await within(client.leaveRoom(), 'LeaveRoom response');
  await within(client.disconnect(), 'close');
  return {
    actor: room.actorNumber,
    statuses,
    typesFromNative,
    nativeChat,
    echoedBytes: echoedBytes.length,
    authenticated,
    tokenAuthStatuses: tokenStatuses,
    refusedStatuses: refused.statuses.map(([code, reason]) => [code, reason]),
    roundTripTime: rtt,
    serverTimeMs,
    actorsAfterLeave,
  };
}

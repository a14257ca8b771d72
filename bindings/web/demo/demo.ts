/**
 * The demo page's script: connect over WSS, join a room, send chat lines and show everyone's. A
 * chat line is event 1 with data {1: name, 2: text}, the format of the native chats, so a browser and
 * `examples/chat.c` talk in the same room.
 */

import { Dict, EventCode, Params, SealnetClient, Str, statusName, type EventData } from '../src/index.js';

const CHAT_EVENT = 1;

const connectForm = document.querySelector<HTMLFormElement>('#connect')!;
const chatForm = document.querySelector<HTMLFormElement>('#chat')!;
const log = document.querySelector<HTMLDivElement>('#log')!;
const stateLabel = document.querySelector<HTMLSpanElement>('#status .state')!;
const players = document.querySelector<HTMLDivElement>('#players')!;
const field = (form: HTMLFormElement, name: string) => form.elements.namedItem(name) as HTMLInputElement | HTMLButtonElement;

// A server URL in the page's address (?server=wss://...) fills the field, so a link can name it.
const given = new URLSearchParams(location.search).get('server');
if (given) (field(connectForm, 'url') as HTMLInputElement).value = given;

let client: SealnetClient | null = null;

function line(text: string, kind = ''): void {
  const row = document.createElement('div');
  row.textContent = text;
  if (kind) row.className = kind;
  log.append(row);
  log.scrollTop = log.scrollHeight;
}

function setConnected(connected: boolean): void {
  field(connectForm, 'connect').disabled = connected;
  field(connectForm, 'disconnect').disabled = !connected;
  for (const element of chatForm.querySelectorAll<HTMLInputElement | HTMLButtonElement>('input, button')) element.disabled = !connected;
  if (!connected) players.textContent = '';
}

function showPlayers(): void {
  const room = client?.room;
  players.textContent = room ? `Room "${room.name}": you are actor ${room.actorNumber}; players ${room.actors.join(', ')}` : '';
}

function onEvent(event: EventData): void {
  if (event.code === EventCode.Join || event.code === EventCode.Leave) {
    const verb = event.code === EventCode.Join ? 'joined' : 'left';
    if (event.sender !== client?.actorNumber) line(`actor ${event.sender} ${verb}`, 'status');
    showPlayers();
    return;
  }
  if (event.code !== CHAT_EVENT) return;
  const data = event.params.get(245);
  if (data?.type !== 'Dict') return;
  const name = data.value.typed(1, 'Str')?.value ?? '?';
  const text = data.value.typed(2, 'Str')?.value ?? '';
  line(`${name} (actor ${event.sender}${event.encrypted ? ', encrypted' : ''}): ${text}`);
}

connectForm.addEventListener('submit', async (submit) => {
  submit.preventDefault();
  const url = (field(connectForm, 'url') as HTMLInputElement).value.trim();
  const appId = (field(connectForm, 'app') as HTMLInputElement).value.trim();
  const room = (field(connectForm, 'room') as HTMLInputElement).value.trim();
  const session = new SealnetClient();
  client = session;
  session.onStatus = (code, reason, message) => {
    stateLabel.textContent = `${statusName(code)} (${code})`;
    line(`status ${code} ${statusName(code)}${reason ? `, reason ${reason}` : ''}: ${message}`, code === 1024 || code === 1048 ? 'status' : 'error');
    if (code === 1025) setConnected(false);
  };
  session.onEvent = onEvent;
  session.onOperationResponse = (response) => {
    if (response.returnCode !== 0) line(`operation ${response.opCode} answered ${response.returnCode}: ${response.debugMessage}`, 'error');
  };
  field(connectForm, 'connect').disabled = true;
  try {
    line(`connecting to ${url} ...`, 'status');
    await session.connect(url, { appId, appVersion: 'web-demo' });
    const joined = await session.joinRoom(room);
    line(`joined "${joined.name}" as actor ${joined.actorNumber}`, 'status');
    setConnected(true);
    showPlayers();
    (field(chatForm, 'text') as HTMLInputElement).focus();
  } catch (error) {
    line(String(error instanceof Error ? error.message : error), 'error');
    field(connectForm, 'connect').disabled = false;
  }
});

field(connectForm, 'disconnect').addEventListener('click', async () => {
  const session = client;
  if (!session) return;
  try {
    // Leaving first and waiting for the answer means every line sent before has reached the server.
    if (session.room) await session.leaveRoom();
  } catch (error) {
    line(String(error), 'error');
  }
  await session.disconnect();
});

chatForm.addEventListener('submit', (submit) => {
  submit.preventDefault();
  const input = field(chatForm, 'text') as HTMLInputElement;
  const text = input.value;
  if (!client || !text) return;
  const name = (field(connectForm, 'name') as HTMLInputElement).value;
  const encrypt = (field(chatForm, 'encrypt') as HTMLInputElement).checked;
  try {
    client.raiseEvent(CHAT_EVENT, Dict(new Params([[1, Str(name)], [2, Str(text)]])), { encrypt });
    line(`you${encrypt ? ' (encrypted)' : ''}: ${text}`, 'mine');
    input.value = '';
  } catch (error) {
    line(String(error instanceof Error ? error.message : error), 'error');
  }
});

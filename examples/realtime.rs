//! A player that uses the realtime client: it logs in at a master, asks for a room, follows the
//! master's answer to the game server by itself, says one line once the room has enough players,
//! waits for the others' lines, leaves (back to the master) and disconnects. `make demo-cluster`
//! runs two of these against a master and two game servers.
//!
//!   realtime --master HOST:PORT --pin HEX --name NAME --room ROOM [--players N] [--say TEXT]

use std::process::ExitCode;
use std::time::{Duration, Instant};

use sealnet::auth::{AuthType, AuthValues};
use sealnet::peer::PeerConfig;
use sealnet::protocol::codec::Value;
use sealnet::protocol::sealing::SendOptions;
use sealnet::realtime::{ClientConfig, ClientEvent, ClientState, RealtimeClient};
use sealnet::rooms::{RoomOptions, EVENT_JOIN};

/// The event code of a chat line.
const CHAT: u8 = 1;
/// The whole story must end within this.
const LIMIT: Duration = Duration::from_secs(30);

struct Options {
    master: String,
    pin: [u8; 32],
    name: String,
    room: String,
    players: usize,
    say: String,
}

fn parse() -> Result<Options, String> {
    let mut args = std::env::args().skip(1);
    let (mut master, mut pin, mut name, mut room, mut players, mut say) = (None, None, None, None, 2, None);
    while let Some(flag) = args.next() {
        let value = args.next().ok_or(format!("{flag} needs a value"))?;
        match flag.as_str() {
            "--master" => master = Some(value),
            "--pin" => pin = Some(parse_key(&value).ok_or("--pin: 64 hex digits")?),
            "--name" => name = Some(value),
            "--room" => room = Some(value),
            "--players" => players = value.parse().map_err(|_| "--players: a number")?,
            "--say" => say = Some(value),
            _ => return Err(format!("unknown option {flag}")),
        }
    }
    let name = name.ok_or("--name is required")?;
    Ok(Options {
        master: master.ok_or("--master is required")?,
        pin: pin.ok_or("--pin is required")?,
        say: say.unwrap_or_else(|| format!("hello from {name}")),
        room: room.ok_or("--room is required")?,
        name,
        players,
    })
}

fn parse_key(hex: &str) -> Option<[u8; 32]> {
    let bytes: Vec<u8> =
        (0..hex.len()).step_by(2).map(|i| u8::from_str_radix(hex.get(i..i + 2)?, 16).ok()).collect::<Option<_>>()?;
    bytes.try_into().ok()
}

fn hex_prefix(key: Option<[u8; 32]>) -> String {
    key.map_or_else(|| "-".into(), |key| key[..4].iter().map(|byte| format!("{byte:02x}")).collect())
}

fn main() -> ExitCode {
    let options = match parse() {
        Ok(options) => options,
        Err(problem) => {
            eprintln!("realtime: {problem}");
            return ExitCode::from(2);
        }
    };
    let name = options.name.clone();
    match run(options) {
        Ok(()) => ExitCode::SUCCESS,
        Err(problem) => {
            eprintln!("[{name}] failed: {problem}");
            ExitCode::FAILURE
        }
    }
}

fn run(options: Options) -> Result<(), String> {
    let name = &options.name;
    let mut client = RealtimeClient::new(ClientConfig {
        peer: PeerConfig::default(),
        masters: vec![options.master.clone()],
        master_key: Some(options.pin),
        app_id: "demo".into(),
        app_version: None,
    });
    client.connect(AuthValues::new(AuthType::None)).map_err(|e| e.to_string())?;
    let deadline = Instant::now() + LIMIT;
    let (mut said, mut heard, mut left) = (false, 0usize, false);
    loop {
        if Instant::now() > deadline {
            return Err(format!("did not finish in time (state {:?})", client.state()));
        }
        let Some(event) = client.service() else {
            client.wait(Duration::from_millis(20));
            continue;
        };
        match event {
            ClientEvent::StateChanged(state) => {
                println!("[{name}] {state:?} (server key {}...)", hex_prefix(client.peer().server_public_key()));
                match state {
                    ClientState::ConnectedToMasterServer if !left => {
                        client.join_or_create_room(&options.room, RoomOptions::default()).map_err(|e| e.to_string())?
                    }
                    ClientState::ConnectedToMasterServer => {
                        let left_s = token_seconds_left(&client);
                        println!("[{name}] back at the master with a token valid for {left_s} s more");
                        client.disconnect();
                    }
                    ClientState::Disconnected => return Ok(()),
                    _ => {}
                }
            }
            ClientEvent::Joined { room, actor, actors, .. } => {
                println!("[{name}] joined {room:?} as actor {actor} with {actors:?}");
                if actors.len() >= options.players && !said {
                    say(&mut client, &options.say, name)?;
                    said = true;
                }
            }
            ClientEvent::Event { event, encrypted } if event.code == EVENT_JOIN => {
                let members = match event.params.get(sealnet::rooms::ACTOR_LIST) {
                    Some(Value::IntArray(actors)) => actors.len(),
                    _ => 0,
                };
                if members >= options.players && !said && client.state() == ClientState::Joined {
                    let _ = encrypted;
                    say(&mut client, &options.say, name)?;
                    said = true;
                }
            }
            ClientEvent::Event { event, encrypted } if event.code == CHAT => {
                let text = match event.params.get(sealnet::rooms::DATA) {
                    Some(Value::String(text)) => text.clone(),
                    other => format!("{other:?}"),
                };
                let how = if encrypted { "encrypted" } else { "plain" };
                println!("[{name}] heard actor {}: {text:?} [{how}]", event.sender);
                heard += 1;
            }
            ClientEvent::Failed { op, return_code, message } => {
                return Err(format!("operation {op} failed with {return_code}: {message}"));
            }
            _ => {}
        }
        if said && heard + 1 >= options.players && !left && client.state() == ClientState::Joined {
            client.leave_room().map_err(|e| e.to_string())?;
            left = true;
        }
    }
}

fn say(client: &mut RealtimeClient, text: &str, name: &str) -> Result<(), String> {
    println!("[{name}] says {text:?} [encrypted]");
    client.raise_event(CHAT, Value::String(text.into()), SendOptions::ENCRYPTED).map_err(|e| e.to_string())
}

fn token_seconds_left(client: &RealtimeClient) -> i64 {
    let now_ms = std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).map_or(0, |d| d.as_millis() as i64);
    client.token().map_or(0, |token| (token.expires_at_ms - now_ms) / 1000)
}

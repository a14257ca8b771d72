//! Server plugins: code that sees every operation, every relayed event and every step of a room's
//! life (create, join, leave, set properties, close, and its own timers), and may change, cancel or
//! answer it.
//!
//! The server decrypts what clients send before plugins run, so a plugin reads and edits plaintext; the
//! result is then re-encrypted for each recipient under that recipient's own keys. Plugins run in the
//! order they were installed, on the sending client's task, so they must be quick and must not block.
//! A hook that stops an operation ([`Verdict::Reject`], [`Verdict::Cancel`], [`Verdict::Respond`])
//! stops it for the plugins after it too.

use std::sync::Arc;

use sealnet::protocol::codec::{Params, Table, Value};
use sealnet::protocol::message::{EventData, OperationRequest, OperationResponse};
use sealnet::protocol::status::return_code;

use crate::auth::AuthContext;
use crate::config::PluginConfig;
pub use crate::rooms::{NewRoom, RoomHandle, Target, TimerError, MAX_TIMERS_PER_ROOM};

/// Who receives a RaiseEvent (parameter 246).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ReceiverGroup {
    /// Every member of the room but the sender (the default).
    Others = 0,
    /// Every member, the sender included.
    All = 1,
    /// The member with the lowest actor number, which may be the sender.
    MasterClient = 2,
}

impl ReceiverGroup {
    pub fn from_i32(value: i32) -> Option<Self> {
        match value {
            0 => Some(ReceiverGroup::Others),
            1 => Some(ReceiverGroup::All),
            2 => Some(ReceiverGroup::MasterClient),
            _ => None,
        }
    }
}

/// What a plugin knows about an operation's sender.
#[derive(Debug, Clone, Copy)]
pub struct OpContext<'a> {
    /// The server's number for the connection (unique while the process runs).
    pub connection: u64,
    /// The sender's actor number, when it is in a room.
    pub actor: Option<i32>,
    pub room: Option<&'a str>,
    /// The request arrived encrypted.
    pub encrypted: bool,
    /// Who the sender is, once authenticated.
    pub auth: Option<&'a AuthContext>,
    /// Data servers and plugins put in the sender's token (empty when not authenticated).
    pub injected: Option<&'a Table>,
}

/// A player who just authenticated, before the server answers.
#[derive(Debug, Clone, Copy)]
pub struct AuthenticatedContext<'a> {
    pub connection: u64,
    pub app_id: &'a str,
    pub auth: &'a AuthContext,
    /// Admitted by a server token (AuthenticateOnce) rather than by the backend.
    pub via_token: bool,
}

/// A join that is about to create its room.
#[derive(Debug, Clone, Copy)]
pub struct CreateContext<'a> {
    pub connection: u64,
    /// The name the room will have.
    pub room: &'a str,
    /// Who the creator is, once authenticated.
    pub auth: Option<&'a AuthContext>,
}

/// A player about to join a room (created for it just now, or there already).
#[derive(Debug, Clone, Copy)]
pub struct JoinContext<'a> {
    pub connection: u64,
    pub room: RoomHandle<'a>,
    pub auth: Option<&'a AuthContext>,
}

/// A SetProperties about to apply.
#[derive(Debug, Clone, Copy)]
pub struct PropertiesContext<'a> {
    pub room: RoomHandle<'a>,
    pub sender: i32,
    pub target: Target,
    pub sender_auth: Option<&'a AuthContext>,
}

/// What a plugin knows about an event about to be relayed.
#[derive(Debug, Clone, Copy)]
pub struct EventContext<'a> {
    pub room: RoomHandle<'a>,
    pub sender: i32,
    pub receivers: ReceiverGroup,
    /// The event will be sent encrypted (as its RaiseEvent request was).
    pub encrypted: bool,
    /// Who the sender is, once authenticated.
    pub sender_auth: Option<&'a AuthContext>,
}

/// A plugin's decision.
#[derive(Debug, Clone, PartialEq)]
pub enum Verdict {
    /// Go on, with the (possibly modified) request, event or properties.
    Continue,
    /// Stop: the sender gets an operation response with this return code and message. A return code of
    /// 0 would read as success, so it is replaced by [`return_code::PLUGIN_REJECTED`].
    Reject { return_code: i16, message: String },
    /// Stop quietly: nothing happens and the operation reads as done. A RaiseEvent relays nothing
    /// (and gets no response), a SetProperties changes nothing and is answered 0. A join cannot be
    /// done quietly: it is refused as by [`Verdict::reject`].
    Cancel,
    /// Stop, and answer with this response instead of the server's (its op code is the request's).
    /// A join that did not happen cannot succeed: a return code of 0 there becomes PluginRejected.
    Respond(OperationResponse),
}

impl Verdict {
    /// A rejection with [`return_code::PLUGIN_REJECTED`].
    pub fn reject(message: impl Into<String>) -> Self {
        Verdict::Reject { return_code: return_code::PLUGIN_REJECTED, message: message.into() }
    }
}

/// A server extension. Both hooks default to letting everything through.
pub trait Plugin: Send + Sync {
    /// A short name for logs.
    fn name(&self) -> &str;

    /// Called for each operation request before the server handles it.
    fn on_operation(&self, _ctx: &OpContext<'_>, _request: &mut OperationRequest) -> Verdict {
        Verdict::Continue
    }

    /// Called when a player authenticates (by the backend or by a token), before it is answered. The
    /// plugin reads who it is and the data carried in its token (`injected`, empty after a backend
    /// authentication), and may add to that data: it goes into the player's tokens, so other servers
    /// of the deployment see it. A rejection refuses the authentication.
    fn on_authenticated(&self, _ctx: &AuthenticatedContext<'_>, _injected: &mut Table) -> Verdict {
        Verdict::Continue
    }

    /// Called for each event a RaiseEvent is about to relay, once, before it is encoded and sealed per
    /// recipient.
    fn on_event(&self, _ctx: &EventContext<'_>, _event: &mut EventData) -> Verdict {
        Verdict::Continue
    }

    /// Called when a join is about to create its room: the plugin may change what the room starts
    /// with (options, properties, CleanupCacheOnLeave), or refuse (the join fails and no room is
    /// made).
    fn on_create(&self, _ctx: &CreateContext<'_>, _room: &mut NewRoom) -> Verdict {
        Verdict::Continue
    }

    /// Called before a player joins (after [`Plugin::on_create`] when the join creates the room): the
    /// plugin may change the joiner's first properties (its nickname and user id are in them), or
    /// refuse the join. The room is locked meanwhile: [`RoomHandle::send_event`] and the readers
    /// would wait for it, so this hook must not call them.
    fn on_join(&self, _ctx: &JoinContext<'_>, _properties: &mut Table) -> Verdict {
        Verdict::Continue
    }

    /// Called after a player left the room (by LeaveRoom or by disconnecting), with its actor number;
    /// the others have been sent the Leave event.
    fn on_leave(&self, _room: &RoomHandle<'_>, _actor: i32) {}

    /// Called before a SetProperties applies: the plugin may change the properties set (`changes`),
    /// cancel, refuse or answer the change.
    fn on_set_properties(&self, _ctx: &PropertiesContext<'_>, _changes: &mut Table) -> Verdict {
        Verdict::Continue
    }

    /// Called once a room is gone: its last player left.
    fn on_close(&self, _room: &str) {}

    /// Called when a timer the plugin set with [`RoomHandle::set_timer`] is due, if its room still
    /// exists.
    fn on_timer(&self, _room: &RoomHandle<'_>, _timer: u64) {}
}

/// The plugins the configuration asks for, in a fixed order.
pub fn from_config(config: &PluginConfig) -> Vec<Arc<dyn Plugin>> {
    let mut plugins: Vec<Arc<dyn Plugin>> = Vec::new();
    if config.profanity_mask {
        plugins.push(Arc::new(ProfanityMask::new(&config.masked_words)));
    }
    plugins
}

/// Example plugin: replaces listed words in the string values of relayed events with asterisks, one per
/// character. Matching ignores case and respects word boundaries, so "Darn!" is masked but "darning"
/// is not. Strings nested in arrays and maps are masked too.
#[derive(Debug, Clone)]
pub struct ProfanityMask {
    words: Vec<Vec<char>>,
}

impl ProfanityMask {
    pub fn new<S: AsRef<str>>(words: &[S]) -> Self {
        let mut words = words
            .iter()
            .map(|word| word.as_ref().trim().chars().collect::<Vec<_>>())
            .filter(|word| !word.is_empty())
            .collect::<Vec<_>>();
        // Longest first, so "gosh darn" wins over "gosh" where both are listed.
        words.sort_by_key(|word| std::cmp::Reverse(word.len()));
        ProfanityMask { words }
    }

    /// The text with every listed word masked; `None` when nothing matched.
    pub fn mask(&self, text: &str) -> Option<String> {
        let chars: Vec<char> = text.chars().collect();
        let mut masked: Option<Vec<char>> = None;
        let mut at = 0;
        while at < chars.len() {
            let starts_word = at == 0 || !chars[at - 1].is_alphanumeric();
            let matched = self
                .words
                .iter()
                .find(|word| {
                    let end = at + word.len();
                    starts_word
                        && end <= chars.len()
                        && (end == chars.len() || !chars[end].is_alphanumeric())
                        && same_letters(word, &chars[at..end])
                })
                .map(Vec::len);
            match matched {
                Some(len) => {
                    let out = masked.get_or_insert_with(|| chars.clone());
                    out[at..at + len].fill('*');
                    at += len;
                }
                None => at += 1,
            }
        }
        masked.map(|chars| chars.into_iter().collect())
    }

    fn mask_value(&self, value: &mut Value) {
        match value {
            Value::String(text) => {
                if let Some(masked) = self.mask(text) {
                    *text = masked;
                }
            }
            Value::Array(items) => items.iter_mut().for_each(|item| self.mask_value(item)),
            Value::Map(params) => self.mask_params(params),
            Value::Table(table) => self.mask_table(table),
            _ => {}
        }
    }

    fn mask_table(&self, table: &mut Table) {
        table.values_mut().for_each(|value| self.mask_value(value));
    }

    fn mask_params(&self, params: &mut Params) {
        params.values_mut().for_each(|value| self.mask_value(value));
    }
}

fn same_letters(a: &[char], b: &[char]) -> bool {
    a.iter().zip(b).all(|(x, y)| x == y || x.to_lowercase().eq(y.to_lowercase()))
}

impl Plugin for ProfanityMask {
    fn name(&self) -> &str {
        "profanity_mask"
    }

    fn on_event(&self, _ctx: &EventContext<'_>, event: &mut EventData) -> Verdict {
        if !self.words.is_empty() {
            self.mask_params(&mut event.params);
        }
        Verdict::Continue
    }

    /// Property values are shown to every player (a room name, a nickname), so they are masked too.
    fn on_set_properties(&self, _ctx: &PropertiesContext<'_>, changes: &mut Table) -> Verdict {
        if !self.words.is_empty() {
            self.mask_table(changes);
        }
        Verdict::Continue
    }

    fn on_create(&self, _ctx: &CreateContext<'_>, room: &mut NewRoom) -> Verdict {
        if !self.words.is_empty() {
            self.mask_table(&mut room.properties);
        }
        Verdict::Continue
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn mask(words: &[&str], text: &str) -> String {
        ProfanityMask::new(words).mask(text).unwrap_or_else(|| text.to_owned())
    }

    #[test]
    fn masks_whole_words_ignoring_case() {
        assert_eq!(mask(&["darn"], "darn it"), "**** it");
        assert_eq!(mask(&["darn"], "Oh DARN, DaRn!"), "Oh ****, ****!");
        assert_eq!(mask(&["darn", "heck"], "heck darn heck"), "**** **** ****");
        assert_eq!(mask(&["darn"], "darning undarn darn"), "darning undarn ****");
        assert_eq!(mask(&["darn"], "darn"), "****");
    }

    #[test]
    fn untouched_text_reports_no_change() {
        let filter = ProfanityMask::new(&["darn"]);
        assert_eq!(filter.mask("all good here"), None);
        assert_eq!(filter.mask(""), None);
        assert_eq!(ProfanityMask::new::<&str>(&[]).mask("darn"), None);
    }

    #[test]
    fn multi_word_entries_and_non_ascii_text() {
        assert_eq!(mask(&["gosh darn"], "well GOSH DARN it"), "well ********* it");
        assert_eq!(mask(&["schwein"], "Du SCHWEIN, Schweinerei"), "Du *******, Schweinerei");
        assert_eq!(mask(&["ÉCLAIR"], "un éclair é"), "un ****** é");
    }

    #[test]
    fn masks_strings_inside_event_data_only() {
        let filter = ProfanityMask::new(&["darn"]);
        let mut nested = Params::new();
        nested.insert(1, "darn map");
        let mut params = Params::new();
        params.insert(245, Value::Array(vec!["darn".into(), Value::Int(7), Value::Map(nested)]));
        params.insert(254, 3);
        params.insert(10, Value::Bytes(b"darn".to_vec()));
        let mut event = EventData { code: 1, sender: 3, params };
        filter.mask_params(&mut event.params);

        let Some(Value::Array(items)) = event.params.get(245) else { panic!("data kept its shape") };
        assert_eq!(items[0], Value::String("****".into()));
        assert_eq!(items[1], Value::Int(7));
        let Value::Map(inner) = &items[2] else { panic!() };
        assert_eq!(inner.get(1), Some(&Value::String("**** map".into())));
        assert_eq!(event.params.get(254), Some(&Value::Int(3)));
        assert_eq!(event.params.get(10), Some(&Value::Bytes(b"darn".to_vec())), "bytes are not text");
    }

    #[test]
    fn config_installs_the_mask_only_when_enabled() {
        let off = PluginConfig { profanity_mask: false, masked_words: vec!["x".into()] };
        assert!(from_config(&off).is_empty());
        let on = PluginConfig { profanity_mask: true, masked_words: vec!["x".into()] };
        let plugins = from_config(&on);
        assert_eq!(plugins.len(), 1);
        assert_eq!(plugins[0].name(), "profanity_mask");
    }

    #[test]
    fn receiver_groups_parse() {
        assert_eq!(ReceiverGroup::from_i32(0), Some(ReceiverGroup::Others));
        assert_eq!(ReceiverGroup::from_i32(1), Some(ReceiverGroup::All));
        assert_eq!(ReceiverGroup::from_i32(2), Some(ReceiverGroup::MasterClient));
        assert_eq!(ReceiverGroup::from_i32(3), None);
    }
}

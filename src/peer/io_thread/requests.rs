//! The host's requests, as the I/O thread applies them on each turn: shutdown, disconnect, the key
//! exchange, and the operations the host encoded, sealed while the connection drains.

use std::time::{Duration, Instant};

use super::{Driver, OUTPUT_HIGH_WATER};
use crate::peer::control::Outbox;
use crate::peer::PeerEvent;
use crate::protocol::session::{SessionError, StatusInfo};
use crate::protocol::status::{DisconnectReason, StatusCode};

/// How long a disconnect the host asked for waits for operations sent before it to be sealed.
const DISCONNECT_WAIT: Duration = Duration::from_secs(1);

impl Driver<'_> {
    /// Applies the host's requests: disconnect and shutdown always, the key exchange and operations
    /// once `connected`. Returns whether shutdown was asked for.
    pub(super) fn take_requests(&mut self, connected: bool) -> bool {
        let mut outbox = std::mem::take(&mut self.spare);
        let (shutdown, disconnect, establish) = {
            let mut control = self.shared.control.lock();
            let establish = connected && std::mem::take(&mut control.establish_encryption);
            if connected {
                std::mem::swap(&mut control.outbox, &mut outbox);
            }
            (control.shutdown, control.disconnect, establish)
        };
        if shutdown && self.open() {
            // Teardown does not wait for anything still queued.
            self.session.disconnect(DisconnectReason::ClientRequest, "client disconnected");
        }
        if establish {
            if let Err(error) = self.session.establish_encryption(Instant::now()) {
                self.report_send_error(&error);
            }
        }
        let mut all_sealed = true;
        if !outbox.is_empty() {
            let sent = self.seal(&outbox);
            if sent < outbox.ops.len() {
                all_sealed = false;
                let consumed: usize = outbox.ops[..sent].iter().map(|op| op.len).sum();
                outbox.data.drain(..consumed);
                outbox.ops.drain(..sent);
                self.shared.control.lock().outbox.put_back(std::mem::take(&mut outbox));
            }
        }
        outbox.data.clear();
        outbox.ops.clear();
        self.spare = outbox;
        // A disconnect comes after the operations sent before it: it waits until they are sealed,
        // for at most DISCONNECT_WAIT when the connection does not drain.
        if disconnect && self.open() {
            let asked = *self.disconnect_asked.get_or_insert_with(Instant::now);
            if all_sealed || asked.elapsed() >= DISCONNECT_WAIT {
                if !all_sealed {
                    let unsent = std::mem::take(&mut self.shared.control.lock().outbox).ops.len();
                    self.report_send_failure(format!(
                        "{unsent} operations were not sent: the connection did not drain before the disconnect"
                    ));
                }
                self.session.disconnect(DisconnectReason::ClientRequest, "client disconnected");
            }
        }
        shutdown
    }

    fn open(&self) -> bool {
        !self.session.wants_close() && !self.session.is_closed()
    }

    /// Seals the host's operations into the session's output while the output stays below the
    /// high-water mark and the session takes them. Returns how many were taken.
    fn seal(&mut self, outbox: &Outbox) -> usize {
        let mut at = 0;
        for (index, op) in outbox.ops.iter().enumerate() {
            if !self.open() {
                let unsent = outbox.ops.len() - index;
                self.report_send_failure(format!("{unsent} operations were not sent: the connection is closing"));
                return outbox.ops.len();
            }
            // What the session holds (a stream's unsent bytes; a datagram link's queued and
            // unacknowledged ones) and what the socket has not taken yet.
            if self.session.backlog() + self.unsent >= OUTPUT_HIGH_WATER {
                return index;
            }
            let body = &outbox.data[at..at + op.len];
            match self.session.send_encoded_operation(body, op.options) {
                Ok(()) => {}
                // Over the session's own bound (or its queue while the key exchange runs): the rest
                // waits for it to drain. Not a failure; the outbox's bound pushes back on the host.
                Err(SessionError::OutputFull) => return index,
                // The host was told Ok, so it hears of the failure as a status, never silence.
                Err(error) => self.report_send_error(&error),
            }
            at += op.len;
        }
        outbox.ops.len()
    }

    pub(super) fn report_send_error(&mut self, error: &SessionError) {
        self.report_send_failure(error.to_string());
    }

    /// The host was told Ok for something that then failed: it hears of it as a status.
    fn report_send_failure(&mut self, message: String) {
        let status = StatusInfo { code: StatusCode::SendError, reason: 0, message };
        let _ = self.shared.results.push([PeerEvent::Status(status)]);
    }
}

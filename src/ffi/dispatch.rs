//! Turning queued peer results into the C structures handed to callbacks and polls.

use std::ffi::CString;
use std::ptr;

use super::handles::Callbacks;
use super::params::peer_params_t;
use super::types::{peer_event_t, peer_operation_response_t, peer_polled_event_t, peer_status_info_t, PeerEventKind};
use crate::peer::PeerEvent;

/// A result with its C-visible data owned here; the views borrow from it.
pub(crate) struct Prepared {
    kind: PeerEventKind,
    status: u32,
    reason: u16,
    message: Option<CString>,
    params: Box<peer_params_t>,
    op_code: u8,
    return_code: i16,
    code: u8,
    sender: i32,
    encrypted: bool,
}

pub(crate) fn c_string(text: String) -> CString {
    CString::new(text).unwrap_or_else(|error| {
        let mut bytes = error.into_vec();
        bytes.retain(|b| *b != 0);
        CString::new(bytes).expect("NUL bytes removed")
    })
}

impl Prepared {
    pub fn new(event: PeerEvent) -> Self {
        let mut prepared = Prepared {
            kind: PeerEventKind::Status,
            status: 0,
            reason: 0,
            message: None,
            params: Box::new(peer_params_t { params: Default::default() }),
            op_code: 0,
            return_code: 0,
            code: 0,
            sender: 0,
            encrypted: false,
        };
        match event {
            PeerEvent::Status(info) => {
                prepared.status = info.code as u32;
                prepared.reason = info.reason;
                prepared.message = Some(c_string(info.message));
            }
            PeerEvent::OperationResponse { response, encrypted } => {
                prepared.kind = PeerEventKind::OperationResponse;
                prepared.op_code = response.op_code;
                prepared.return_code = response.return_code;
                prepared.message = response.debug_message.map(c_string);
                prepared.params.params = response.params;
                prepared.encrypted = encrypted;
            }
            PeerEvent::Event { event, encrypted } => {
                prepared.kind = PeerEventKind::Event;
                prepared.code = event.code;
                prepared.sender = event.sender;
                prepared.params.params = event.params;
                prepared.encrypted = encrypted;
            }
        }
        prepared
    }

    fn message_ptr(&self) -> *const std::ffi::c_char {
        self.message.as_ref().map_or(ptr::null(), |m| m.as_ptr())
    }

    fn status_info(&self) -> peer_status_info_t {
        peer_status_info_t { reason: self.reason, message: self.message_ptr() }
    }

    fn response(&self) -> peer_operation_response_t {
        peer_operation_response_t {
            op_code: self.op_code,
            encrypted: self.encrypted as u8,
            return_code: self.return_code,
            debug_message: self.message_ptr(),
            params: &*self.params,
        }
    }

    fn event(&self) -> peer_event_t {
        peer_event_t { code: self.code, encrypted: self.encrypted as u8, sender: self.sender, params: &*self.params }
    }

    /// The full view for peer_poll_event; pointers borrow from `self`.
    pub fn polled_view(&self) -> peer_polled_event_t {
        let empty = peer_operation_response_t {
            op_code: 0,
            encrypted: 0,
            return_code: 0,
            debug_message: ptr::null(),
            params: ptr::null(),
        };
        let empty_event = peer_event_t { code: 0, encrypted: 0, sender: 0, params: ptr::null() };
        let empty_status = peer_status_info_t { reason: 0, message: ptr::null() };
        peer_polled_event_t {
            kind: self.kind as u32,
            status: self.status,
            status_info: if self.kind == PeerEventKind::Status { self.status_info() } else { empty_status },
            response: if self.kind == PeerEventKind::OperationResponse { self.response() } else { empty },
            event: if self.kind == PeerEventKind::Event { self.event() } else { empty_event },
        }
    }

    /// Invokes the matching callback, if the host set one.
    pub fn invoke(&self, callbacks: &Callbacks) {
        // SAFETY: the host registered these function pointers for exactly these signatures; the
        // pointers passed stay valid for the duration of the call.
        unsafe {
            match self.kind {
                PeerEventKind::Status => {
                    if let Some(callback) = callbacks.on_status {
                        let info = self.status_info();
                        callback(callbacks.user_data, self.status, &info);
                    }
                }
                PeerEventKind::OperationResponse => {
                    if let Some(callback) = callbacks.on_operation_response {
                        let response = self.response();
                        callback(callbacks.user_data, &response);
                    }
                }
                PeerEventKind::Event => {
                    if let Some(callback) = callbacks.on_event {
                        let event = self.event();
                        callback(callbacks.user_data, &event);
                    }
                }
            }
        }
    }
}

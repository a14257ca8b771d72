//! Independent frame construction for interop tests: the header is built byte by byte from
//! docs/protocol.md and sealed with ring, so nothing here reuses the crate's own frame code.
#![allow(dead_code)]

use ring::aead::{Aad, LessSafeKey, Nonce, UnboundKey, AES_256_GCM};

pub const TAG_LEN: usize = 16;

pub fn nonce(counter: u64) -> Nonce {
    let mut bytes = [0u8; 12];
    bytes[4..].copy_from_slice(&counter.to_be_bytes());
    Nonce::assume_unique_for_key(bytes)
}

pub fn key(bytes: &[u8; 32]) -> LessSafeKey {
    LessSafeKey::new(UnboundKey::new(&AES_256_GCM, bytes).expect("32-byte key"))
}

/// A plain pre-key frame: version 1, type, reliable delivery, channel 0.
pub fn plain_frame(message_type: u8, body: &[u8]) -> Vec<u8> {
    let mut frame = vec![1, message_type, 1 << 2, 0];
    frame.extend_from_slice(&(body.len() as u32).to_be_bytes());
    frame.extend_from_slice(body);
    frame
}

/// An authenticated frame sealed with ring, encrypted or plain-authenticated.
pub fn sealed_frame(key: &LessSafeKey, counter: u64, message_type: u8, encrypt: bool, body: &[u8]) -> Vec<u8> {
    let flags = (1u8 << 2) | 0x02 | if encrypt { 0x01 } else { 0 };
    let mut frame = vec![1, message_type, flags, 0];
    frame.extend_from_slice(&((body.len() + TAG_LEN) as u32).to_be_bytes());
    frame.extend_from_slice(&counter.to_be_bytes());
    let header_len = frame.len();
    frame.extend_from_slice(body);
    let tag = if encrypt {
        let (head, rest) = frame.split_at_mut(header_len);
        key.seal_in_place_separate_tag(nonce(counter), Aad::from(&*head), rest).unwrap()
    } else {
        key.seal_in_place_separate_tag(nonce(counter), Aad::from(&frame[..]), &mut []).unwrap()
    };
    frame.extend_from_slice(tag.as_ref());
    frame
}

/// Opens an authenticated frame with ring; returns (message type, encrypted, counter, plaintext body).
pub fn open_sealed_frame(key: &LessSafeKey, frame: &[u8]) -> Option<(u8, bool, u64, Vec<u8>)> {
    let flags = frame[2];
    assert!(flags & 0x02 != 0, "frame is not authenticated");
    let body_len = u32::from_be_bytes(frame[4..8].try_into().unwrap()) as usize;
    let counter = u64::from_be_bytes(frame[8..16].try_into().unwrap());
    let header_len = 16;
    assert_eq!(frame.len(), header_len + body_len);
    let encrypted = flags & 0x01 != 0;
    let tag_at = frame.len() - TAG_LEN;
    let tag = ring::aead::Tag::try_from(&frame[tag_at..]).ok()?;
    if encrypted {
        let mut body = frame[header_len..tag_at].to_vec();
        key.open_in_place_separate_tag(nonce(counter), Aad::from(&frame[..header_len]), tag, &mut body, 0..).ok()?;
        Some((frame[1], true, counter, body))
    } else {
        key.open_in_place_separate_tag(nonce(counter), Aad::from(&frame[..tag_at]), tag, &mut [], 0..).ok()?;
        Some((frame[1], false, counter, frame[header_len..tag_at].to_vec()))
    }
}

/// Splits a byte stream into whole frames (header fields read by hand).
pub fn split_frames(mut stream: &[u8]) -> Vec<Vec<u8>> {
    let mut frames = Vec::new();
    while !stream.is_empty() {
        let flags = stream[2];
        let header_len = 8 + if flags & 0x02 != 0 { 8 } else { 0 };
        let body_len = u32::from_be_bytes(stream[4..8].try_into().unwrap()) as usize;
        let (frame, rest) = stream.split_at(header_len + body_len);
        frames.push(frame.to_vec());
        stream = rest;
    }
    frames
}

/// The Noise prologue both ends compute: label, then each pre-key frame with a 32-bit length.
pub fn prologue(connect_frame: &[u8], ack_frame: &[u8]) -> Vec<u8> {
    let mut prologue = b"sealnet/1 NX prologue".to_vec();
    for frame in [connect_frame, ack_frame] {
        prologue.extend_from_slice(&(frame.len() as u32).to_be_bytes());
        prologue.extend_from_slice(frame);
    }
    prologue
}

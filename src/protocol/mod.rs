//! The sans-IO protocol core: everything that defines sealnet's wire behaviour, with no sockets, threads
//! or clock of its own. The client peer and the server both drive [`session::Session`]; nothing above this
//! module encodes or decodes a frame.

pub mod aead;
pub mod codec;
pub mod datagram;
pub mod frame;
pub mod message;
pub mod noise;
pub mod replay;
pub mod sealing;
pub mod session;
pub mod status;

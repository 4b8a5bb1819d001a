//! RESP2/RESP3: requests in, replies out, both ways for both programs.
//!
//! Layout:
//! - `frame`: [`Frame`], one value of any RESP type.
//! - `request`: [`RequestDecoder`], multibulk and inline requests → [`Request`].
//! - `inline`: inline-command splitting with Redis's quoting rules.
//! - `scan`: [`FrameScanner`], where the next reply ends, without building it.
//! - `decode`: [`ReplyDecoder`], the next reply as a [`Frame`].
//! - `encode`: frames and requests to bytes.
//! - `line`, `limits`, `error`: header lines, [`Limits`], [`ProtocolError`].

mod decode;
mod encode;
mod error;
mod frame;
mod inline;
mod limits;
mod line;
mod request;
mod scan;

pub use decode::ReplyDecoder;
pub use encode::{encode, encode_bulk, encode_request, format_double, header};
pub use error::ProtocolError;
pub use frame::Frame;
pub use inline::split_inline_args;
pub use limits::Limits;
pub use line::parse_i64;
pub use request::{Request, RequestDecoder};
pub use scan::FrameScanner;

#[cfg(test)]
mod tests;

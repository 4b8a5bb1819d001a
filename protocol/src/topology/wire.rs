//! Test helpers for the reply builders' byte-for-byte checks: Redis's reply bytes decoded
//! into a frame, and a frame encoded back into bytes.

use bytes::BytesMut;

use crate::resp::{encode, ReplyDecoder};
use crate::Frame;

pub fn decode(bytes: &[u8]) -> Frame {
    ReplyDecoder::default()
        .decode(&mut BytesMut::from(bytes))
        .unwrap()
        .unwrap()
}

pub fn encoded(frame: &Frame) -> Vec<u8> {
    let mut out = BytesMut::new();
    encode(frame, &mut out);
    out.to_vec()
}

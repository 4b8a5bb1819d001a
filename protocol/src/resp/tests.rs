//! Codec tests: known byte strings, Redis's error texts, round trips and chunked input.

use bytes::{Bytes, BytesMut};
use proptest::prelude::*;

use super::*;

fn decode_all_requests(input: &[u8]) -> Result<Vec<Vec<Vec<u8>>>, ProtocolError> {
    let mut decoder = RequestDecoder::default();
    let mut buf = BytesMut::from(input);
    let mut out = Vec::new();
    while let Some(req) = decoder.decode(&mut buf)? {
        out.push(req.args.iter().map(|a| a.to_vec()).collect());
    }
    Ok(out)
}

fn strs(reqs: &[Vec<Vec<u8>>]) -> Vec<Vec<String>> {
    reqs.iter()
        .map(|r| {
            r.iter()
                .map(|a| String::from_utf8_lossy(a).into_owned())
                .collect()
        })
        .collect()
}

#[test]
fn decodes_pipelined_multibulk_and_inline() {
    let input = b"*3\r\n$3\r\nSET\r\n$1\r\nk\r\n$0\r\n\r\nPING\r\n\r\n*0\r\n*1\r\n$4\r\nPING\r\n";
    let reqs = decode_all_requests(input).unwrap();
    assert_eq!(
        strs(&reqs),
        vec![vec!["SET", "k", ""], vec!["PING"], vec!["PING"]]
    );
}

#[test]
fn protocol_errors_use_redis_text() {
    let cases: &[(&[u8], &str)] = &[
        (b"*abc\r\n", "ERR Protocol error: invalid multibulk length"),
        (b"*1\r\n$-5\r\n", "ERR Protocol error: invalid bulk length"),
        (
            b"*1\r\n$536870913\r\n",
            "ERR Protocol error: invalid bulk length",
        ),
        (b"*1\r\n:1\r\n", "ERR Protocol error: expected '$', got ':'"),
        (
            b"set \"a\r\n",
            "ERR Protocol error: unbalanced quotes in request",
        ),
    ];
    for (input, text) in cases {
        assert_eq!(decode_all_requests(input).unwrap_err().to_string(), *text);
    }
    let long_inline = vec![b'a'; 70 * 1024];
    assert_eq!(
        decode_all_requests(&long_inline).unwrap_err(),
        ProtocolError::TooBigInline
    );
    let mut long_header = b"*1\r\n$".to_vec();
    long_header.extend(std::iter::repeat_n(b'1', 70 * 1024));
    assert_eq!(
        decode_all_requests(&long_header).unwrap_err(),
        ProtocolError::TooBigBulkCount
    );
}

#[test]
fn a_canonical_request_keeps_its_raw_bytes_and_an_irregular_one_does_not() {
    let raw_of = |input: &[u8]| {
        let mut buf = BytesMut::from(input);
        RequestDecoder::default()
            .keeping_raw()
            .decode(&mut buf)
            .unwrap()
            .unwrap()
            .raw
    };
    let canonical = b"*2\r\n$3\r\nGET\r\n$1\r\nk\r\n";
    assert_eq!(raw_of(canonical).as_deref(), Some(&canonical[..]));
    // Redis skips the byte after each `\r` and the two after each payload unchecked.
    for irregular in [
        &b"*2\rx$3\r\nGET\r\n$1\r\nk\r\n"[..],
        b"*2\r\n$3\rxGET\r\n$1\r\nk\r\n",
        b"*2\r\n$3\r\nGETxx$1\r\nk\r\n",
    ] {
        assert_eq!(raw_of(irregular), None);
    }
    assert_eq!(raw_of(b"GET k\r\n"), None);
}

#[test]
fn huge_declared_lengths_reserve_nothing() {
    let mut decoder = RequestDecoder::default();
    let mut buf = BytesMut::from(&b"*2147483647\r\n$536870912\r\nabc"[..]);
    let before = buf.capacity();
    assert_eq!(decoder.decode(&mut buf).unwrap(), None);
    assert_eq!(buf.capacity(), before);
    let mut scanner = FrameScanner::default();
    assert_eq!(
        scanner.scan(b"*2147483647\r\n$536870912\r\nabc").unwrap(),
        None
    );
}

#[test]
fn arguments_are_slices_of_the_read_buffer() {
    let mut decoder = RequestDecoder::default();
    let mut buf = BytesMut::from(&b"*2\r\n$3\r\nGET\r\n$3\r\nkey\r\n"[..]);
    let req = decoder.decode(&mut buf).unwrap().unwrap();
    let base = req.args[0].as_ptr() as usize;
    assert_eq!(req.args[1].as_ptr() as usize, base + 9);
}

#[test]
fn scanner_and_decoder_agree_on_every_type() {
    let input: &[u8] =
        b"|1\r\n+ttl\r\n:3\r\n%2\r\n+a\r\n*2\r\n$1\r\nx\r\n_\r\n+b\r\n~1\r\n,1.5\r\n\
        >2\r\n#t\r\n(123\r\n=7\r\ntxt:abc\r\n!3\r\nERR\r\n$-1\r\n*-1\r\n-ERR x\r\n";
    let mut scanner = FrameScanner::default();
    let mut lens = Vec::new();
    let mut rest = input;
    while let Some(n) = scanner.scan(rest).unwrap() {
        lens.push(n);
        rest = &rest[n..];
    }
    assert!(rest.is_empty());
    assert_eq!(lens.len(), 7);
    let mut decoder = ReplyDecoder::default();
    let mut buf = BytesMut::from(input);
    let first = decoder.decode(&mut buf).unwrap().unwrap();
    let Frame::Attribute(attrs, value) = first else {
        panic!("not an attribute: {first:?}")
    };
    assert_eq!(attrs.len(), 1);
    assert!(matches!(*value, Frame::Map(ref pairs) if pairs.len() == 2));
    let push = decoder.decode(&mut buf).unwrap().unwrap();
    assert_eq!(
        push,
        Frame::Push(vec![
            Frame::Boolean(true),
            Frame::BigNumber(Bytes::from_static(b"123"))
        ])
    );
    assert_eq!(
        decoder.decode(&mut buf).unwrap().unwrap(),
        Frame::Verbatim(*b"txt", Bytes::from_static(b"abc"))
    );
    assert_eq!(
        decoder.decode(&mut buf).unwrap().unwrap(),
        Frame::Error(Bytes::from_static(b"ERR"))
    );
    assert_eq!(decoder.decode(&mut buf).unwrap().unwrap(), Frame::NullBulk);
}

#[test]
fn scanner_rejects_bad_input() {
    for bad in [
        &b"?x\r\n"[..],
        b":1.5\r\n",
        b"$3\r\nabcd\r\n",
        b"#x\r\n",
        b"*-2\r\n",
        b"=2\r\nab\r\n",
    ] {
        assert!(
            FrameScanner::default().scan(bad).is_err(),
            "{:?}",
            String::from_utf8_lossy(bad)
        );
    }
    let deep = "*1\r\n".repeat(200);
    assert_eq!(
        FrameScanner::default().scan(deep.as_bytes()),
        Err(ProtocolError::TooDeep(128))
    );
}

fn frame_strategy() -> impl Strategy<Value = Frame> {
    let bytes = proptest::collection::vec(any::<u8>(), 0..24).prop_map(Bytes::from);
    let line = "[a-zA-Z0-9 ]{0,16}".prop_map(Bytes::from);
    let leaf = prop_oneof![
        line.clone().prop_map(Frame::Simple),
        line.prop_map(Frame::Error),
        any::<i64>().prop_map(Frame::Integer),
        bytes.clone().prop_map(Frame::Bulk),
        Just(Frame::NullBulk),
        Just(Frame::NullArray),
        Just(Frame::Null),
        any::<f64>()
            .prop_filter("nan never equals itself", |d| !d.is_nan())
            .prop_map(Frame::Double),
        any::<bool>().prop_map(Frame::Boolean),
        "-?[1-9][0-9]{0,30}".prop_map(|s| Frame::BigNumber(Bytes::from(s))),
        bytes.prop_map(|b| Frame::Verbatim(*b"txt", b)),
    ];
    leaf.prop_recursive(4, 64, 6, |inner| {
        let pairs = proptest::collection::vec((inner.clone(), inner.clone()), 0..4);
        prop_oneof![
            proptest::collection::vec(inner.clone(), 0..6).prop_map(Frame::Array),
            proptest::collection::vec(inner.clone(), 0..6).prop_map(Frame::Set),
            proptest::collection::vec(inner.clone(), 0..6).prop_map(Frame::Push),
            pairs.clone().prop_map(Frame::Map),
            (pairs, inner).prop_map(|(attrs, value)| Frame::Attribute(attrs, Box::new(value))),
        ]
    })
}

fn encoded(frames: &[Frame]) -> Vec<u8> {
    let mut out = BytesMut::new();
    for frame in frames {
        encode(frame, &mut out);
    }
    out.to_vec()
}

proptest! {
    #[test]
    fn reply_round_trip(frames in proptest::collection::vec(frame_strategy(), 1..6)) {
        let bytes = encoded(&frames);
        let mut decoder = ReplyDecoder::default();
        let mut buf = BytesMut::from(&bytes[..]);
        let mut decoded = Vec::new();
        while let Some(frame) = decoder.decode(&mut buf).unwrap() {
            decoded.push(frame);
        }
        prop_assert!(buf.is_empty());
        prop_assert_eq!(decoded, frames);
    }

    #[test]
    fn replies_decode_the_same_in_any_chunks(
        frames in proptest::collection::vec(frame_strategy(), 1..6),
        cuts in proptest::collection::vec(any::<prop::sample::Index>(), 0..8),
    ) {
        let bytes = encoded(&frames);
        let mut points: Vec<usize> = cuts.iter().map(|c| c.index(bytes.len() + 1)).collect();
        points.sort_unstable();
        let mut decoder = ReplyDecoder::default();
        let mut buf = BytesMut::new();
        let mut decoded = Vec::new();
        let mut fed = 0;
        for end in points.into_iter().chain([bytes.len()]) {
            buf.extend_from_slice(&bytes[fed..end.max(fed)]);
            fed = end.max(fed);
            while let Some(frame) = decoder.decode(&mut buf).unwrap() {
                decoded.push(frame);
            }
        }
        prop_assert_eq!(decoded, frames);
    }

    #[test]
    fn requests_round_trip_in_any_chunks(
        reqs in proptest::collection::vec(proptest::collection::vec(proptest::collection::vec(any::<u8>(), 0..20), 1..6), 1..8),
        cuts in proptest::collection::vec(any::<prop::sample::Index>(), 0..8),
    ) {
        let mut out = BytesMut::new();
        for req in &reqs {
            encode_request(req, &mut out);
        }
        let bytes = out.to_vec();
        let mut points: Vec<usize> = cuts.iter().map(|c| c.index(bytes.len() + 1)).collect();
        points.sort_unstable();
        let mut decoder = RequestDecoder::default();
        let mut buf = BytesMut::new();
        let mut decoded = Vec::new();
        let mut fed = 0;
        for end in points.into_iter().chain([bytes.len()]) {
            buf.extend_from_slice(&bytes[fed..end.max(fed)]);
            fed = end.max(fed);
            while let Some(req) = decoder.decode(&mut buf).unwrap() {
                decoded.push(req.args.iter().map(|a| a.to_vec()).collect::<Vec<_>>());
            }
        }
        prop_assert_eq!(decoded, reqs);
    }

    #[test]
    fn arbitrary_bytes_never_panic(input in proptest::collection::vec(any::<u8>(), 0..256)) {
        let _ = decode_all_requests(&input);
        let mut decoder = ReplyDecoder::default();
        let mut buf = BytesMut::from(&input[..]);
        while let Ok(Some(_)) = decoder.decode(&mut buf) {}
    }
}

//! Randomized fuzzing of every decoder, run on every test run: valid RESP streams are
//! mutated (bytes flipped, lengths inflated, cut short, spliced) and fed in random chunks to
//! the request decoder, the reply decoder and the frame scanner. Nothing may panic, and a
//! decoder that has not produced a frame may not hold more than what was fed to it.
//! (Coverage-guided targets for the same entry points live in `protocol/fuzz/`.)

use bytes::BytesMut;
use rand::{Rng, SeedableRng};
use slotgate_protocol::resp::{encode_request, FrameScanner, ReplyDecoder, RequestDecoder};

const SEEDS: &[&[u8]] = &[
    b"*3\r\n$3\r\nSET\r\n$3\r\nkey\r\n$5\r\nvalue\r\n",
    b"PING\r\nset \"a b\" 'c'\r\n",
    b"|1\r\n+a\r\n:1\r\n%1\r\n+k\r\n*2\r\n$1\r\nx\r\n_\r\n",
    b">2\r\n#t\r\n(123\r\n=7\r\ntxt:abc\r\n!3\r\nERR\r\n,1.5\r\n~1\r\n$-1\r\n*-1\r\n-ERR x\r\n",
];

fn mutate(rng: &mut impl Rng, input: &[u8]) -> Vec<u8> {
    let mut bytes = input.to_vec();
    for _ in 0..rng.gen_range(1..5) {
        if bytes.is_empty() {
            bytes.push(rng.gen());
            continue;
        }
        let at = rng.gen_range(0..bytes.len());
        match rng.gen_range(0..6) {
            0 => bytes[at] = rng.gen(),
            1 => bytes.truncate(at),
            2 => bytes
                .splice(at..at, b"2147483647".iter().copied())
                .for_each(drop),
            3 => bytes.splice(at..at, b"-1".iter().copied()).for_each(drop),
            4 => bytes.insert(
                at,
                *[b'*', b'$', b'%', b'|', b'>', b'\r', b'\n']
                    .get(rng.gen_range(0..7))
                    .unwrap_or(&b'*'),
            ),
            _ => {
                let other = SEEDS[rng.gen_range(0..SEEDS.len())];
                bytes.extend_from_slice(other);
            }
        }
    }
    bytes
}

fn feed_in_chunks(rng: &mut impl Rng, input: &[u8], mut step: impl FnMut(&mut BytesMut) -> bool) {
    let mut buf = BytesMut::new();
    let mut fed = 0;
    while fed < input.len() {
        let end = (fed + rng.gen_range(1..16)).min(input.len());
        buf.extend_from_slice(&input[fed..end]);
        fed = end;
        if !step(&mut buf) {
            return;
        }
        assert!(
            buf.len() <= input.len(),
            "a decoder grew its buffer beyond its input"
        );
    }
}

#[test]
fn mutated_streams_never_panic() {
    let mut rng = rand::rngs::StdRng::seed_from_u64(0xF022);
    for round in 0..20_000 {
        let seed = SEEDS[round % SEEDS.len()];
        let input = mutate(&mut rng, seed);

        let mut requests = RequestDecoder::default();
        feed_in_chunks(&mut rng, &input, |buf| loop {
            match requests.decode(buf) {
                Ok(Some(_)) => continue,
                Ok(None) => return true,
                Err(_) => return false,
            }
        });

        let mut replies = ReplyDecoder::default();
        feed_in_chunks(&mut rng, &input, |buf| loop {
            match replies.decode(buf) {
                Ok(Some(_)) => continue,
                Ok(None) => return true,
                Err(_) => return false,
            }
        });

        let mut scanner = FrameScanner::default();
        feed_in_chunks(&mut rng, &input, |buf| loop {
            match scanner.scan(buf) {
                Ok(Some(n)) => {
                    let _ = buf.split_to(n);
                }
                Ok(None) => return true,
                Err(_) => return false,
            }
        });
    }
}

#[test]
fn huge_pipelines_decode_in_bounded_steps() {
    let mut out = BytesMut::new();
    for n in 0..100_000 {
        encode_request(&[&b"INCR"[..], format!("k{n}").as_bytes()], &mut out);
    }
    let mut decoder = RequestDecoder::default();
    let mut count = 0;
    while let Some(request) = decoder.decode(&mut out).expect("valid") {
        assert_eq!(request.args.len(), 2);
        count += 1;
    }
    assert_eq!(count, 100_000);
}

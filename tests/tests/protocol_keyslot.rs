//! `key_slot` against a real redis-server 7's `CLUSTER KEYSLOT` for 10,000 random keys,
//! binary bytes and hash-tag edge cases included.

use rand::{Rng, SeedableRng};
use slotgate_protocol::{key_slot, Frame};
use slotgate_tests::free_port;
use slotgate_tests::redis::{RedisServer, ServerKind};

fn random_key(rng: &mut impl Rng) -> Vec<u8> {
    let len = rng.gen_range(0..24);
    let alphabet: &[u8] = b"ab{}\x00\xff\r\n ";
    (0..len)
        .map(|_| {
            if rng.gen_bool(0.5) {
                alphabet[rng.gen_range(0..alphabet.len())]
            } else {
                rng.gen()
            }
        })
        .collect()
}

#[test]
fn key_slot_matches_redis_cluster_keyslot() {
    let server = RedisServer::start(
        ServerKind::Redis,
        free_port(),
        &[("cluster-enabled", "yes"), ("appendonly", "no")],
    );
    let mut rng = rand::rngs::StdRng::seed_from_u64(0x5107);
    let mut keys: Vec<Vec<u8>> = [
        &b"{}"[..],
        b"{{a}}",
        b"a{b}c{d}",
        b"{",
        b"}{",
        b"",
        b"{a",
        b"a}",
        b"}a{b}",
        b"{}{a}",
        b"{\x00}x",
    ]
    .iter()
    .map(|k| k.to_vec())
    .collect();
    keys.extend((0..10_000).map(|_| random_key(&mut rng)));

    let mut client = server.client();
    for chunk in keys.chunks(500) {
        for key in chunk {
            client
                .send(&[&b"CLUSTER"[..], b"KEYSLOT", key])
                .expect("send");
        }
        for key in chunk {
            let reply = client.read_reply().expect("reply");
            assert_eq!(
                reply,
                Frame::Integer(i64::from(key_slot(key).get())),
                "key {:?}",
                String::from_utf8_lossy(key)
            );
        }
    }
}

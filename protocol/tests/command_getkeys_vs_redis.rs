//! Key extraction against a running redis-server 7: for each request below, our
//! `COMMAND GETKEYS` and `COMMAND GETKEYSANDFLAGS` replies (keys from the key specs, or the
//! emulated command-specific finder) must equal Redis's — keys, order, flags and errors.
//! The list covers every movable-keys form. Skipped only when redis-server is absent.

mod command_support;

use command_support::{args, Redis};
use slotgate_protocol::command::{command_reply, RespVersion};

const REQUESTS: &[&str] = &[
    // Fixed positions.
    "get k",
    "set k v",
    "set k v GET",
    "set k v nx get",
    "mget a b c",
    "mset a 1 b 2 c 3",
    "msetnx a 1 b 2",
    "del a b c",
    "rename a b",
    "lmove a b left right",
    "blpop a b 0",
    "brpoplpush a b 0",
    "copy a b db 1",
    "object encoding k",
    "object freq k",
    "memory usage k samples 5",
    "xinfo stream s full",
    "xgroup create s g $",
    "pfmerge d a b",
    "smove a b m",
    "bitop and d a b",
    "bitfield k get u8 0",
    "bitfield k get u8 0 overflow wrap",
    "bitfield k set u8 0 1",
    "bitfield k incrby u8 0 1",
    "bitfield k bogus",
    "bitfield_ro k get u8 0",
    "watch a b",
    "spublish ch m",
    "ping",
    "get a b",
    // numkeys.
    "eval s 2 a b x y",
    "eval s 0",
    "eval s 0 x",
    "eval s 3 a b",
    "eval s -1 a",
    "eval s notanumber a",
    "evalsha_ro s 1 a",
    "fcall f 2 a b",
    "fcall_ro f 1 a x",
    "zunionstore d 2 a b",
    "zunionstore d 2 a b weights 1 2 aggregate sum",
    "zinterstore d 3 a b",
    "zdiffstore d 1 a",
    "zunion 2 a b withscores",
    "zinter 0 a",
    "zintercard 2 a b limit 1",
    "sintercard 3 a b c",
    "lmpop 2 a b left count 2",
    "lmpop 1 a right",
    "blmpop 0 2 a b left",
    "zmpop 2 a b min",
    "bzmpop 1 2 a b max count 1",
    "bzmpop 1 5 a b max",
    // Keyword searches.
    "xread streams a b 0 0",
    "xread count 10 block 0 streams a b c 0 0 0",
    "XREAD STREAMS a 0",
    "xread streams a b 0",
    "xread count 1 streams",
    "xreadgroup group g c streams a b > >",
    "xreadgroup group g c count 1 noack streams a >",
    "migrate h 6379 k 0 5000",
    "migrate h 6379 k 0 5000 copy replace",
    "migrate h 6379 \"\" 0 5000 keys a b c",
    "migrate h 6379 \"\" 0 5000 copy auth pw keys a b",
    "migrate h 6379 \"\" 0 5000 auth2 u p keys a",
    "migrate h 6379 k 0 5000 keys a b",
    "georadius k 0 0 1 km",
    "georadius k 0 0 1 km store d",
    "georadius k 0 0 1 km storedist d",
    "georadius k 0 0 1 km store d storedist e",
    "georadius k 0 0 1 km withdist store",
    "georadiusbymember k m 1 km store d",
    "georadius_ro k 0 0 1 km",
    "geosearchstore d s frommember m byradius 1 km",
    // SORT's own finder.
    "sort k",
    "sort k by w get # limit 0 10 store d",
    "sort k store d1 store d2",
    "sort k limit 0 1 get store",
    "sort k store",
    "sort_ro k by w get #",
    // Errors.
    "nosuch a",
    "config get x",
    "cluster info",
    "get",
    "zunion 0 a",
];

#[test]
fn getkeys_agrees_with_redis() {
    let Some(redis) = Redis::start() else { return };
    let mut client = redis.client();
    for request in REQUESTS {
        for verb in ["GETKEYS", "GETKEYSANDFLAGS"] {
            let full = format!("COMMAND {verb} {request}");
            let theirs = client.call(&args(&full));
            let ours = command_reply(&args(&full), RespVersion::Resp2);
            assert_eq!(ours, theirs, "{full}");
        }
    }
}

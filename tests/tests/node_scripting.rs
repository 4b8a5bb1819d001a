//! Lua scripting between real processes: the writes an EVAL / EVALSHA makes on a master
//! reach its replica (Redis 7 replicates a script's effects) and survive a restart from
//! the AOF. Runs against redis-server 7 too, to prove the test itself.

mod node_replication_common;

use node_replication_common::{pair, KINDS};

const SCRIPT: &str = "redis.call('set', KEYS[1], ARGV[1]) \
                      redis.call('incrby', KEYS[2], 5) \
                      return redis.call('get', KEYS[1])";

#[test]
fn script_writes_reach_the_replica_and_survive_an_aof_restart() {
    for kind in KINDS {
        let aof = [("appendonly", "yes"), ("appendfsync", "always")];
        let (mut master, replica) = pair(kind, &aof, &[]);
        let mut m = master.client();
        let reply = m
            .text(&["EVAL", SCRIPT, "2", "sk", "counter", "v"])
            .unwrap();
        assert_eq!(reply, "v", "{kind:?}");
        let sha = m.text(&["SCRIPT", "LOAD", SCRIPT]).unwrap();
        let reply = m
            .text(&["EVALSHA", &sha, "2", "sk", "counter", "w"])
            .unwrap();
        assert_eq!(reply, "w", "{kind:?}");
        assert_eq!(m.text(&["WAIT", "1", "5000"]).unwrap(), "1", "{kind:?}");
        let mut r = replica.client();
        assert_eq!(r.text(&["GET", "sk"]).unwrap(), "w", "{kind:?} replica");
        assert_eq!(
            r.text(&["GET", "counter"]).unwrap(),
            "10",
            "{kind:?} replica"
        );
        drop(m);
        master.restart();
        let mut m = master.client();
        assert_eq!(
            m.text(&["GET", "sk"]).unwrap(),
            "w",
            "{kind:?} after restart"
        );
        assert_eq!(
            m.text(&["GET", "counter"]).unwrap(),
            "10",
            "{kind:?} after restart"
        );
    }
}

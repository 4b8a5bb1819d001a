//! The replication record: a replica with an AOF saves, beside it in `dir`, which history
//! its data belongs to — `<replid> <offset> <aof-size> <db>`, `db` being the database the
//! stream had selected — after every applied batch and once a second. On restart, when
//! the AOF loaded is exactly that size, the data is known to be that replid at that
//! offset, and the replica asks its master for a partial resync (`PSYNC <replid>
//! <offset+1>`). Any mismatch (a write after the record, a rewrite, a truncated tail) just
//! means a full resync.

use std::path::PathBuf;

use crate::state::State;

const FILE: &str = "replication.state";

/// A record ready to be written outside the lock.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Record {
    path: PathBuf,
    text: String,
}

impl Record {
    /// Writes the record (a torn or empty file only costs a full resync later).
    pub fn save(&self) {
        if let Err(e) = std::fs::write(&self.path, &self.text) {
            tracing::warn!("Can't save {}: {e}", self.path.display());
        }
    }
}

/// The current record of a replica with an AOF (flushed first, so the size is final).
pub fn capture(state: &mut State) -> Option<Record> {
    state.repl.master.as_ref()?;
    let aof = state.aof.as_mut()?;
    aof.flush().ok()?;
    let repl = &state.repl;
    let text = format!(
        "{} {} {} {}\n",
        repl.replid,
        repl.offset(),
        aof.size,
        repl.stream_db
    );
    Some(Record {
        path: state.config.dir().join(FILE),
        text,
    })
}

/// At start-up, after the AOF is loaded: adopts the recorded replid and offset when the
/// AOF is exactly as the record left it.
pub fn restore(state: &mut State) {
    let Some(aof_size) = state.aof.as_ref().map(|a| a.size) else {
        return;
    };
    let Ok(text) = std::fs::read_to_string(state.config.dir().join(FILE)) else {
        return;
    };
    let Some((replid, offset, size, db)) = parse(&text) else {
        return;
    };
    if size != aof_size {
        tracing::info!("Replication record does not match the AOF: a full resync follows");
        return;
    }
    tracing::info!("Replication record: replid {replid}, offset {offset}");
    let repl = &mut state.repl;
    repl.replid = replid;
    repl.resumable = true;
    repl.stream_db = db;
    repl.stream.lock().reset(offset);
}

fn parse(text: &str) -> Option<(String, i64, u64, usize)> {
    let mut words = text.split_whitespace();
    let replid = words.next().filter(|id| id.len() == 40)?.to_owned();
    let offset = words.next()?.parse().ok()?;
    let size = words.next()?.parse().ok()?;
    let db = words.next()?.parse().ok()?;
    Some((replid, offset, size, db))
}

#[cfg(test)]
mod tests {
    use super::parse;

    #[test]
    fn parses_only_whole_records() {
        let id = "a".repeat(40);
        assert_eq!(
            parse(&format!("{id} 123 456 2\n")),
            Some((id.clone(), 123, 456, 2))
        );
        assert_eq!(parse(&format!("{id} 123 456")), None);
        assert_eq!(parse("short 1 2"), None);
        assert_eq!(parse(""), None);
    }
}

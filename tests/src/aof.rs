//! Reading an append-only file back as commands, for tests that check what a server
//! propagated: slotgate-node's single file or redis-server 7's incremental files.

use std::path::{Path, PathBuf};

use bytes::BytesMut;
use slotgate_protocol::resp::RequestDecoder;

/// The AOF's commands in order, names upper-cased, arguments joined by spaces, SELECTs
/// left out: our single file, or redis-server 7's incremental files.
pub fn commands(dir: &Path) -> Vec<String> {
    let mut files: Vec<PathBuf> = vec![dir.join("appendonly.aof")];
    if let Ok(entries) = std::fs::read_dir(dir.join("appendonlydir")) {
        let mut incr: Vec<PathBuf> = entries
            .filter_map(|e| Some(e.ok()?.path()))
            .filter(|p| p.to_string_lossy().ends_with(".incr.aof"))
            .collect();
        incr.sort();
        files.extend(incr);
    }
    let mut commands = Vec::new();
    for file in files.iter().filter(|f| f.is_file()) {
        let mut buf = BytesMut::from(&std::fs::read(file).expect("read AOF")[..]);
        let mut decoder = RequestDecoder::default();
        while let Some(request) = decoder.decode(&mut buf).expect("AOF parses") {
            let mut words: Vec<String> = request
                .args
                .iter()
                .map(|a| String::from_utf8_lossy(a).into_owned())
                .collect();
            words[0].make_ascii_uppercase();
            if words[0] != "SELECT" {
                commands.push(words.join(" "));
            }
        }
    }
    commands
}

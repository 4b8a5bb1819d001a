//! `slotgate-node [config-file] [--directive value …]`: the data node binary, started like
//! `redis-server` (the command line lives in [`slotgate_node::cli`]).

use std::process::ExitCode;

/// `used_memory` and `maxmemory` need the node's counting allocator.
#[global_allocator]
static ALLOCATOR: slotgate_node::memory::Counting = slotgate_node::memory::Counting;

fn main() -> ExitCode {
    let args: Vec<String> = std::env::args().skip(1).collect();
    slotgate_node::cli::main(&args)
}

//! INFO: the sections Redis prints, with its field names and `\r\n` line ends.

use std::collections::BTreeMap;

use crate::memory;
use crate::state::State;

/// Error replies counted by code (the text before the first space, within 32 bytes; `ERR`
/// when there is none), as Redis 7.0's `afterErrorReply` does.
#[derive(Debug, Default)]
pub struct ErrorStats {
    by_code: BTreeMap<String, u64>,
    total: u64,
}

impl ErrorStats {
    pub fn record(&mut self, text: &[u8]) {
        let head = &text[..text.len().min(32)];
        let code = match head.iter().position(|&c| c == b' ') {
            Some(end) => String::from_utf8_lossy(&text[..end]).into_owned(),
            None => "ERR".to_owned(),
        };
        *self.by_code.entry(code).or_default() += 1;
        self.total += 1;
    }

    fn fields(&self) -> Vec<(String, String)> {
        self.by_code
            .iter()
            .map(|(code, n)| (format!("errorstat_{code}"), format!("count={n}")))
            .collect()
    }
}

/// Which INFO commandstats entry a command counts in: a plain command by its index in the
/// command table (O(1) on the hot path), a subcommand by its full name (`config|get`).
#[derive(Debug, Clone, Copy)]
pub enum StatKey {
    Plain(usize),
    Sub(&'static str),
}

/// One command's figures (Redis's `calls`, `microseconds`, `rejected_calls`,
/// `failed_calls`).
#[derive(Debug, Default, Clone, Copy)]
struct CallStats {
    calls: u64,
    usec: u64,
    rejected: u64,
    failed: u64,
}

/// INFO commandstats: calls, time, and errors per command. Rejected means refused before
/// running (arity, NOAUTH, MOVED, OOM…), failed means ran and replied an error.
#[derive(Debug, Default)]
pub struct CommandStats {
    plain: Vec<CallStats>,
    sub: BTreeMap<&'static str, CallStats>,
}

impl CommandStats {
    fn entry(&mut self, key: StatKey) -> &mut CallStats {
        match key {
            StatKey::Plain(i) => {
                if self.plain.len() <= i {
                    self.plain
                        .resize(crate::cmd::names().count().max(i + 1), CallStats::default());
                }
                &mut self.plain[i]
            }
            StatKey::Sub(name) => self.sub.entry(name).or_default(),
        }
    }

    /// A run of the command: its time, and whether it replied an error.
    pub fn call(&mut self, key: StatKey, usec: u64, failed: bool) {
        let e = self.entry(key);
        e.calls += 1;
        e.usec += usec;
        e.failed += u64::from(failed);
    }

    /// A refusal before the command ran.
    pub fn reject(&mut self, key: StatKey) {
        self.entry(key).rejected += 1;
    }

    fn fields(&self) -> Vec<(String, String)> {
        let plain = crate::cmd::names().zip(self.plain.iter());
        let all: BTreeMap<&str, &CallStats> =
            plain.chain(self.sub.iter().map(|(n, s)| (*n, s))).collect();
        all.into_iter()
            .filter(|(_, s)| s.calls + s.rejected + s.failed > 0)
            .map(|(name, s)| {
                let per_call = if s.calls == 0 { 0.0 } else { s.usec as f64 / s.calls as f64 };
                (
                    format!("cmdstat_{name}"),
                    format!(
                        "calls={},usec={},usec_per_call={per_call:.2},rejected_calls={},failed_calls={}",
                        s.calls, s.usec, s.rejected, s.failed
                    ),
                )
            })
            .collect()
    }
}

/// Sections in Redis's order; the flag says whether plain `INFO` includes it.
const SECTIONS: &[(&str, bool)] = &[
    ("server", true),
    ("clients", true),
    ("memory", true),
    ("persistence", true),
    ("stats", true),
    ("replication", true),
    ("cpu", true),
    ("modules", true),
    ("commandstats", false),
    ("errorstats", true),
    ("cluster", true),
    ("keyspace", true),
];

/// Renders the requested sections (`[]`, `default`, `all`, `everything` or names).
pub fn render(state: &State, wanted: &[String]) -> String {
    let all = wanted.iter().any(|w| w == "all" || w == "everything");
    let default = wanted.is_empty() || wanted.iter().any(|w| w == "default");
    let mut out = String::new();
    for (name, in_default) in SECTIONS {
        if !(all || default && *in_default || wanted.iter().any(|w| w == name)) {
            continue;
        }
        if !out.is_empty() {
            out.push_str("\r\n");
        }
        let title = format!("{}{}", name[..1].to_ascii_uppercase(), &name[1..]);
        out.push_str(&format!(
            "# {}\r\n",
            if *name == "cpu" {
                "CPU".to_owned()
            } else {
                title
            }
        ));
        for (key, value) in section(state, name) {
            out.push_str(&format!("{key}:{value}\r\n"));
        }
    }
    out
}

fn section(state: &State, name: &str) -> Vec<(String, String)> {
    let pairs: Vec<(&str, String)> = match name {
        "server" => server(state),
        "clients" => vec![
            ("connected_clients", state.clients.len().to_string()),
            ("cluster_connections", "0".into()),
            ("maxclients", state.config.get("maxclients").into()),
            ("client_recent_max_input_buffer", "0".into()),
            ("client_recent_max_output_buffer", "0".into()),
            ("blocked_clients", state.blocked.count().to_string()),
            ("tracking_clients", "0".into()),
            (
                "clients_in_timeout_table",
                state.blocked.count().to_string(),
            ),
        ],
        "memory" => memory_section(state),
        "persistence" => persistence(state),
        "stats" => stats(state),
        "replication" => return crate::replication::info(state),
        "cpu" => cpu(),
        "commandstats" => return state.stats.commands_by_name.fields(),
        "errorstats" => return state.stats.errors.fields(),
        "cluster" => vec![(
            "cluster_enabled",
            u8::from(state.config.get_bool("cluster-enabled")).to_string(),
        )],
        "keyspace" => {
            return state
                .dbs
                .iter()
                .enumerate()
                .filter(|(_, db)| !db.is_empty())
                .map(|(i, db)| {
                    (
                        format!("db{i}"),
                        format!("keys={},expires={},avg_ttl=0", db.len(), db.volatile()),
                    )
                })
                .collect();
        }
        _ => Vec::new(),
    };
    pairs.into_iter().map(|(k, v)| (k.to_owned(), v)).collect()
}

fn server(state: &State) -> Vec<(&'static str, String)> {
    let uptime = state.started.elapsed().as_secs();
    let mode = if state.config.get_bool("cluster-enabled") {
        "cluster"
    } else {
        "standalone"
    };
    vec![
        ("redis_version", "7.0.15".into()),
        ("redis_git_sha1", "00000000".into()),
        ("redis_git_dirty", "0".into()),
        ("redis_build_id", "0".into()),
        ("redis_mode", mode.into()),
        ("os", format!("Linux {}", std::env::consts::ARCH)),
        ("arch_bits", "64".into()),
        ("monotonic_clock", "POSIX clock_gettime".into()),
        ("multiplexing_api", "epoll".into()),
        ("atomicvar_api", "c11-builtin".into()),
        // Redis prints 0.0.0 when not built by GCC.
        ("gcc_version", "0.0.0".into()),
        ("process_id", std::process::id().to_string()),
        ("process_supervised", "no".into()),
        ("run_id", state.run_id.clone()),
        ("tcp_port", state.config.get("port").into()),
        ("server_time_usec", crate::state::now_us().to_string()),
        ("uptime_in_seconds", uptime.to_string()),
        ("uptime_in_days", (uptime / 86400).to_string()),
        ("hz", state.config.get("hz").into()),
        ("configured_hz", state.config.get("hz").into()),
        // Redis's 24-bit LRU clock in seconds.
        (
            "lru_clock",
            ((crate::state::now_ms() / 1000) & 0xFF_FFFF).to_string(),
        ),
        (
            "executable",
            std::env::current_exe()
                .map(|p| p.display().to_string())
                .unwrap_or_default(),
        ),
        (
            "config_file",
            state
                .config
                .file
                .as_ref()
                .map(|p| p.display().to_string())
                .unwrap_or_default(),
        ),
        ("io_threads_active", "0".into()),
    ]
}

fn human(bytes: usize) -> String {
    let units = [("G", 1usize << 30), ("M", 1 << 20), ("K", 1 << 10)];
    for (unit, size) in units {
        if bytes >= size {
            return format!("{:.2}{unit}", bytes as f64 / size as f64);
        }
    }
    format!("{bytes}B")
}

/// `MemTotal` from /proc/meminfo, in bytes.
fn total_system_memory() -> usize {
    let meminfo = std::fs::read_to_string("/proc/meminfo").unwrap_or_default();
    meminfo
        .lines()
        .find_map(|l| l.strip_prefix("MemTotal:"))
        .and_then(|v| v.trim().trim_end_matches("kB").trim().parse::<usize>().ok())
        .map_or(0, |kb| kb * 1024)
}

/// Redis 7.0's memory fields, in its order. The node runs each script in a fresh Lua state
/// and has no functions, defrag or lazy freeing, so those figures are 0 (but the count of
/// cached scripts); the allocator figures are the tracked total.
fn memory_section(state: &State) -> Vec<(&'static str, String)> {
    let used = memory::used();
    let rss = memory::rss();
    let lua = memory::lua();
    let max = state.config.get_int("maxmemory") as usize;
    let system = total_system_memory();
    let ratio = |a: usize, b: usize| format!("{:.2}", a as f64 / b.max(1) as f64);
    let zero = || "0".to_owned();
    vec![
        ("used_memory", used.to_string()),
        ("used_memory_human", human(used)),
        ("used_memory_rss", rss.to_string()),
        ("used_memory_rss_human", human(rss)),
        ("used_memory_peak", used.to_string()),
        ("used_memory_peak_human", human(used)),
        ("used_memory_peak_perc", "100.00%".into()),
        ("used_memory_overhead", zero()),
        ("used_memory_startup", zero()),
        ("used_memory_dataset", used.to_string()),
        ("used_memory_dataset_perc", "100.00%".into()),
        ("allocator_allocated", used.to_string()),
        ("allocator_active", used.to_string()),
        ("allocator_resident", rss.to_string()),
        ("total_system_memory", system.to_string()),
        ("total_system_memory_human", human(system)),
        ("used_memory_lua", lua.to_string()),
        ("used_memory_vm_eval", lua.to_string()),
        ("used_memory_lua_human", human(lua)),
        ("used_memory_scripts_eval", zero()),
        ("number_of_cached_scripts", state.scripts.len().to_string()),
        ("number_of_functions", zero()),
        ("number_of_libraries", zero()),
        ("used_memory_vm_functions", zero()),
        ("used_memory_vm_total", zero()),
        ("used_memory_vm_total_human", human(0)),
        ("used_memory_functions", zero()),
        ("used_memory_scripts", zero()),
        ("used_memory_scripts_human", human(0)),
        ("maxmemory", max.to_string()),
        ("maxmemory_human", human(max)),
        (
            "maxmemory_policy",
            state.config.get("maxmemory-policy").into(),
        ),
        ("allocator_frag_ratio", "1.00".into()),
        ("allocator_frag_bytes", zero()),
        ("allocator_rss_ratio", ratio(rss, used)),
        ("allocator_rss_bytes", rss.saturating_sub(used).to_string()),
        ("rss_overhead_ratio", "1.00".into()),
        ("rss_overhead_bytes", zero()),
        ("mem_fragmentation_ratio", ratio(rss, used)),
        (
            "mem_fragmentation_bytes",
            rss.saturating_sub(used).to_string(),
        ),
        ("mem_not_counted_for_evict", zero()),
        ("mem_replication_backlog", zero()),
        ("mem_total_replication_buffers", zero()),
        ("mem_clients_slaves", zero()),
        ("mem_clients_normal", zero()),
        ("mem_cluster_links", zero()),
        ("mem_aof_buffer", zero()),
        // tikv-jemallocator bundles jemalloc 5.3.0, the version Redis 7.0 ships.
        ("mem_allocator", "jemalloc-5.3.0".into()),
        ("active_defrag_running", zero()),
        ("lazyfree_pending_objects", zero()),
        ("lazyfreed_objects", zero()),
    ]
}

/// Redis's persistence fields; the ones about AOF sizes only while the AOF is on. Call
/// [`crate::rdb::reconcile`] first so a finished BGSAVE shows.
fn persistence(state: &State) -> Vec<(&'static str, String)> {
    let rdb = &state.rdb;
    let aof = state.aof.as_ref();
    let status = |ok: bool| if ok { "ok" } else { "err" }.to_owned();
    let mut fields = vec![
        ("loading", "0".into()),
        ("async_loading", "0".into()),
        ("current_cow_peak", "0".into()),
        ("current_cow_size", "0".into()),
        ("current_cow_size_age", "0".into()),
        ("current_fork_perc", "0.00".into()),
        ("current_save_keys_processed", "0".into()),
        ("current_save_keys_total", "0".into()),
        ("rdb_changes_since_last_save", state.dirty.to_string()),
        (
            "rdb_bgsave_in_progress",
            u8::from(rdb.in_progress()).to_string(),
        ),
        ("rdb_last_save_time", state.last_save.to_string()),
        ("rdb_last_bgsave_status", status(rdb.last_ok)),
        ("rdb_last_bgsave_time_sec", rdb.last_bgsave_secs.to_string()),
        (
            "rdb_current_bgsave_time_sec",
            rdb.current_bgsave_secs().to_string(),
        ),
        ("rdb_saves", rdb.saves.to_string()),
        ("rdb_last_cow_size", "0".into()),
        ("rdb_last_load_keys_expired", "0".into()),
        ("rdb_last_load_keys_loaded", rdb.loaded_keys.to_string()),
        ("aof_enabled", u8::from(aof.is_some()).to_string()),
        ("aof_rewrite_in_progress", "0".into()),
        ("aof_rewrite_scheduled", "0".into()),
        ("aof_last_rewrite_time_sec", "-1".into()),
        ("aof_current_rewrite_time_sec", "-1".into()),
        ("aof_last_bgrewrite_status", "ok".into()),
        ("aof_rewrites", aof.map_or(0, |a| a.rewrites).to_string()),
        ("aof_rewrites_consecutive_failures", "0".into()),
        ("aof_last_write_status", "ok".into()),
        ("aof_last_cow_size", "0".into()),
        ("module_fork_in_progress", "0".into()),
        ("module_fork_last_cow_size", "0".into()),
    ];
    if let Some(aof) = aof {
        fields.extend([
            ("aof_current_size", aof.size.to_string()),
            ("aof_base_size", aof.base_size.to_string()),
            ("aof_pending_rewrite", "0".into()),
            ("aof_buffer_length", "0".into()),
            ("aof_pending_bio_fsync", "0".into()),
            ("aof_delayed_fsync", "0".into()),
        ]);
    }
    fields
}

/// Redis 7.0's stats fields, in its order; features the node lacks (defrag, tracking,
/// forks, I/O threads) count 0.
fn stats(state: &State) -> Vec<(&'static str, String)> {
    let s = &state.stats;
    let zero = || "0".to_owned();
    vec![
        ("total_connections_received", s.connections.to_string()),
        ("total_commands_processed", s.commands.to_string()),
        ("instantaneous_ops_per_sec", zero()),
        ("total_net_input_bytes", s.net_input_bytes.to_string()),
        ("total_net_output_bytes", s.net_output_bytes.to_string()),
        ("total_net_repl_input_bytes", zero()),
        ("total_net_repl_output_bytes", zero()),
        ("instantaneous_input_kbps", "0.00".into()),
        ("instantaneous_output_kbps", "0.00".into()),
        ("instantaneous_input_repl_kbps", "0.00".into()),
        ("instantaneous_output_repl_kbps", "0.00".into()),
        ("rejected_connections", s.rejected_connections.to_string()),
        ("sync_full", state.repl.stats.full.to_string()),
        ("sync_partial_ok", state.repl.stats.partial_ok.to_string()),
        ("sync_partial_err", state.repl.stats.partial_err.to_string()),
        ("expired_keys", s.expired_keys.to_string()),
        ("expired_stale_perc", "0.00".into()),
        ("expired_time_cap_reached_count", zero()),
        ("expire_cycle_cpu_milliseconds", zero()),
        ("evicted_keys", s.evicted_keys.to_string()),
        ("evicted_clients", zero()),
        ("total_eviction_exceeded_time", zero()),
        ("current_eviction_exceeded_time", zero()),
        ("keyspace_hits", s.keyspace_hits.to_string()),
        ("keyspace_misses", s.keyspace_misses.to_string()),
        ("pubsub_channels", state.pubsub.channels.len().to_string()),
        ("pubsub_patterns", state.pubsub.patterns.len().to_string()),
        (
            "pubsubshard_channels",
            state.pubsub.shard_channels.len().to_string(),
        ),
        ("latest_fork_usec", zero()),
        ("total_forks", zero()),
        ("migrate_cached_sockets", zero()),
        ("slave_expires_tracked_keys", zero()),
        ("active_defrag_hits", zero()),
        ("active_defrag_misses", zero()),
        ("active_defrag_key_hits", zero()),
        ("active_defrag_key_misses", zero()),
        ("total_active_defrag_time", zero()),
        ("current_active_defrag_time", zero()),
        ("tracking_total_keys", zero()),
        ("tracking_total_items", zero()),
        ("tracking_total_prefixes", zero()),
        ("unexpected_error_replies", zero()),
        ("total_error_replies", s.errors.total.to_string()),
        ("dump_payload_sanitizations", zero()),
        ("total_reads_processed", zero()),
        ("total_writes_processed", zero()),
        ("io_threaded_reads_processed", zero()),
        ("io_threaded_writes_processed", zero()),
        ("reply_buffer_shrinks", zero()),
        ("reply_buffer_expands", zero()),
    ]
}

/// `getrusage(who)`.
fn rusage(who: libc::c_int) -> libc::rusage {
    // SAFETY: getrusage only writes into the struct we pass.
    unsafe {
        let mut usage: libc::rusage = std::mem::zeroed();
        libc::getrusage(who, &mut usage);
        usage
    }
}

/// The process's CPU time; the "main thread" figures are the thread running this command
/// (commands run on the executor's worker threads, one at a time under the state lock).
fn cpu() -> Vec<(&'static str, String)> {
    let process = rusage(libc::RUSAGE_SELF);
    let thread = rusage(libc::RUSAGE_THREAD);
    let secs = |t: libc::timeval| format!("{}.{:06}", t.tv_sec, t.tv_usec);
    vec![
        ("used_cpu_sys", secs(process.ru_stime)),
        ("used_cpu_user", secs(process.ru_utime)),
        ("used_cpu_sys_children", "0.000000".into()),
        ("used_cpu_user_children", "0.000000".into()),
        ("used_cpu_sys_main_thread", secs(thread.ru_stime)),
        ("used_cpu_user_main_thread", secs(thread.ru_utime)),
    ]
}

//! The differential suite's machinery: parse the corpus in `tests/differential/*.txt`, run
//! every script against two servers (real `redis-server` 7 and `slotgate-node`, or two
//! redis-servers for the determinism self-check), and compare the raw reply bytes.
//!
//! The corpus format is documented in `tests/differential/README.md`. In short: a file per
//! command family; `### name` starts a script; every other non-empty line is a command in
//! redis-cli inline syntax or a `!directive`; `#` lines are comments.
//!
//! Layout of this module:
//! - parsing: [`split_inline`], [`parse_family`], [`load_corpus`] → [`Script`]s of [`Step`]s;
//! - running: [`run_corpus`] → one [`Transcript`] per script, each reply captured as the raw
//!   bytes [`FrameScanner`] delimits, normalised only where the script says so;
//! - comparing: [`compare`], [`Outcome`], the known-gaps ratchet helpers and [`escape`].

use std::collections::{BTreeMap, BTreeSet, HashMap};
use std::io::{ErrorKind, Read, Write};
use std::net::{Shutdown, TcpStream};
use std::path::Path;
use std::time::{Duration, Instant};

use bytes::BytesMut;
use slotgate_protocol::resp::{
    encode, encode_request, split_inline_args, FrameScanner, ReplyDecoder,
};
use slotgate_protocol::Frame;

/// How long one reply may take before the connection is declared stuck.
const READ_TIMEOUT: Duration = Duration::from_secs(2);
/// How long `!blocked N` polls `INFO clients` before giving up.
const BLOCKED_WAIT: Duration = Duration::from_secs(2);

// ---------------------------------------------------------------------------------------
// Parsing
// ---------------------------------------------------------------------------------------

/// How a reply is reduced before comparison (`!normalize <kind>`): only for fields that
/// legitimately differ between two correct servers.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Normalize {
    /// Every run of digits (in strings, integers, doubles) becomes `0`: ids, times.
    Digits,
    /// INFO text: keep `# Section` lines and field names, drop the values.
    InfoFields,
    /// Sort the elements of the top-level aggregate (unordered sets, KEYS).
    Sorted,
    /// Sort a flat array as (field, value) pairs, or a map's pairs (HGETALL).
    SortedPairs,
    /// Sort every aggregate at every depth (COMMAND INFO's subcommand lists).
    SortedDeep,
    /// SCAN-style `[cursor, [items]]`: keep the cursor, sort the items.
    Scan,
    /// Keep only the reply's type and, for aggregates, their length.
    Length,
    /// Keep only the reply's type tree (no contents): memory figures.
    Type,
    /// An integer in milliseconds rounded to whole seconds (PTTL of a long expiry).
    Pttl,
    /// HELLO's map: the `id` and `version` values are replaced.
    Hello,
}

impl Normalize {
    fn parse(kind: &str) -> Result<Normalize, String> {
        Ok(match kind {
            "digits" => Normalize::Digits,
            "info-fields" => Normalize::InfoFields,
            "sorted" => Normalize::Sorted,
            "sorted-pairs" => Normalize::SortedPairs,
            "sorted-deep" => Normalize::SortedDeep,
            "scan" => Normalize::Scan,
            "length" => Normalize::Length,
            "type" => Normalize::Type,
            "pttl" => Normalize::Pttl,
            "hello" => Normalize::Hello,
            other => return Err(format!("unknown normalisation {other:?}")),
        })
    }
}

/// What to do with the replies of one request.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ReplyHandling {
    /// Replies to read right away (`!expect N`; default 1, 0 = send only).
    pub expect: usize,
    pub normalize: Option<Normalize>,
    /// `!nocompare`: read the reply, record only that one came.
    pub nocompare: bool,
    /// `!capture name`: keep the bulk reply for later `${name}` arguments.
    pub capture: Option<String>,
}

/// One step of a script.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Step {
    /// A command sent as a multibulk request.
    Command {
        line: usize,
        args: Vec<Vec<u8>>,
        handling: ReplyHandling,
    },
    /// Bytes written as they are (`!raw`), for malformed and inline input.
    Raw {
        line: usize,
        bytes: Vec<u8>,
        handling: ReplyHandling,
    },
    /// Read N more replies on the current connection (`!recv N`); modifiers apply to each.
    Recv {
        line: usize,
        handling: ReplyHandling,
    },
    /// Pause (`!sleep ms`).
    Sleep(Duration),
    /// Switch the current connection (`!conn N`, 1-based; opened on first use).
    Conn(usize),
    /// Wait until the server reports `blocked_clients:N` (`!blocked N`).
    Blocked { line: usize, count: usize },
}

/// One script: a name, the family (file) it comes from, its steps.
#[derive(Debug, Clone)]
pub struct Script {
    pub family: String,
    pub name: String,
    pub steps: Vec<Step>,
}

impl Script {
    /// `family/script name`, as the known-gaps list spells it.
    pub fn id(&self) -> String {
        format!("{}/{}", self.family, self.name)
    }
}

/// Splits a line into arguments with redis-cli's (`sdssplitargs`) rules, which the
/// protocol crate's inline-command splitter implements.
pub fn split_inline(line: &str) -> Result<Vec<Vec<u8>>, String> {
    split_inline_args(line.as_bytes())
        .map(|args| args.iter().map(|arg| arg.to_vec()).collect())
        .map_err(|err| err.to_string())
}

/// Builds the scripts of one family file; errors name the file line.
pub fn parse_family(family: &str, text: &str) -> Result<Vec<Script>, String> {
    let mut parser = FamilyParser {
        family,
        scripts: Vec::new(),
        pending: ReplyHandling::default(),
        pending_expect: None,
        names: BTreeSet::new(),
    };
    for (index, raw_line) in text.lines().enumerate() {
        let line_no = index + 1;
        parser
            .line(line_no, raw_line.trim())
            .map_err(|e| format!("{family}.txt:{line_no}: {e}"))?;
    }
    parser.finish().map_err(|e| format!("{family}.txt: {e}"))
}

struct FamilyParser<'a> {
    family: &'a str,
    scripts: Vec<Script>,
    /// Modifiers (`!normalize`, `!nocompare`, `!capture`) waiting for the next request.
    pending: ReplyHandling,
    /// `!expect N` waiting for the next request.
    pending_expect: Option<usize>,
    names: BTreeSet<String>,
}

impl FamilyParser<'_> {
    fn line(&mut self, line_no: usize, line: &str) -> Result<(), String> {
        if line.is_empty() {
            return Ok(());
        }
        if let Some(name) = line.strip_prefix("###") {
            return self.start_script(name.trim());
        }
        if line.starts_with('#') {
            return Ok(());
        }
        if self.scripts.is_empty() {
            return Err("command before the first `### name`".into());
        }
        let step = match line.strip_prefix('!') {
            Some(directive) => self.directive(line_no, directive)?,
            None => {
                let args = split_inline(line)?;
                Some(Step::Command {
                    line: line_no,
                    args,
                    handling: self.take_pending(),
                })
            }
        };
        if let Some(step) = step {
            self.scripts
                .last_mut()
                .expect("a script is open")
                .steps
                .push(step);
        }
        Ok(())
    }

    fn start_script(&mut self, name: &str) -> Result<(), String> {
        if name.is_empty() {
            return Err("empty script name".into());
        }
        if !self.names.insert(name.to_owned()) {
            return Err(format!("duplicate script name {name:?}"));
        }
        self.check_no_pending()?;
        self.scripts.push(Script {
            family: self.family.to_owned(),
            name: name.to_owned(),
            steps: Vec::new(),
        });
        Ok(())
    }

    fn take_pending(&mut self) -> ReplyHandling {
        let mut handling = std::mem::take(&mut self.pending);
        handling.expect = self.pending_expect.take().unwrap_or(1);
        handling
    }

    fn check_no_pending(&self) -> Result<(), String> {
        if self.pending != ReplyHandling::default() || self.pending_expect.is_some() {
            return Err("a modifier directive is not followed by a command".into());
        }
        Ok(())
    }

    /// Parses `!directive args`; modifiers return `None` and wait for the next request.
    fn directive(&mut self, line_no: usize, directive: &str) -> Result<Option<Step>, String> {
        let (name, rest) = directive.split_once(' ').unwrap_or((directive, ""));
        let rest = rest.trim();
        let number = || {
            rest.parse::<usize>()
                .map_err(|_| format!("!{name} needs a number, got {rest:?}"))
        };
        match name {
            "sleep" => Ok(Some(Step::Sleep(Duration::from_millis(number()? as u64)))),
            "conn" => match number()? {
                0 => Err("connections are numbered from 1".into()),
                n => Ok(Some(Step::Conn(n))),
            },
            "recv" => {
                let count = if rest.is_empty() { 1 } else { number()? };
                let handling = ReplyHandling {
                    expect: count,
                    ..self.take_pending()
                };
                Ok(Some(Step::Recv {
                    line: line_no,
                    handling,
                }))
            }
            "blocked" => Ok(Some(Step::Blocked {
                line: line_no,
                count: number()?,
            })),
            "raw" => {
                let bytes = split_inline(rest)?.concat();
                Ok(Some(Step::Raw {
                    line: line_no,
                    bytes,
                    handling: self.take_pending(),
                }))
            }
            "expect" => {
                self.pending_expect = Some(number()?);
                Ok(None)
            }
            "normalize" => {
                self.pending.normalize = Some(Normalize::parse(rest)?);
                Ok(None)
            }
            "nocompare" => {
                self.pending.nocompare = true;
                Ok(None)
            }
            "capture" if !rest.is_empty() => {
                self.pending.capture = Some(rest.to_owned());
                Ok(None)
            }
            other => Err(format!("unknown directive !{other}")),
        }
    }

    fn finish(self) -> Result<Vec<Script>, String> {
        self.check_no_pending()?;
        if let Some(empty) = self.scripts.iter().find(|s| s.steps.is_empty()) {
            return Err(format!("script {:?} has no steps", empty.name));
        }
        Ok(self.scripts)
    }
}

/// Every `*.txt` family in `dir` except `known-gaps.txt`, sorted by family name.
pub fn load_corpus(dir: &Path) -> Result<Vec<Script>, String> {
    let mut files: Vec<_> = std::fs::read_dir(dir)
        .map_err(|e| format!("{}: {e}", dir.display()))?
        .filter_map(|entry| entry.ok().map(|e| e.path()))
        .filter(|path| path.extension().is_some_and(|ext| ext == "txt"))
        .filter(|path| {
            path.file_name()
                .is_some_and(|name| name != "known-gaps.txt")
        })
        .collect();
    files.sort();
    let mut scripts = Vec::new();
    for path in files {
        let family = path
            .file_stem()
            .map(|s| s.to_string_lossy().into_owned())
            .unwrap_or_default();
        let text =
            std::fs::read_to_string(&path).map_err(|e| format!("{}: {e}", path.display()))?;
        scripts.extend(parse_family(&family, &text)?);
    }
    Ok(scripts)
}

// ---------------------------------------------------------------------------------------
// Running
// ---------------------------------------------------------------------------------------

/// One recorded exchange: what was sent (for humans) and the reply as compared.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Entry {
    pub what: String,
    pub reply: Vec<u8>,
}

/// Everything one script produced against one server.
pub type Transcript = Vec<Entry>;

/// Why a reply could not be read.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum ReadFail {
    Closed,
    Timeout,
    Garbage,
}

impl ReadFail {
    fn marker(self) -> &'static [u8] {
        match self {
            ReadFail::Closed => b"<connection closed>",
            ReadFail::Timeout => b"<no reply within 2 s>",
            ReadFail::Garbage => b"<malformed reply>",
        }
    }
}

/// A connection that reads replies as raw frames, delimited by [`FrameScanner`].
struct RawConn {
    stream: TcpStream,
    buf: Vec<u8>,
    scanner: FrameScanner,
    /// Set once a read failed: the framing is lost, later steps record the failure.
    failed: Option<ReadFail>,
}

impl RawConn {
    fn connect(port: u16) -> std::io::Result<RawConn> {
        let stream = TcpStream::connect(("127.0.0.1", port))?;
        stream.set_read_timeout(Some(READ_TIMEOUT))?;
        stream.set_nodelay(true)?;
        Ok(RawConn {
            stream,
            buf: Vec::new(),
            scanner: FrameScanner::default(),
            failed: None,
        })
    }

    fn write(&mut self, bytes: &[u8]) {
        if self.failed.is_none() && self.stream.write_all(bytes).is_err() {
            self.failed = Some(ReadFail::Closed);
        }
    }

    fn send(&mut self, args: &[Vec<u8>]) {
        let mut out = BytesMut::new();
        encode_request(args, &mut out);
        self.write(&out);
    }

    /// The next reply's exact bytes.
    fn read_frame(&mut self) -> Result<Vec<u8>, ReadFail> {
        if let Some(fail) = self.failed {
            return Err(fail);
        }
        let result = self.read_frame_inner();
        if let Err(fail) = result {
            self.failed = Some(fail);
        }
        result
    }

    fn read_frame_inner(&mut self) -> Result<Vec<u8>, ReadFail> {
        loop {
            match self.scanner.scan(&self.buf) {
                Ok(Some(len)) => return Ok(self.buf.drain(..len).collect()),
                Ok(None) => {}
                Err(_) => return Err(ReadFail::Garbage),
            }
            let mut chunk = [0u8; 16 * 1024];
            match self.stream.read(&mut chunk) {
                Ok(0) => return Err(ReadFail::Closed),
                Ok(n) => self.buf.extend_from_slice(&chunk[..n]),
                Err(e) if matches!(e.kind(), ErrorKind::WouldBlock | ErrorKind::TimedOut) => {
                    return Err(ReadFail::Timeout)
                }
                Err(e) if e.kind() == ErrorKind::Interrupted => {}
                Err(_) => return Err(ReadFail::Closed),
            }
        }
    }

    /// Closes our side and waits (bounded) for the server to close its side, so the server
    /// has forgotten this client (subscriptions, blocked keys) before the next script.
    fn close(mut self) {
        let _ = self.stream.shutdown(Shutdown::Write);
        let _ = self
            .stream
            .set_read_timeout(Some(Duration::from_millis(500)));
        let mut sink = [0u8; 4096];
        while matches!(self.stream.read(&mut sink), Ok(n) if n > 0) {}
    }

    /// A command on the control connection, decoded; `None` if it failed.
    fn query(&mut self, args: &[&str]) -> Option<Frame> {
        let args: Vec<Vec<u8>> = args.iter().map(|a| a.as_bytes().to_vec()).collect();
        self.send(&args);
        let bytes = self.read_frame().ok()?;
        decode(&bytes)
    }
}

fn decode(bytes: &[u8]) -> Option<Frame> {
    let mut buf = BytesMut::from(bytes);
    ReplyDecoder::default().decode(&mut buf).ok().flatten()
}

fn reencode(frame: &Frame) -> Vec<u8> {
    let mut out = BytesMut::new();
    encode(frame, &mut out);
    out.to_vec()
}

/// Runs scripts against one server on `port`: a control connection sends `FLUSHALL` before
/// each script (and answers `!blocked`); each script gets fresh connections.
pub struct Runner {
    port: u16,
    control: Option<RawConn>,
}

impl Runner {
    pub fn new(port: u16) -> Runner {
        Runner {
            port,
            control: None,
        }
    }

    fn control(&mut self) -> Option<&mut RawConn> {
        if !matches!(&self.control, Some(c) if c.failed.is_none()) {
            self.control = RawConn::connect(self.port).ok();
        }
        self.control.as_mut()
    }

    /// Runs one script and returns what it recorded.
    pub fn run(&mut self, script: &Script) -> Transcript {
        let mut run = ScriptRun {
            port: self.port,
            conns: HashMap::new(),
            current: 1,
            vars: HashMap::new(),
            out: Vec::new(),
        };
        match self.control().and_then(|c| c.query(&["FLUSHALL"])) {
            Some(Frame::Simple(_)) => {}
            other => run.record(
                "FLUSHALL (before the script)",
                format!("{other:?}").into_bytes(),
            ),
        }
        for step in &script.steps {
            match step {
                Step::Blocked { line, count } => {
                    let reached = self.wait_blocked(*count);
                    let reply = if reached {
                        "reached"
                    } else {
                        "<never reached>"
                    };
                    run.record(
                        format!("line {line}: !blocked {count}"),
                        reply.as_bytes().to_vec(),
                    );
                }
                other => run.step(other),
            }
        }
        run.finish()
    }

    /// Polls `INFO clients` until `blocked_clients:<count>`, up to [`BLOCKED_WAIT`].
    fn wait_blocked(&mut self, count: usize) -> bool {
        let wanted = format!("blocked_clients:{count}\r\n");
        let deadline = Instant::now() + BLOCKED_WAIT;
        while Instant::now() < deadline {
            let info = self.control().and_then(|c| c.query(&["INFO", "clients"]));
            if info
                .as_ref()
                .and_then(Frame::as_bytes)
                .is_some_and(|text| contains(text, wanted.as_bytes()))
            {
                return true;
            }
            std::thread::sleep(Duration::from_millis(5));
        }
        false
    }
}

fn contains(haystack: &[u8], needle: &[u8]) -> bool {
    haystack.windows(needle.len()).any(|w| w == needle)
}

/// The state of one script's run against one server.
struct ScriptRun {
    port: u16,
    conns: HashMap<usize, RawConn>,
    current: usize,
    vars: HashMap<String, Vec<u8>>,
    out: Transcript,
}

impl ScriptRun {
    fn record(&mut self, what: impl Into<String>, reply: Vec<u8>) {
        self.out.push(Entry {
            what: what.into(),
            reply,
        });
    }

    /// The current connection, opened on first use; `None` if the server refuses.
    fn conn(&mut self) -> Option<&mut RawConn> {
        if !self.conns.contains_key(&self.current) {
            let conn = RawConn::connect(self.port).ok()?;
            self.conns.insert(self.current, conn);
        }
        self.conns.get_mut(&self.current)
    }

    fn step(&mut self, step: &Step) {
        match step {
            Step::Command {
                line,
                args,
                handling,
            } => {
                let args = self.substitute(args);
                let what = format!(
                    "line {line} [conn {}]: {}",
                    self.current,
                    display_args(&args)
                );
                match self.conn() {
                    Some(conn) => conn.send(&args),
                    None => return self.record(what, b"<cannot connect>".to_vec()),
                }
                self.read_replies(&what, handling);
            }
            Step::Raw {
                line,
                bytes,
                handling,
            } => {
                let what = format!(
                    "line {line} [conn {}]: !raw {}",
                    self.current,
                    escape(bytes, 200)
                );
                match self.conn() {
                    Some(conn) => conn.write(bytes),
                    None => return self.record(what, b"<cannot connect>".to_vec()),
                }
                self.read_replies(&what, handling);
            }
            Step::Recv { line, handling } => {
                let what = format!("line {line} [conn {}]: !recv", self.current);
                self.read_replies(&what, handling);
            }
            Step::Sleep(duration) => std::thread::sleep(*duration),
            Step::Conn(n) => self.current = *n,
            Step::Blocked { .. } => {
                unreachable!("handled by the runner, which owns the control connection")
            }
        }
    }

    /// `${name}` arguments become the bytes captured under that name.
    fn substitute(&self, args: &[Vec<u8>]) -> Vec<Vec<u8>> {
        args.iter()
            .map(|arg| {
                let name = arg
                    .strip_prefix(b"${")
                    .and_then(|rest| rest.strip_suffix(b"}"));
                name.and_then(|n| self.vars.get(String::from_utf8_lossy(n).as_ref()))
                    .cloned()
                    .unwrap_or_else(|| arg.clone())
            })
            .collect()
    }

    fn read_replies(&mut self, what: &str, handling: &ReplyHandling) {
        for index in 0..handling.expect {
            let label = if handling.expect > 1 {
                format!("{what} (reply {})", index + 1)
            } else {
                what.to_owned()
            };
            let reply = match self.conn().map(RawConn::read_frame) {
                Some(Ok(bytes)) => self.handle_reply(bytes, handling),
                Some(Err(fail)) => fail.marker().to_vec(),
                None => b"<cannot connect>".to_vec(),
            };
            self.record(label, reply);
        }
    }

    fn handle_reply(&mut self, bytes: Vec<u8>, handling: &ReplyHandling) -> Vec<u8> {
        if let Some(name) = &handling.capture {
            return match decode(&bytes) {
                Some(Frame::Bulk(value)) => {
                    self.vars.insert(name.clone(), value.to_vec());
                    b"<captured a bulk string>".to_vec()
                }
                _ => bytes,
            };
        }
        if handling.nocompare {
            return b"<not compared>".to_vec();
        }
        match handling.normalize {
            Some(kind) => normalize(&bytes, kind),
            None => bytes,
        }
    }

    fn finish(self) -> Transcript {
        for (_, conn) in self.conns {
            conn.close();
        }
        self.out
    }
}

fn display_args(args: &[Vec<u8>]) -> String {
    let shown: Vec<String> = args.iter().map(|a| escape(a, 60)).collect();
    shown.join(" ")
}

/// Runs every script against the server on `port`, in order.
pub fn run_corpus(port: u16, scripts: &[Script]) -> Vec<Transcript> {
    let mut runner = Runner::new(port);
    scripts.iter().map(|script| runner.run(script)).collect()
}

// ---------------------------------------------------------------------------------------
// Normalisation
// ---------------------------------------------------------------------------------------

/// Applies `kind` to one raw reply. Errors are never normalised: an error where a value was
/// expected must still show up as a difference.
pub fn normalize(bytes: &[u8], kind: Normalize) -> Vec<u8> {
    let Some(frame) = decode(bytes) else {
        return bytes.to_vec();
    };
    if matches!(frame, Frame::Error(_)) {
        return bytes.to_vec();
    }
    match kind {
        Normalize::Length => shape(&frame, false).into_bytes(),
        Normalize::Type => shape(&frame, true).into_bytes(),
        Normalize::Digits => reencode(&map_leaves(frame, &zero_digits)),
        Normalize::InfoFields => reencode(&map_leaves(frame, &info_fields)),
        Normalize::Sorted => reencode(&sort_top(frame)),
        Normalize::SortedPairs => reencode(&sort_pairs(frame)),
        Normalize::SortedDeep => reencode(&sort_deep(frame)),
        Normalize::Scan => reencode(&sort_scan(frame)),
        Normalize::Pttl => match frame {
            Frame::Integer(ms) if ms > 0 => reencode(&Frame::Integer((ms + 500) / 1000)),
            other => reencode(&other),
        },
        Normalize::Hello => reencode(&hide_hello_fields(frame)),
    }
}

/// The type tree of a reply: `$`, `:`, `*3[…]`; with `deep`, the elements' types too.
fn shape(frame: &Frame, deep: bool) -> String {
    let (tag, items): (&str, Vec<&Frame>) = match frame {
        Frame::Array(items) => ("*", items.iter().collect()),
        Frame::Set(items) => ("~", items.iter().collect()),
        Frame::Push(items) => (">", items.iter().collect()),
        Frame::Map(pairs) => ("%", pairs.iter().flat_map(|(k, v)| [k, v]).collect()),
        Frame::Simple(_) => return "+".into(),
        Frame::Integer(_) => return ":".into(),
        Frame::Bulk(_) => return "$".into(),
        Frame::NullBulk => return "$-1".into(),
        Frame::NullArray => return "*-1".into(),
        Frame::Null => return "_".into(),
        Frame::Double(_) => return ",".into(),
        Frame::Boolean(_) => return "#".into(),
        Frame::BigNumber(_) => return "(".into(),
        Frame::Verbatim(..) => return "=".into(),
        Frame::Error(_) => return "-".into(),
        Frame::Attribute(_, value) => return format!("|{}", shape(value, deep)),
    };
    if !deep {
        return format!("{tag}{}", items.len());
    }
    let inner: Vec<String> = items.iter().map(|item| shape(item, true)).collect();
    format!("{tag}{}[{}]", items.len(), inner.join(","))
}

/// Rebuilds a frame with every string leaf passed through `f` (integers and doubles become
/// text first only for [`zero_digits`]).
fn map_leaves(frame: Frame, f: &dyn Fn(&[u8]) -> Vec<u8>) -> Frame {
    let each = |items: Vec<Frame>| items.into_iter().map(|item| map_leaves(item, f)).collect();
    match frame {
        Frame::Simple(s) => Frame::Simple(f(&s).into()),
        Frame::Bulk(b) => Frame::Bulk(f(&b).into()),
        Frame::Verbatim(format, text) => Frame::Verbatim(format, f(&text).into()),
        Frame::Integer(n) => Frame::Integer(
            String::from_utf8_lossy(&f(n.to_string().as_bytes()))
                .parse()
                .unwrap_or(n),
        ),
        Frame::Double(d) => Frame::Bulk(f(d.to_string().as_bytes()).into()),
        Frame::Array(items) => Frame::Array(each(items)),
        Frame::Set(items) => Frame::Set(each(items)),
        Frame::Push(items) => Frame::Push(each(items)),
        Frame::Map(pairs) => Frame::Map(
            pairs
                .into_iter()
                .map(|(k, v)| (map_leaves(k, f), map_leaves(v, f)))
                .collect(),
        ),
        other => other,
    }
}

/// Every run of ASCII digits becomes a single `0`.
fn zero_digits(text: &[u8]) -> Vec<u8> {
    let mut out = Vec::with_capacity(text.len());
    for (i, &b) in text.iter().enumerate() {
        let in_run = i > 0 && text[i - 1].is_ascii_digit();
        match (b.is_ascii_digit(), in_run) {
            (true, true) => {}
            (true, false) => out.push(b'0'),
            (false, _) => out.push(b),
        }
    }
    out
}

/// INFO text reduced to `# Section` lines and field names.
fn info_fields(text: &[u8]) -> Vec<u8> {
    let text = String::from_utf8_lossy(text);
    let mut out = String::new();
    for line in text.split("\r\n") {
        let kept = if line.starts_with('#') || line.is_empty() {
            line
        } else {
            line.split(':').next().unwrap_or(line)
        };
        out.push_str(kept);
        out.push_str("\r\n");
    }
    out.into_bytes()
}

fn sort_frames(items: &mut [Frame]) {
    items.sort_by_cached_key(reencode);
}

fn sort_top(frame: Frame) -> Frame {
    match frame {
        Frame::Array(mut items) => {
            sort_frames(&mut items);
            Frame::Array(items)
        }
        Frame::Set(mut items) => {
            sort_frames(&mut items);
            Frame::Set(items)
        }
        Frame::Map(pairs) => sort_pairs(Frame::Map(pairs)),
        other => other,
    }
}

fn sort_deep(frame: Frame) -> Frame {
    let each = |items: Vec<Frame>| items.into_iter().map(sort_deep).collect();
    match frame {
        Frame::Array(items) => sort_top(Frame::Array(each(items))),
        Frame::Set(items) => sort_top(Frame::Set(each(items))),
        Frame::Map(pairs) => sort_top(Frame::Map(
            pairs
                .into_iter()
                .map(|(k, v)| (sort_deep(k), sort_deep(v)))
                .collect(),
        )),
        other => other,
    }
}

fn sort_pairs(frame: Frame) -> Frame {
    match frame {
        Frame::Array(items) if items.len() % 2 == 0 => {
            let mut pairs: Vec<Vec<Frame>> = items.chunks(2).map(<[Frame]>::to_vec).collect();
            pairs.sort_by_cached_key(|pair| [reencode(&pair[0]), reencode(&pair[1])].concat());
            Frame::Array(pairs.concat())
        }
        Frame::Map(mut pairs) => {
            pairs.sort_by_cached_key(|(k, v)| [reencode(k), reencode(v)].concat());
            Frame::Map(pairs)
        }
        other => sort_top(other),
    }
}

fn sort_scan(frame: Frame) -> Frame {
    match frame {
        Frame::Array(mut items) if items.len() == 2 => {
            let inner = std::mem::replace(&mut items[1], Frame::Null);
            items[1] = sort_top(inner);
            Frame::Array(items)
        }
        other => other,
    }
}

/// HELLO's `id` (a connection counter) and `version` values become `x`.
fn hide_hello_fields(frame: Frame) -> Frame {
    let hidden = |key: &Frame| matches!(key.as_bytes(), Some(b"id") | Some(b"version"));
    let placeholder = || Frame::Bulk("x".into());
    match frame {
        Frame::Map(pairs) => Frame::Map(
            pairs
                .into_iter()
                .map(|(k, v)| {
                    if hidden(&k) {
                        (k, placeholder())
                    } else {
                        (k, v)
                    }
                })
                .collect(),
        ),
        Frame::Array(items) => {
            let mut out = Vec::with_capacity(items.len());
            let mut hide_next = false;
            for (i, item) in items.into_iter().enumerate() {
                out.push(if hide_next { placeholder() } else { item });
                hide_next = i % 2 == 0 && hidden(out.last().expect("just pushed"));
            }
            Frame::Array(out)
        }
        other => other,
    }
}

// ---------------------------------------------------------------------------------------
// Comparing and reporting
// ---------------------------------------------------------------------------------------

/// The first exchange where two transcripts part ways.
#[derive(Debug, Clone)]
pub struct Difference {
    pub what: String,
    pub reference: String,
    pub ours: String,
}

/// The comparison of one script.
#[derive(Debug, Clone)]
pub struct Outcome {
    pub id: String,
    pub family: String,
    pub difference: Option<Difference>,
}

/// Compares the reference transcripts with ours, script by script.
pub fn compare(scripts: &[Script], reference: &[Transcript], ours: &[Transcript]) -> Vec<Outcome> {
    scripts
        .iter()
        .zip(reference.iter().zip(ours))
        .map(|(script, (a, b))| Outcome {
            id: script.id(),
            family: script.family.clone(),
            difference: first_difference(a, b),
        })
        .collect()
}

fn first_difference(reference: &Transcript, ours: &Transcript) -> Option<Difference> {
    let missing = Entry {
        what: "<nothing>".into(),
        reply: b"<no entry>".to_vec(),
    };
    let len = reference.len().max(ours.len());
    (0..len).find_map(|i| {
        let a = reference.get(i).unwrap_or(&missing);
        let b = ours.get(i).unwrap_or(&missing);
        (a.reply != b.reply).then(|| Difference {
            what: if a.what == missing.what {
                b.what.clone()
            } else {
                a.what.clone()
            },
            reference: escape(&a.reply, 200),
            ours: escape(&b.reply, 200),
        })
    })
}

/// Bytes as printable text: `\r`, `\n`, `\t`, `\\`, `\"` and `\xHH`, cut at `max` characters.
pub fn escape(bytes: &[u8], max: usize) -> String {
    let mut out = String::new();
    for &b in bytes {
        if out.len() >= max {
            out.push('…');
            break;
        }
        match b {
            b'\r' => out.push_str("\\r"),
            b'\n' => out.push_str("\\n"),
            b'\t' => out.push_str("\\t"),
            b'\\' => out.push_str("\\\\"),
            b'"' => out.push_str("\\\""),
            0x20..=0x7e => out.push(b as char),
            other => out.push_str(&format!("\\x{other:02x}")),
        }
    }
    out
}

/// Passed / total per family, in family order.
pub fn family_counts(outcomes: &[Outcome]) -> BTreeMap<String, (usize, usize)> {
    let mut counts: BTreeMap<String, (usize, usize)> = BTreeMap::new();
    for outcome in outcomes {
        let entry = counts.entry(outcome.family.clone()).or_default();
        entry.1 += 1;
        if outcome.difference.is_none() {
            entry.0 += 1;
        }
    }
    counts
}

/// The script ids listed in a known-gaps file (blank lines and `#` comments skipped); an
/// absent file lists nothing.
pub fn read_known_gaps(path: &Path) -> BTreeSet<String> {
    let text = std::fs::read_to_string(path).unwrap_or_default();
    text.lines()
        .map(str::trim)
        .filter(|l| !l.is_empty() && !l.starts_with('#'))
        .map(str::to_owned)
        .collect()
}

/// Writes `ids` (the differing scripts) as a new known-gaps list under `header` (comment
/// lines, each starting with `#`).
pub fn write_known_gaps(path: &Path, header: &str, ids: &BTreeSet<String>) -> std::io::Result<()> {
    let mut text = String::from(header);
    for id in ids {
        text.push_str(id);
        text.push('\n');
    }
    std::fs::write(path, text)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn splits_like_redis_cli() {
        let split = |line: &str| split_inline(line).unwrap();
        assert_eq!(
            split(r#"set "a b" 'c d'"#),
            [b"set".to_vec(), b"a b".to_vec(), b"c d".to_vec()]
        );
        assert_eq!(
            split(r#"set "\x00\xff\r\n" ''"#),
            [b"set".to_vec(), b"\x00\xff\r\n".to_vec(), Vec::new()]
        );
        assert!(split_inline(r#"set "a"b"#).is_err());
        assert!(split_inline("set 'a").is_err());
    }

    #[test]
    fn parses_directives() {
        let text =
            "### s\n!normalize sorted\nsmembers k\n!expect 0\nblpop q 0\n!recv 2\n### t\nping\n";
        let scripts = parse_family("f", text).unwrap();
        assert_eq!(scripts.len(), 2);
        let Step::Command { handling, .. } = &scripts[0].steps[0] else {
            panic!("command expected")
        };
        assert_eq!(
            (handling.expect, handling.normalize),
            (1, Some(Normalize::Sorted))
        );
        let Step::Command { handling, .. } = &scripts[0].steps[1] else {
            panic!("command expected")
        };
        assert_eq!(handling.expect, 0);
        let Step::Recv { handling, .. } = &scripts[0].steps[2] else {
            panic!("recv expected")
        };
        assert_eq!(handling.expect, 2);
        assert!(parse_family("f", "### a\nping\n### a\nping\n").is_err());
        assert!(parse_family("f", "### a\n!nocompare\n").is_err());
    }

    #[test]
    fn normalises_only_what_is_asked() {
        assert_eq!(
            normalize(b"*2\r\n$1\r\nb\r\n$1\r\na\r\n", Normalize::Sorted),
            b"*2\r\n$1\r\na\r\n$1\r\nb\r\n"
        );
        assert_eq!(
            normalize(b"$10\r\nid:1234 x9\r\n", Normalize::Digits),
            b"$7\r\nid:0 x0\r\n"
        );
        assert_eq!(normalize(b":99999\r\n", Normalize::Pttl), b":100\r\n");
        assert_eq!(normalize(b"-ERR x\r\n", Normalize::Type), b"-ERR x\r\n");
        assert_eq!(
            normalize(b"*2\r\n:1\r\n$1\r\na\r\n", Normalize::Type),
            b"*2[:,$]"
        );
    }
}

//! The Lua 5.1 environment of one script run, as Redis 7.0 sets it up: the base, table,
//! string and math libraries, the `bit`, `cjson`, `struct` and `cmsgpack` libraries
//! ([`libs`](super::libs)), `KEYS` / `ARGV`, the `redis` library, read-only globals
//! (`Attempt to modify a readonly table`, `Script attempted to access nonexistent global
//! variable`), and Redis's error handler, which turns a failure into the table
//! `{err=…, source=…, line=…}` the reply (`… script: <sha>, on @user_script:<line>.`) is
//! made from. `redis.call` goes to the host closure given to [`run`].
//!
//! A time limit: a count hook ([`time_limit`], every [`HOOK_EVERY`] instructions) looks at
//! the clock and stops a script that has run past its deadline (`busy-reply-threshold`)
//! with Redis's SCRIPT KILL error. Once a script is stopped the hook fires on every line
//! and raises again, so `pcall` cannot keep it alive (Redis's `luaMaskCountHook`). With a
//! threshold of 0 there is no hook at all (no limit), as in Redis: a set hook costs Lua
//! 5.1 a counter decrement on every instruction.

use std::cell::{Cell, RefCell};
use std::ffi::c_int;
use std::time::{Duration, Instant};

use bytes::Bytes;
use mlua::{ffi, ChunkMode, Function, Lua, LuaOptions, MultiValue, StdLib, Table, Value};
use slotgate_protocol::Frame;

use super::convert::{error_table, to_frame, to_lua};
use crate::reply::g17;

/// Runs one command for the script: the reply, or Redis's refusal text (`-CODE msg` or a
/// bare message) when the command may not run from a script.
pub type Host<'h> = dyn FnMut(&[Bytes], u8) -> Result<Frame, Vec<u8>> + 'h;

/// What Redis's `luaCreateFunction` says when a body does not compile; `None` when it does.
pub fn compile_error(body: &[u8]) -> Option<Frame> {
    let lua = Lua::new_with(StdLib::NONE, LuaOptions::new()).ok()?;
    compile(&lua, body, None).err()
}

fn compile(lua: &Lua, body: &[u8], env: Option<Table>) -> Result<Function, Frame> {
    let mut chunk = lua
        .load(body)
        .set_name("@user_script")
        .set_mode(ChunkMode::Text);
    if let Some(env) = env {
        chunk = chunk.set_environment(env);
    }
    chunk.into_function().map_err(|e| {
        let text = match e {
            mlua::Error::SyntaxError { message, .. } => message,
            other => other.to_string(),
        };
        Frame::error(format!("ERR Error compiling script (new function): {text}"))
    })
}

/// A thread's Lua state with what every run shares: the compiled prelude and runner and
/// the host-independent helpers. The prelude builds fresh `redis`, `KEYS`, `ARGV` and
/// globals tables for each run, and the libraries are read-only, so nothing a script
/// does is seen by the next one.
struct Engine {
    lua: Lua,
    prelude: Function,
    runner: Function,
    helpers: [Function; 5],
    /// `arm(on)`: puts the [`time_limit`] count hook on the state, or takes it off.
    arm: Function,
    /// Whether the count hook is on (`None`: unknown, after a stopped script).
    armed: Cell<Option<bool>>,
}

thread_local! {
    static ENGINE: RefCell<Option<Engine>> = const { RefCell::new(None) };
    /// When the running script must stop; `None` between runs.
    static DEADLINE: Cell<Option<Instant>> = const { Cell::new(None) };
    /// The running script has been stopped (every hook call raises again).
    static KILLED: Cell<bool> = const { Cell::new(false) };
    /// The script's line when it was stopped (for the reply when no other line is known).
    static KILLED_AT: Cell<c_int> = const { Cell::new(0) };
    /// What this thread's state held when last reported to the memory accounting.
    static REPORTED: Cell<usize> = const { Cell::new(0) };
}

/// Tells the memory accounting what this thread's Lua state holds now (0: none), so
/// `used_memory` leaves it out as Redis does.
fn report_memory(bytes: usize) {
    let before = REPORTED.replace(bytes);
    crate::memory::add_lua(bytes as isize - before as isize);
}

/// How many Lua VM instructions run between two looks at the clock: cheap enough to be
/// invisible, often enough (well under a millisecond) to stop a script on time.
const HOOK_EVERY: c_int = 100_000;

/// Redis 7.0's error for a script stopped by SCRIPT KILL (then ` script: <sha>, on
/// @user_script:<line>.`), which a script past `busy-reply-threshold` gets here.
const KILLED_TEXT: &std::ffi::CStr = c"ERR Script killed by user with SCRIPT KILL...";

impl Engine {
    fn new() -> mlua::Result<Engine> {
        // SAFETY: the debug library is only reachable from the prelude (its error handler),
        // never from a script's globals.
        let libs = StdLib::TABLE | StdLib::STRING | StdLib::MATH | StdLib::DEBUG;
        let lua = unsafe { Lua::unsafe_new_with(libs, LuaOptions::new()) };
        super::libs::register(&lua)?;
        let prelude = lua.load(PRELUDE).set_name("=redis").into_function()?;
        let runner = lua
            // Only the script's first value is its reply, as Redis's `lua_pcall(lua, 0, 1,
            // …)` keeps: its other values (up to a full stack) are not carried over.
            .load("local f, h = ... return xpcall(function() return (f()) end, h)")
            .set_name("=redis")
            .into_function()?;
        // SAFETY: `make_raising` only builds a C closure around its first argument.
        let raising = unsafe { lua.create_c_function(make_raising)? };
        let err_table =
            lua.create_function(|lua, text: mlua::String| error_table(lua, &text.as_bytes()))?;
        let sha1hex =
            lua.create_function(|_, text: mlua::String| Ok(super::sha1_hex(&text.as_bytes())))?;
        let log = lua.create_function(|_, (level, text): (i64, mlua::String)| {
            let text = String::from_utf8_lossy(&text.as_bytes()).into_owned();
            match level {
                3 => tracing::warn!(target: "script", "{text}"),
                2 => tracing::info!(target: "script", "{text}"),
                _ => tracing::debug!(target: "script", "{text}"),
            }
            Ok(())
        })?;
        let known = lua.create_function(|_, args: Vec<mlua::String>| {
            let args: Vec<Bytes> = args
                .iter()
                .map(|a| Bytes::copy_from_slice(&a.as_bytes()))
                .collect();
            Ok(super::super::resolve(&args).is_ok())
        })?;
        // SAFETY: `arm` only sets or clears a hook on the calling state.
        let arm = unsafe { lua.create_c_function(arm)? };
        Ok(Engine {
            lua,
            prelude,
            runner,
            helpers: [raising, err_table, sha1hex, log, known],
            arm,
            armed: Cell::new(None),
        })
    }

    /// Turns the time-limit hook on or off for the next run (a no-op when it already is).
    fn arm(&self, on: bool) -> mlua::Result<()> {
        if self.armed.get() != Some(on) {
            self.arm.call::<()>(on)?;
            self.armed.set(Some(on));
        }
        Ok(())
    }

    fn run(
        &self,
        sha: &str,
        body: &[u8],
        keys: &[Bytes],
        argv: &[Bytes],
        host: &mut Host,
    ) -> mlua::Result<Frame> {
        let lua = &self.lua;
        let resp = Cell::new(2u8);
        lua.scope(|scope| {
            let raw_call = scope.create_function_mut(|lua, args: MultiValue| {
                redis_call(lua, args, resp.get(), &mut *host)
            })?;
            let set_resp = scope.create_function(|_, version: u8| {
                resp.set(version);
                Ok(())
            })?;
            let strings = |items: &[Bytes]| {
                let table = lua.create_table()?;
                for (i, item) in items.iter().enumerate() {
                    table.raw_set(i + 1, lua.create_string(item)?)?;
                }
                Ok::<_, mlua::Error>(table)
            };
            let [raising, err_table, sha1hex, log, known] = &self.helpers;
            let (env, handler): (Table, Function) = self.prelude.call((
                lua.globals(),
                raising,
                raw_call,
                set_resp,
                err_table,
                sha1hex,
                log,
                known,
                strings(keys)?,
                strings(argv)?,
            ))?;
            let script = match compile(lua, body, Some(env)) {
                Ok(f) => f,
                Err(reply) => return Ok(reply),
            };
            let (ok, value): (bool, Value) = self.runner.call((script, handler))?;
            Ok(match ok {
                true => to_frame(&value, resp.get()),
                false => failure(&value, sha),
            })
        })
    }
}

/// Drops this thread's Lua state (SCRIPT FLUSH): the next run starts from a new one, with
/// the libraries' settings (`cjson.encode_number_precision`, …) back to their defaults, as
/// Redis's `scriptingReset` does. A no-op while a script runs.
pub fn reset() {
    ENGINE.with(|cell| {
        if let Ok(mut slot) = cell.try_borrow_mut() {
            *slot = None;
            report_memory(0);
        }
    });
}

/// Runs `body` (whose SHA1 is `sha`) with `KEYS` and `ARGV`; `host` runs `redis.call`s.
/// A script still running after `limit` is stopped with Redis's SCRIPT KILL error; what it
/// wrote until then stays.
pub fn run(
    sha: &str,
    body: &[u8],
    keys: &[Bytes],
    argv: &[Bytes],
    limit: Duration,
    host: &mut Host,
) -> Frame {
    let started = Instant::now();
    let outcome = ENGINE.with(|cell| {
        let mut slot = cell.try_borrow_mut().map_err(mlua::Error::external)?;
        if slot.is_none() {
            *slot = Some(Engine::new()?);
        }
        let engine = slot.as_ref().expect("engine just made");
        // 0 is no limit and no hook, as in Redis.
        engine.arm(!limit.is_zero())?;
        KILLED.set(false);
        DEADLINE.set(started.checked_add(limit).filter(|_| !limit.is_zero()));
        let outcome = engine.run(sha, body, keys, argv, host);
        DEADLINE.set(None);
        report_memory(engine.lua.used_memory());
        if KILLED.replace(false) {
            // The hook now fires on every line: set it again before the next run.
            engine.armed.set(None);
            return Ok(Err(killed_reply(outcome, sha)));
        }
        outcome.map(Ok)
    });
    match outcome {
        Ok(Ok(reply)) => reply,
        Ok(Err(killed)) => {
            tracing::warn!(
                "Lua script {sha} stopped: still running after {} milliseconds \
                 (busy-reply-threshold {} ms); the writes it made are kept",
                started.elapsed().as_millis(),
                limit.as_millis()
            );
            killed
        }
        Err(e) => Frame::error(format!("ERR {e}")),
    }
}

/// The reply for a stopped script: the script's own error when it is the SCRIPT KILL one
/// (its line is where the error escaped, as in Redis), else that error at the line where
/// the script was stopped.
fn killed_reply(outcome: mlua::Result<Frame>, sha: &str) -> Frame {
    let text = KILLED_TEXT.to_bytes();
    match outcome {
        Ok(Frame::Error(e)) if e.starts_with(text) => Frame::Error(e),
        _ => {
            let text = String::from_utf8_lossy(text);
            let line = KILLED_AT.get();
            Frame::error(format!("{text} script: {sha}, on @user_script:{line}."))
        }
    }
}

/// `arm(on)`: sets the [`time_limit`] count hook on the calling Lua state (coroutines a
/// script creates inherit it), or clears every hook when `on` is false.
unsafe extern "C-unwind" fn arm(state: *mut ffi::lua_State) -> c_int {
    if ffi::lua_toboolean(state, 1) != 0 {
        ffi::lua_sethook(state, Some(time_limit), ffi::LUA_MASKCOUNT, HOOK_EVERY);
    } else {
        ffi::lua_sethook(state, None, 0, 0);
    }
    0
}

/// The hook: nothing until the deadline; then the script is stopped — Redis's error table
/// is raised, now and on every later line (so a `pcall` catching it gets it again at once).
/// Hooks are off while it runs, so Redis's error handler adds the script's line as usual.
unsafe extern "C-unwind" fn time_limit(state: *mut ffi::lua_State, ar: *mut ffi::lua_Debug) {
    let over = KILLED.get() || DEADLINE.get().is_some_and(|d| Instant::now() >= d);
    if !over {
        return;
    }
    if !KILLED.replace(true) && ffi::lua_getinfo(state, c"l".as_ptr(), ar) != 0 {
        KILLED_AT.set((*ar).currentline);
    }
    ffi::lua_sethook(state, Some(time_limit), ffi::LUA_MASKLINE, 0);
    ffi::lua_createtable(state, 0, 1);
    ffi::lua_pushstring(state, KILLED_TEXT.as_ptr());
    ffi::lua_setfield(state, -2, c"err".as_ptr());
    ffi::lua_error(state);
}

/// `redis.call` / `redis.pcall` below the Lua wrappers: the arguments as Redis takes them
/// (numbers as `%.17g`), then the command; `(reply, failed)`, an error as `{err=…}`.
fn redis_call(
    lua: &Lua,
    args: MultiValue,
    resp: u8,
    host: &mut Host,
) -> mlua::Result<(Value, bool)> {
    let fail = |text: &str| Ok((Value::Table(error_table(lua, text.as_bytes())?), true));
    if args.is_empty() {
        return fail("Please specify at least one argument for this redis lib call");
    }
    let mut argv = Vec::with_capacity(args.len());
    for arg in args {
        argv.push(match arg {
            Value::String(s) => Bytes::copy_from_slice(&s.as_bytes()),
            Value::Integer(n) => Bytes::from(g17(n as f64)),
            Value::Number(n) => Bytes::from(g17(n)),
            _ => return fail("Lua redis lib command arguments must be strings or integers"),
        });
    }
    match host(&argv, resp) {
        Ok(reply) => {
            let failed = matches!(reply, Frame::Error(_));
            Ok((to_lua(lua, &reply, resp)?, failed))
        }
        Err(text) => Ok((Value::Table(error_table(lua, &text)?), true)),
    }
}

/// The reply for a script that raised: Redis's `luaCallFunction` error text.
fn failure(value: &Value, sha: &str) -> Frame {
    let text = |v: Value| match v {
        Value::String(s) => Some(s.as_bytes().to_vec()),
        Value::Integer(n) => Some(n.to_string().into_bytes()),
        Value::Number(n) => Some(g17(n).into_bytes()),
        _ => None,
    };
    let Value::Table(t) = value else {
        return Frame::error(format!(
            "ERR Error running script f_{sha}, execution failure"
        ));
    };
    let field = |name: &str| t.get::<Value>(name).ok().and_then(text);
    let mut out = field("err").unwrap_or_default();
    if let (Some(source), Some(line)) = (field("source"), field("line")) {
        out.extend_from_slice(format!(" script: {sha}, on ").as_bytes());
        out.extend_from_slice(&source);
        out.push(b':');
        out.extend_from_slice(&line);
        out.push(b'.');
    }
    Frame::Error(out.into())
}

/// `raising(f)`: a C function that calls `f` and raises its first result when the second
/// is true, else returns the first.
unsafe extern "C-unwind" fn make_raising(state: *mut ffi::lua_State) -> c_int {
    ffi::lua_settop(state, 1);
    ffi::lua_pushcclosure(state, raise_failure, 1);
    1
}

unsafe extern "C-unwind" fn raise_failure(state: *mut ffi::lua_State) -> c_int {
    let args = ffi::lua_gettop(state);
    ffi::luaL_checkstack(state, 3, std::ptr::null());
    ffi::lua_pushvalue(state, ffi::lua_upvalueindex(1));
    ffi::lua_insert(state, 1);
    ffi::lua_call(state, args, 2);
    let failed = ffi::lua_toboolean(state, -1) != 0;
    ffi::lua_settop(state, -2);
    if failed {
        ffi::lua_error(state);
    }
    1
}

/// Builds the `redis` library and the protected globals; returns the script's environment
/// and the error handler. Functions defined here carry the chunk name `=redis`, which the
/// handler skips so errors point at the script's line as Redis's C functions do.
const PRELUDE: &str = r#"
local G, raising, rawcall, setresp, errtable, sha1hex, log, known, keys, argv = ...
local error, type, select, tostring, tonumber = G.error, G.type, G.select, G.tostring, G.tonumber
local setmetatable, getinfo = G.setmetatable, G.debug.getinfo

local function readonly() error('Attempt to modify a readonly table', 2) end
local function fail(text) return errtable(text), true end

-- `raising(f)` is a C function calling f, which returns (value, failed): a failure raises
-- the value from C, as Redis's C functions do (no Lua frame, no tail call in between).
local redis = {}
redis.call = raising(rawcall)
function redis.pcall(...)
  return (rawcall(...))
end
function redis.error_reply(...)
  local e = ...
  if select('#', ...) ~= 1 or type(e) ~= 'string' then
    return errtable('wrong number or type of arguments')
  end
  if e:sub(1, 1) ~= '-' then e = '-' .. e end
  return errtable(e)
end
function redis.status_reply(...)
  local s = ...
  if select('#', ...) ~= 1 or type(s) ~= 'string' then
    return errtable('wrong number or type of arguments')
  end
  return {ok = s}
end
redis.sha1hex = raising(function(...)
  if select('#', ...) ~= 1 then return fail('wrong number of arguments') end
  local s = ...
  if type(s) == 'number' then s = tostring(s) elseif type(s) ~= 'string' then s = '' end
  return sha1hex(s), false
end)
redis.log = raising(function(...)
  local n = select('#', ...)
  if n < 2 then return fail('redis.log() requires two arguments or more.') end
  local level = tonumber((...))
  if level == nil then return fail('First argument must be a number (log level).') end
  if level < 0 or level >= 4 then return fail('Invalid debug level.') end
  local text = ''
  for i = 2, n do
    local part = select(i, ...)
    if type(part) == 'string' or type(part) == 'number' then
      if i ~= 2 then text = text .. ' ' end
      text = text .. part
    end
  end
  log(level - level % 1, text)
  return nil, false
end)
redis.setresp = raising(function(...)
  if select('#', ...) ~= 1 then return fail('redis.setresp() requires one argument.') end
  local v = tonumber((...))
  if v ~= 2 and v ~= 3 then return fail('RESP version must be 2 or 3.') end
  setresp(v)
  return nil, false
end)
redis.set_repl = raising(function(...)
  if select('#', ...) ~= 1 then return fail('redis.set_repl() requires two arguments.') end
  local flags = tonumber((...)) or 0
  if flags < 0 or flags > 3 or flags % 1 ~= 0 then
    return fail('Invalid replication flags. Use REPL_AOF, REPL_REPLICA, REPL_ALL or REPL_NONE.')
  end
  return nil, false
end)
function redis.replicate_commands() return true end
function redis.breakpoint() return false end
function redis.debug() end
redis.acl_check_cmd = raising(function(...)
  local n = select('#', ...)
  if n == 0 then return fail('Please specify at least one argument for this redis lib call') end
  local args = {}
  for i = 1, n do
    local a = select(i, ...)
    if type(a) ~= 'string' and type(a) ~= 'number' then
      return fail('Lua redis lib command arguments must be strings or integers')
    end
    args[i] = tostring(a)
  end
  if not known(args) then return fail('Invalid command passed to redis.acl_check_cmd()') end
  return true, false
end)
redis.LOG_DEBUG, redis.LOG_VERBOSE, redis.LOG_NOTICE, redis.LOG_WARNING = 0, 1, 2, 3
redis.REPL_NONE, redis.REPL_AOF, redis.REPL_SLAVE, redis.REPL_REPLICA, redis.REPL_ALL = 0, 1, 2, 2, 3
redis.REDIS_VERSION, redis.REDIS_VERSION_NUM = '7.0.15', 458767

local visible = {}
for _, name in G.ipairs({'assert', 'collectgarbage', 'error', 'gcinfo', 'getmetatable',
    'ipairs', 'load', 'loadstring', 'next', 'pairs', 'pcall', 'rawequal', 'rawget', 'rawset',
    'select', 'setmetatable', 'tonumber', 'tostring', 'type', 'unpack', 'xpcall', '_VERSION'}) do
  visible[name] = G[name]
end
for _, name in G.ipairs({'coroutine', 'table', 'string', 'math', 'bit', 'cjson', 'struct', 'cmsgpack'}) do
  visible[name] = setmetatable({}, {__index = G[name], __newindex = readonly})
end
visible.redis = setmetatable({}, {__index = redis, __newindex = readonly})
visible.KEYS, visible.ARGV = keys, argv
local env = setmetatable({}, {
  __index = function(_, k)
    local v = visible[k]
    if v == nil then
      error("Script attempted to access nonexistent global variable '" .. tostring(k) .. "'", 2)
    end
    return v
  end,
  __newindex = readonly,
})
visible._G = env
-- Chunks a script compiles see the same protected globals.
local setfenv, loadstring, load = G.setfenv, G.loadstring, G.load
function visible.loadstring(...)
  local f, e = loadstring(...)
  if f then setfenv(f, env) end
  return f, e
end
function visible.load(...)
  local f, e = load(...)
  if f then setfenv(f, env) end
  return f, e
end

local function handler(err)
  local level = 2
  local i = getinfo(level, 'nSl')
  if i and i.what == 'C' then level = 3; i = getinfo(level, 'nSl') end
  while i and i.source == '=redis' do level = level + 1; i = getinfo(level, 'nSl') end
  if type(err) ~= 'table' then err = {err = 'ERR ' .. tostring(err)} end
  if i then err.source = i.source; err.line = i.currentline end
  return err
end
return env, handler
"#;

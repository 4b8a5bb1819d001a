//! The Lua 5.1 environment of one script run, as Redis 7.0 sets it up: the base, table,
//! string and math libraries, `KEYS` / `ARGV`, the `redis` library, read-only globals
//! (`Attempt to modify a readonly table`, `Script attempted to access nonexistent global
//! variable`), and Redis's error handler, which turns a failure into the table
//! `{err=…, source=…, line=…}` the reply (`… script: <sha>, on @user_script:<line>.`) is
//! made from. `redis.call` goes to the host closure given to [`run`].

use std::cell::{Cell, RefCell};
use std::ffi::c_int;

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
}

thread_local! {
    static ENGINE: RefCell<Option<Engine>> = const { RefCell::new(None) };
}

impl Engine {
    fn new() -> mlua::Result<Engine> {
        // SAFETY: the debug library is only reachable from the prelude (its error handler),
        // never from a script's globals.
        let libs = StdLib::TABLE | StdLib::STRING | StdLib::MATH | StdLib::DEBUG;
        let lua = unsafe { Lua::unsafe_new_with(libs, LuaOptions::new()) };
        let prelude = lua.load(PRELUDE).set_name("=redis").into_function()?;
        let runner = lua
            .load("local f, h = ... return xpcall(f, h)")
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
        Ok(Engine {
            lua,
            prelude,
            runner,
            helpers: [raising, err_table, sha1hex, log, known],
        })
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

/// Runs `body` (whose SHA1 is `sha`) with `KEYS` and `ARGV`; `host` runs `redis.call`s.
pub fn run(sha: &str, body: &[u8], keys: &[Bytes], argv: &[Bytes], host: &mut Host) -> Frame {
    let outcome = ENGINE.with(|cell| {
        let mut slot = cell.try_borrow_mut().map_err(mlua::Error::external)?;
        if slot.is_none() {
            *slot = Some(Engine::new()?);
        }
        let engine = slot.as_ref().expect("engine just made");
        engine.run(sha, body, keys, argv, host)
    });
    outcome.unwrap_or_else(|e| Frame::error(format!("ERR {e}")))
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
for _, name in G.ipairs({'coroutine', 'table', 'string', 'math'}) do
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

//! The node's configuration: redis.conf directives and `--directive value` overrides, kept
//! as one table of parameters (name, default, kind, runtime-changeable) so that start-up
//! parsing, `CONFIG GET/SET/REWRITE` and `INFO` all read the same truth. The few values
//! read on every command are also kept parsed ([`Hot`]).

mod hot;
mod output_limits;
mod params;

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

pub use hot::Hot;
pub use output_limits::{ClientClass, OutputLimit, OutputLimits};
pub use params::parse_memory;
use params::{normalise, param, Param, PARAMS};

/// A start-up configuration problem, shaped like Redis's FATAL CONFIG FILE ERROR.
#[derive(Debug, thiserror::Error)]
#[error("\n*** FATAL CONFIG FILE ERROR (Redis 7.0.15) ***\nReading the configuration file, at line {line}\n>>> '{text}'\n{reason}")]
pub struct ConfigFileError {
    pub line: usize,
    pub text: String,
    pub reason: String,
}

/// The live configuration: every parameter's normalised value.
#[derive(Debug, Clone)]
pub struct Config {
    values: BTreeMap<&'static str, String>,
    /// The per-command values, parsed (follows `values`).
    hot: Hot,
    /// The file it was loaded from, for `CONFIG REWRITE`.
    pub file: Option<PathBuf>,
}

impl Default for Config {
    fn default() -> Self {
        let values = PARAMS
            .iter()
            .map(|p| (p.name, p.default.to_owned()))
            .collect();
        let mut config = Config {
            values,
            hot: Hot::default(),
            file: None,
        };
        config.hot = Hot::read(&config);
        config
    }
}

impl Config {
    /// Loads `redis-server`-style arguments: `[config-file] [--directive value …]`.
    pub fn from_args(args: &[String]) -> Result<Config, ConfigFileError> {
        let mut config = Config::default();
        let mut rest = args;
        let mut lines: Vec<(usize, Vec<String>, String)> = Vec::new();
        let mut line_no = 0;
        if let Some(first) = args.first().filter(|a| !a.starts_with("--")) {
            let path = PathBuf::from(first);
            let text = std::fs::read_to_string(&path).map_err(|e| ConfigFileError {
                line: 0,
                text: first.clone(),
                reason: format!("Fatal error, can't open config file '{first}': {e}"),
            })?;
            for raw in text.lines() {
                line_no += 1;
                let trimmed = raw.trim();
                if trimmed.is_empty() || trimmed.starts_with('#') {
                    continue;
                }
                let words = split_args(trimmed).ok_or_else(|| {
                    bad_line(line_no, trimmed, "Unbalanced quotes in configuration line")
                })?;
                lines.push((line_no, words, trimmed.to_owned()));
            }
            config.file = Some(std::fs::canonicalize(&path).unwrap_or(path));
            rest = &args[1..];
        }
        line_no += 1;
        for words in split_options(rest) {
            line_no += 1;
            let text = words
                .iter()
                .enumerate()
                .map(|(i, w)| {
                    if i == 0 {
                        w.clone()
                    } else {
                        format!("\"{w}\"")
                    }
                })
                .collect::<Vec<_>>();
            lines.push((line_no, words, text.join(" ")));
        }
        for (line, words, text) in lines {
            config
                .apply_line(&words)
                .map_err(|reason| bad_line(line, &text, &reason))?;
        }
        config.resolve_dir();
        Ok(config)
    }

    fn apply_line(&mut self, words: &[String]) -> Result<(), String> {
        let bad = || "Bad directive or wrong number of arguments".to_owned();
        let (name, values) = words.split_first().ok_or_else(bad)?;
        let param = param(name).ok_or_else(bad)?;
        let value = match param.name {
            "save" | "bind" | "client-output-buffer-limit" | "replicaof" => values.join(" "),
            _ if values.len() == 1 => values[0].clone(),
            _ => return Err(bad()),
        };
        let normal = normalise(param, &value, self.get(param.name))?;
        self.store(param.name, normal);
        Ok(())
    }

    /// Makes `dir` absolute (default: the working directory) and moves there, as Redis does.
    fn resolve_dir(&mut self) {
        let dir = self.get("dir").to_owned();
        if !dir.is_empty() {
            let _ = std::env::set_current_dir(&dir);
        }
        if let Ok(cwd) = std::env::current_dir() {
            self.store("dir", cwd.display().to_string());
        }
    }

    /// The normalised value of a known parameter (empty for unknown names).
    pub fn get(&self, name: &str) -> &str {
        self.values.get(name).map_or("", String::as_str)
    }

    pub fn get_bool(&self, name: &str) -> bool {
        self.get(name) == "yes"
    }

    pub fn get_int(&self, name: &str) -> i64 {
        self.get(name).parse().unwrap_or(0)
    }

    /// The values read on every command, already parsed.
    pub fn hot(&self) -> &Hot {
        &self.hot
    }

    pub fn dir(&self) -> &Path {
        Path::new(self.get("dir"))
    }

    /// The limits of one client class from `client-output-buffer-limit`.
    pub fn output_limit(&self, class: ClientClass) -> OutputLimit {
        self.hot.output_limits.class(class)
    }

    /// `CONFIG GET` pairs, as Redis 7.0 builds them: a pattern without glob characters
    /// names one parameter (any case, old names too) and is answered under the name as
    /// given; a glob matches every parameter name and alias. A name is listed once.
    pub fn matching(&self, patterns: &[&[u8]]) -> Vec<(String, String)> {
        let mut out: Vec<(String, String)> = Vec::new();
        let mut add = |name: &str, param: &Param| {
            if !out.iter().any(|(n, _)| n.eq_ignore_ascii_case(name)) {
                out.push((name.to_owned(), self.get(param.name).to_owned()));
            }
        };
        for pattern in patterns {
            if !pattern.iter().any(|c| b"[*?".contains(c)) {
                if let Some(param) = param(&String::from_utf8_lossy(pattern)) {
                    add(&String::from_utf8_lossy(pattern), param);
                }
                continue;
            }
            for (name, param) in params::names() {
                if crate::glob::matches(pattern, name.as_bytes(), true) {
                    add(name, param);
                }
            }
        }
        out
    }

    /// `CONFIG SET name value [name value …]`, all or nothing, with Redis 7.0's checks in
    /// its order: every name known, settable and given once, then every value valid.
    pub fn set_many(&mut self, pairs: &[(&str, &str)]) -> Result<(), String> {
        let fail = |name: &str, why: &str| {
            format!("ERR CONFIG SET failed (possibly related to argument '{name}') - {why}")
        };
        let mut refusal = None;
        let mut found: Vec<&'static Param> = Vec::new();
        for (name, _) in pairs {
            let Some(param) = param(name) else {
                if refusal.is_none() {
                    return Err(format!(
                        "ERR Unknown option or number of arguments for CONFIG SET - '{name}'"
                    ));
                }
                continue;
            };
            if refusal.is_none() {
                if !param.mutable {
                    refusal = Some(fail(name, "can't set immutable config"));
                } else if found.iter().any(|p| std::ptr::eq(*p, param)) {
                    refusal = Some(fail(name, "duplicate parameter"));
                }
            }
            found.push(param);
        }
        if let Some(refusal) = refusal {
            return Err(refusal);
        }
        let mut updated = self.clone();
        for ((name, value), param) in pairs.iter().zip(found) {
            let normal =
                normalise(param, value, self.get(param.name)).map_err(|e| fail(name, &e))?;
            updated.store(param.name, normal);
        }
        *self = updated;
        Ok(())
    }

    /// `CONFIG SET name value` for one parameter.
    pub fn set(&mut self, name: &str, value: &str) -> Result<(), String> {
        self.set_many(&[(name, value)])
    }

    /// Sets a parameter's normalised value, keeping [`Hot`] in step.
    fn store(&mut self, name: &'static str, value: String) {
        self.values.insert(name, value);
        self.hot = Hot::read(self);
    }

    /// `CONFIG REWRITE`: writes every non-default parameter back to the config file.
    pub fn rewrite(&self) -> Result<(), String> {
        let path = self
            .file
            .as_ref()
            .ok_or("ERR The server is running without a config file")?;
        let mut text = String::from("# Generated by CONFIG REWRITE\n");
        for param in PARAMS {
            let value = self.get(param.name);
            if value != param.default && param.name != "dir" {
                text.push_str(&format!("{} {}\n", param.name, quote(value)));
            }
        }
        text.push_str(&format!("dir {}\n", quote(self.get("dir"))));
        std::fs::write(path, text).map_err(|e| format!("ERR Rewriting config file: {e}"))
    }
}

fn bad_line(line: usize, text: &str, reason: &str) -> ConfigFileError {
    ConfigFileError {
        line,
        text: text.to_owned(),
        reason: reason.to_owned(),
    }
}

fn quote(value: &str) -> String {
    if value.is_empty() || value.contains([' ', '"', '\'']) {
        format!("\"{}\"", value.replace('\\', "\\\\").replace('"', "\\\""))
    } else {
        value.to_owned()
    }
}

/// Groups `--name v1 v2 --other v` into directive lines, as `redis-server` does.
fn split_options(args: &[String]) -> Vec<Vec<String>> {
    let mut out: Vec<Vec<String>> = Vec::new();
    for arg in args {
        match arg.strip_prefix("--") {
            Some(name) => out.push(vec![name.to_owned()]),
            None => match out.last_mut() {
                Some(line) => line.push(arg.clone()),
                None => out.push(vec![arg.clone()]),
            },
        }
    }
    out
}

/// Splits a config line into words with Redis's quoting (`"…"` with escapes, `'…'`).
pub fn split_args(line: &str) -> Option<Vec<String>> {
    let mut words = Vec::new();
    let mut chars = line.chars().peekable();
    loop {
        while chars.peek().is_some_and(|c| c.is_whitespace()) {
            chars.next();
        }
        let Some(&first) = chars.peek() else {
            return Some(words);
        };
        let mut word = String::new();
        if first == '"' || first == '\'' {
            chars.next();
            loop {
                match chars.next()? {
                    '\\' if first == '"' => word.push(unescape(chars.next()?)),
                    c if c == first => break,
                    c => word.push(c),
                }
            }
            if chars.peek().is_some_and(|c| !c.is_whitespace()) {
                return None;
            }
        } else {
            while let Some(c) = chars.next_if(|c| !c.is_whitespace()) {
                word.push(c);
            }
        }
        words.push(word);
    }
}

fn unescape(c: char) -> char {
    match c {
        'n' => '\n',
        'r' => '\r',
        't' => '\t',
        other => other,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn args(list: &[&str]) -> Vec<String> {
        list.iter().map(|s| s.to_string()).collect()
    }

    #[test]
    fn command_line_overrides_and_empty_save() {
        let c = Config::from_args(&args(&[
            "--port",
            "7001",
            "--save",
            "",
            "--maxmemory",
            "1mb",
        ]))
        .unwrap();
        assert_eq!(c.get("port"), "7001");
        assert_eq!(c.get("save"), "");
        assert_eq!(c.get("maxmemory"), "1048576");
    }

    #[test]
    fn bad_directive_has_redis_shape() {
        let err = Config::from_args(&args(&["--port", "1", "--foo", "bar"]))
            .unwrap_err()
            .to_string();
        assert!(
            err.contains(
                "at line 3\n>>> 'foo \"bar\"'\nBad directive or wrong number of arguments"
            ),
            "{err}"
        );
    }

    #[test]
    fn config_set_validates() {
        let mut c = Config::default();
        assert!(c.set("maxmemory-policy", "allkeys-lru").is_ok());
        assert!(c
            .set("appendonly", "maybe")
            .unwrap_err()
            .contains("'yes' or 'no'"));
        assert!(c.set("port", "1").unwrap_err().contains("immutable"));
    }

    #[test]
    fn example_config_loads() {
        let path = concat!(env!("CARGO_MANIFEST_DIR"), "/../config/node-7000.conf");
        let c = Config::from_args(&args(&[path, "--port", "7001"])).unwrap();
        assert_eq!(c.get("port"), "7001");
        assert!(c.get_bool("cluster-enabled") && c.get_bool("appendonly"));
        assert_eq!(c.get("cluster-node-timeout"), "5000");
    }

    #[test]
    fn quoting() {
        assert_eq!(
            split_args(r#"requirepass "a b" 'c'"#).unwrap(),
            vec!["requirepass", "a b", "c"]
        );
        assert!(split_args("x \"open").is_none());
    }
}

//! [`Docs`] and [`Arg`]: what `COMMAND DOCS` reports about a command, kept so that the node
//! and the proxy can answer `COMMAND DOCS` exactly like Redis 7.0.

use serde::Deserialize;

/// A command's documentation; `None`/empty fields are the ones Redis leaves out.
#[derive(Debug, Clone, PartialEq, Eq, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Docs {
    pub summary: Option<String>,
    pub since: Option<String>,
    pub complexity: Option<String>,
    /// `deprecated`, `syscmd`.
    #[serde(default)]
    pub doc_flags: Vec<String>,
    pub deprecated_since: Option<String>,
    pub replaced_by: Option<String>,
    /// `(version, change)` pairs.
    #[serde(default)]
    pub history: Vec<(String, String)>,
    #[serde(default)]
    pub arguments: Vec<Arg>,
}

/// One argument of a command's syntax, possibly a block or one-of group of arguments.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Arg {
    pub name: String,
    /// `key`, `string`, `integer`, `double`, `pattern`, `unix-time`, `pure-token`, `oneof`,
    /// `block`.
    #[serde(rename = "type")]
    pub kind: String,
    pub key_spec_index: Option<i32>,
    pub token: Option<String>,
    pub since: Option<String>,
    pub deprecated_since: Option<String>,
    /// `optional`, `multiple`, `multiple_token`.
    #[serde(default)]
    pub flags: Vec<String>,
    /// The members of a `oneof` or `block`.
    #[serde(default)]
    pub arguments: Vec<Arg>,
}

impl Arg {
    /// Whether Redis lists nested arguments for this one (`oneof` and `block` types).
    pub fn is_group(&self) -> bool {
        self.kind == "oneof" || self.kind == "block"
    }
}

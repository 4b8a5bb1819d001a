//! stub

use super::Spec;

pub const COMMANDS: &[Spec] = &[];

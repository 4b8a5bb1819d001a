//! `client-output-buffer-limit`: per client class, a hard limit and a soft limit with its
//! grace time, parsed and printed as Redis does (`normal 0 0 0 slave … pubsub …`). The one
//! parser behind CONFIG SET, the replica sender and the pub/sub and normal-client checks.

use std::fmt;

use super::parse_memory;

/// A client class with its own limits (`replica` is accepted for `slave`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ClientClass {
    Normal,
    Replica,
    PubSub,
}

impl ClientClass {
    const ALL: [ClientClass; 3] = [
        ClientClass::Normal,
        ClientClass::Replica,
        ClientClass::PubSub,
    ];

    fn name(self) -> &'static str {
        match self {
            ClientClass::Normal => "normal",
            ClientClass::Replica => "slave",
            ClientClass::PubSub => "pubsub",
        }
    }

    fn from_name(name: &str) -> Option<ClientClass> {
        match name.to_ascii_lowercase().as_str() {
            "normal" => Some(ClientClass::Normal),
            "slave" | "replica" => Some(ClientClass::Replica),
            "pubsub" => Some(ClientClass::PubSub),
            _ => None,
        }
    }
}

/// One class's limits in bytes (0 = none) and the soft limit's grace in seconds.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct OutputLimit {
    pub hard: u64,
    pub soft: u64,
    pub soft_seconds: u64,
}

impl OutputLimit {
    /// True when neither limit is set.
    pub fn is_unlimited(&self) -> bool {
        self.hard == 0 && self.soft == 0
    }
}

/// The limits of every class.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct OutputLimits([OutputLimit; 3]);

/// Redis's defaults: normal unlimited, replicas 256mb/64mb/60s, pub/sub 32mb/8mb/60s.
pub const DEFAULT: &str = "normal 0 0 0 slave 268435456 67108864 60 pubsub 33554432 8388608 60";

impl Default for OutputLimits {
    fn default() -> Self {
        let mut limits = OutputLimits([OutputLimit::default(); 3]);
        limits.update(DEFAULT).expect("the default limits parse");
        limits
    }
}

impl OutputLimits {
    /// Parses a full setting (as stored); classes it leaves out keep Redis's defaults.
    pub fn parse(text: &str) -> Result<OutputLimits, &'static str> {
        let mut limits = OutputLimits::default();
        limits.update(text)?;
        Ok(limits)
    }

    /// Applies `class hard soft seconds` groups over the current limits, all or nothing,
    /// with Redis's CONFIG SET error texts.
    pub fn update(&mut self, text: &str) -> Result<(), &'static str> {
        let words: Vec<&str> = text.split_whitespace().collect();
        if !words.len().is_multiple_of(4) {
            return Err("Wrong number of arguments in buffer limit configuration.");
        }
        let mut updated = *self;
        for group in words.chunks(4) {
            let class = ClientClass::from_name(group[0])
                .ok_or("Invalid client class specified in buffer limit configuration.")?;
            let bad = "Error in hard, soft or soft_seconds setting in buffer limit configuration.";
            let seconds = group[3].parse::<i64>().ok().filter(|s| *s >= 0);
            updated.0[class as usize] = OutputLimit {
                hard: parse_memory(group[1]).ok_or(bad)?,
                soft: parse_memory(group[2]).ok_or(bad)?,
                soft_seconds: seconds.ok_or(bad)? as u64,
            };
        }
        *self = updated;
        Ok(())
    }

    pub fn class(&self, class: ClientClass) -> OutputLimit {
        self.0[class as usize]
    }
}

impl fmt::Display for OutputLimits {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        for (i, class) in ClientClass::ALL.iter().enumerate() {
            let l = self.class(*class);
            let sep = if i == 0 { "" } else { " " };
            write!(
                f,
                "{sep}{} {} {} {}",
                class.name(),
                l.hard,
                l.soft,
                l.soft_seconds
            )?;
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn default_round_trips() {
        assert_eq!(OutputLimits::default().to_string(), DEFAULT);
    }

    #[test]
    fn updates_only_the_given_classes() {
        let mut limits = OutputLimits::default();
        limits.update("normal 1mb 0 0 replica 1 2 3").unwrap();
        assert_eq!(
            limits.to_string(),
            "normal 1048576 0 0 slave 1 2 3 pubsub 33554432 8388608 60"
        );
        assert_eq!(limits.class(ClientClass::Normal).hard, 1 << 20);
    }

    #[test]
    fn refuses_like_redis() {
        let mut limits = OutputLimits::default();
        assert!(limits
            .update("normal 1 0")
            .unwrap_err()
            .starts_with("Wrong number"));
        assert!(limits
            .update("master 1 1 1")
            .unwrap_err()
            .starts_with("Invalid client"));
        assert!(limits
            .update("normal x 0 0")
            .unwrap_err()
            .starts_with("Error in hard"));
        assert!(limits
            .update("normal 0 0 -1")
            .unwrap_err()
            .starts_with("Error in hard"));
        assert!(limits.update("normal 5 0 0 pubsub 1").is_err());
        assert_eq!(limits, OutputLimits::default());
    }
}

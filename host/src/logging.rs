//! MCP log levels in one place: their RFC 5424 order, the tracing level
//! each is logged at, and rmcp's deprecation of them.
//!
//! Levels reach the host from plugins (`host.log`, each WIT version turning
//! its own level type into an MCP one) and from upstreams
//! (`notifications/message`), and leave it to clients, filtered by the
//! level each client asked for.

// MCP logging is deprecated by SEP-2577 (2026-07-28) yet still part of both
// protocol eras Switchboard serves, so rmcp 3.9 marks `LoggingLevel`, its
// variants and the logging messages deprecated. What levels mean lives
// here; elsewhere the type goes by [`Level`], which the lint lets through,
// and only what must name a variant or a message (a WIT version's own
// level conversion, rmcp's handler and server signatures) allows it again.
#![allow(deprecated)]

use rmcp::model::LoggingLevel;

/// An MCP log level (rmcp's `LoggingLevel`), by a name other modules can
/// use without `allow(deprecated)`.
pub type Level = LoggingLevel;

/// The least severe level: what a legacy session gets until it sets one.
pub const MOST_VERBOSE: Level = LoggingLevel::Debug;

/// Rank in RFC 5424 order, least severe first.
fn severity(level: Level) -> u8 {
    match level {
        LoggingLevel::Debug => 0,
        LoggingLevel::Info => 1,
        LoggingLevel::Notice => 2,
        LoggingLevel::Warning => 3,
        LoggingLevel::Error => 4,
        LoggingLevel::Critical => 5,
        LoggingLevel::Alert => 6,
        LoggingLevel::Emergency => 7,
    }
}

/// Whether a message at `level` goes to a client that wants `min` and more
/// severe (`None`: the client wants no log messages).
pub fn wanted(level: Level, min: Option<Level>) -> bool {
    min.is_some_and(|min| severity(level) >= severity(min))
}

/// The tracing level an MCP level is logged at in the host's own log.
/// tracing has no notice, critical, alert or emergency: notice is logged as
/// info, the three above error as error.
pub fn tracing_level(level: Level) -> tracing::Level {
    match level {
        LoggingLevel::Debug => tracing::Level::DEBUG,
        LoggingLevel::Info | LoggingLevel::Notice => tracing::Level::INFO,
        LoggingLevel::Warning => tracing::Level::WARN,
        LoggingLevel::Error
        | LoggingLevel::Critical
        | LoggingLevel::Alert
        | LoggingLevel::Emergency => tracing::Level::ERROR,
    }
}

/// Logs a message at the tracing level matching an MCP level (see
/// [`tracing_level`]): `event!(level, target: "...", fields..., "format",
/// args...)`, the rest as tracing's own macros take it. tracing fixes a
/// call site's level at compile time, hence one call site per level.
macro_rules! event {
    ($level:expr, target: $target:expr, $($rest:tt)+) => {
        match $crate::logging::tracing_level($level) {
            ::tracing::Level::ERROR => ::tracing::error!(target: $target, $($rest)+),
            ::tracing::Level::WARN => ::tracing::warn!(target: $target, $($rest)+),
            ::tracing::Level::INFO => ::tracing::info!(target: $target, $($rest)+),
            _ => ::tracing::debug!(target: $target, $($rest)+),
        }
    };
}
pub(crate) use event;

#[cfg(test)]
mod tests {
    use super::*;

    const ALL: [Level; 8] = [
        LoggingLevel::Debug,
        LoggingLevel::Info,
        LoggingLevel::Notice,
        LoggingLevel::Warning,
        LoggingLevel::Error,
        LoggingLevel::Critical,
        LoggingLevel::Alert,
        LoggingLevel::Emergency,
    ];

    #[test]
    fn a_client_gets_its_level_and_above() {
        for (i, &min) in ALL.iter().enumerate() {
            for (j, &level) in ALL.iter().enumerate() {
                assert_eq!(wanted(level, Some(min)), j >= i, "{level:?} for {min:?}");
            }
            assert!(!wanted(min, None));
        }
    }

    #[test]
    fn tracing_levels_follow_severity() {
        let levels = ALL.map(tracing_level);
        assert_eq!(levels[0], tracing::Level::DEBUG);
        assert_eq!(levels[1..3], [tracing::Level::INFO; 2]);
        assert_eq!(levels[3], tracing::Level::WARN);
        assert_eq!(levels[4..], [tracing::Level::ERROR; 4]);
    }
}

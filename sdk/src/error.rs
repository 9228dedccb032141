//! [`ToolError`]: why a call could not produce a result.

use std::fmt;

/// Why a tool call could not produce a result.
///
/// Maps one-to-one onto the WIT `tool-error` variant. The host turns it into a
/// tool result with `isError: true` and the message, so write messages a model
/// can act on ("`width` must be at least 1", not "bad input").
///
/// Any [`std::error::Error`] converts into [`ToolError::Failed`] with `?`
/// (the message is the error and its sources, joined by `: `). For that reason
/// `ToolError` itself does not implement `std::error::Error` (like
/// `anyhow::Error`).
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum ToolError {
    /// No tool by that name.
    NotFound(String),
    /// The arguments do not fit the tool's input schema or its rules.
    InvalidArguments(String),
    /// The caller may not do this (e.g. a tool the plugin was not granted).
    Denied(String),
    /// The call ran out of time.
    Timeout(String),
    /// The call was cancelled.
    Cancelled(String),
    /// Anything else that went wrong.
    Failed(String),
}

impl ToolError {
    /// No tool by that name.
    pub fn not_found(message: impl fmt::Display) -> Self {
        Self::NotFound(message.to_string())
    }

    /// The arguments are wrong; say which and why.
    pub fn invalid_arguments(message: impl fmt::Display) -> Self {
        Self::InvalidArguments(message.to_string())
    }

    /// The caller may not do this.
    pub fn denied(message: impl fmt::Display) -> Self {
        Self::Denied(message.to_string())
    }

    /// The call ran out of time.
    pub fn timeout(message: impl fmt::Display) -> Self {
        Self::Timeout(message.to_string())
    }

    /// The call was cancelled.
    pub fn cancelled(message: impl fmt::Display) -> Self {
        Self::Cancelled(message.to_string())
    }

    /// Anything else that went wrong.
    pub fn failed(message: impl fmt::Display) -> Self {
        Self::Failed(message.to_string())
    }

    /// The variant's name as in the WIT (`not-found`, `invalid-arguments`, ...).
    pub fn kind(&self) -> &'static str {
        match self {
            Self::NotFound(_) => "not-found",
            Self::InvalidArguments(_) => "invalid-arguments",
            Self::Denied(_) => "denied",
            Self::Timeout(_) => "timeout",
            Self::Cancelled(_) => "cancelled",
            Self::Failed(_) => "failed",
        }
    }

    /// The message, without the kind.
    pub fn message(&self) -> &str {
        match self {
            Self::NotFound(m)
            | Self::InvalidArguments(m)
            | Self::Denied(m)
            | Self::Timeout(m)
            | Self::Cancelled(m)
            | Self::Failed(m) => m,
        }
    }
}

impl fmt::Display for ToolError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}: {}", self.kind(), self.message())
    }
}

impl<E: std::error::Error> From<E> for ToolError {
    fn from(error: E) -> Self {
        let mut message = error.to_string();
        let mut source = error.source();
        while let Some(cause) = source {
            message.push_str(": ");
            message.push_str(&cause.to_string());
            source = cause.source();
        }
        Self::Failed(message)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[derive(Debug)]
    struct Outer(Inner);
    #[derive(Debug)]
    struct Inner;
    impl fmt::Display for Outer {
        fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
            f.write_str("outer")
        }
    }
    impl fmt::Display for Inner {
        fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
            f.write_str("inner")
        }
    }
    impl std::error::Error for Outer {
        fn source(&self) -> Option<&(dyn std::error::Error + 'static)> {
            Some(&self.0)
        }
    }
    impl std::error::Error for Inner {}

    #[test]
    fn question_mark_maps_std_errors_to_failed_with_sources() {
        fn run() -> Result<(), ToolError> {
            Err(Outer(Inner))?
        }
        assert_eq!(run(), Err(ToolError::Failed("outer: inner".into())));

        fn parse() -> Result<u32, ToolError> {
            Ok("x".parse::<u32>()?)
        }
        assert!(matches!(parse(), Err(ToolError::Failed(m)) if m.contains("invalid digit")));
    }

    #[test]
    fn constructors_kinds_and_display() {
        let cases = [
            (ToolError::not_found("a"), "not-found"),
            (ToolError::invalid_arguments("a"), "invalid-arguments"),
            (ToolError::denied("a"), "denied"),
            (ToolError::timeout("a"), "timeout"),
            (ToolError::cancelled("a"), "cancelled"),
            (ToolError::failed("a"), "failed"),
        ];
        for (error, kind) in cases {
            assert_eq!(error.kind(), kind);
            assert_eq!(error.message(), "a");
            assert_eq!(error.to_string(), format!("{kind}: a"));
        }
    }
}

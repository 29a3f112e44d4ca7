//! Why a trace was rejected.

use std::error::Error;
use std::fmt;
use std::io;

/// What was wrong with a rejected trace; see [`TraceError::kind`].
///
/// # Examples
///
/// ```
/// use gmp_trace::{parse_str, ErrorKind};
///
/// assert_eq!(parse_str("{").unwrap_err().kind(), ErrorKind::NotJson);
/// assert_eq!(parse_str("{}").unwrap_err().kind(), ErrorKind::NotATrace);
/// // An instant needs a time.
/// let no_ts = r#"[{"ph":"i","name":"park","pid":1,"tid":0}]"#;
/// assert_eq!(parse_str(no_ts).unwrap_err().kind(), ErrorKind::MissingField);
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum ErrorKind {
    /// The input is not JSON at all (a syntax error or a truncated file).
    NotJson,
    /// The input is JSON but not a trace: neither `{"traceEvents": [...]}` nor
    /// a bare array of events.
    NotATrace,
    /// An event lacks a field its phase needs (`ts` on a slice, `args.from`
    /// on a steal, ...).
    MissingField,
    /// A field is there but holds the wrong type or an impossible value (a
    /// string `ts`, a negative `dur`, an unknown poll `end`).
    BadValue,
    /// Two slices on one track overlap: a P cannot poll two Gs at once.
    Overlap,
}

/// A rejected trace: the kind of fault and a message that names the event
/// (by its index in `traceEvents`) and the field.
///
/// The I/O-facing functions ([`crate::load`], [`crate::read`]) hand it back
/// inside an [`io::Error`] of kind [`io::ErrorKind::InvalidData`]; get it out
/// with `err.get_ref().and_then(|e| e.downcast_ref::<TraceError>())`.
///
/// # Examples
///
/// ```
/// use gmp_trace::{ErrorKind, TraceError};
///
/// // A poll must say how it ended.
/// let text = r#"[{"ph":"X","name":"G1","cat":"poll","pid":1,"tid":0,"ts":0,"dur":5,"args":{"g":1}}]"#;
/// let err: TraceError = gmp_trace::parse_str(text).unwrap_err();
/// assert_eq!(err.kind(), ErrorKind::MissingField);
/// assert!(err.to_string().starts_with("traceEvents[0] (X \"G1\")"));
/// ```
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TraceError {
    kind: ErrorKind,
    message: String,
}

impl TraceError {
    pub(crate) fn new(kind: ErrorKind, message: impl Into<String>) -> TraceError {
        TraceError {
            kind,
            message: message.into(),
        }
    }

    /// What was wrong.
    ///
    /// # Examples
    ///
    /// ```
    /// use gmp_trace::ErrorKind;
    ///
    /// let text = r#"[{"ph":"X","name":"G1","pid":1,"tid":0,"ts":0,"dur":-1}]"#;
    /// let err = gmp_trace::parse_str(text).unwrap_err();
    /// assert_eq!(err.kind(), ErrorKind::BadValue);
    /// ```
    pub fn kind(&self) -> ErrorKind {
        self.kind
    }

    /// The same error with `context` (a file name, say) in front of its
    /// message.
    ///
    /// # Examples
    ///
    /// ```
    /// let err = gmp_trace::parse_str("nope").unwrap_err().context("trace.json");
    /// assert!(err.to_string().starts_with("trace.json: not JSON"));
    /// assert_eq!(err.kind(), gmp_trace::ErrorKind::NotJson);
    /// ```
    pub fn context(self, context: impl fmt::Display) -> TraceError {
        TraceError {
            kind: self.kind,
            message: format!("{context}: {}", self.message),
        }
    }
}

impl fmt::Display for TraceError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.message)
    }
}

impl Error for TraceError {}

impl From<TraceError> for io::Error {
    fn from(err: TraceError) -> io::Error {
        io::Error::new(io::ErrorKind::InvalidData, err)
    }
}

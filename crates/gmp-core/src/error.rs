//! Construction errors.

use std::fmt;

/// A queue or scheduler shape that cannot work, refused at construction.
///
/// ```
/// use gmp_core::{runq, ConfigError};
///
/// let err = runq::with_capacity::<Box<u32>>(3).err();
/// assert_eq!(err, Some(ConfigError::CapacityNotPowerOfTwo(3)));
/// let io: std::io::Error = ConfigError::ZeroProcs.into();
/// assert_eq!(io.kind(), std::io::ErrorKind::InvalidInput);
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub enum ConfigError {
    /// The ring capacity is not a power of two (positions are masked, not divided).
    CapacityNotPowerOfTwo(usize),
    /// The ring capacity is below 2 (a thief takes half, so one slot cannot be
    /// shared) or above 2^31.
    CapacityOutOfRange(usize),
    /// A scheduler needs at least one P.
    ZeroProcs,
}

impl fmt::Display for ConfigError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            ConfigError::CapacityNotPowerOfTwo(n) => {
                write!(f, "run queue capacity {n} is not a power of two")
            }
            ConfigError::CapacityOutOfRange(n) => {
                write!(f, "run queue capacity {n} is out of range (2..=2^31)")
            }
            ConfigError::ZeroProcs => f.write_str("the number of Ps (procs) must be at least 1"),
        }
    }
}

impl std::error::Error for ConfigError {}

impl From<ConfigError> for std::io::Error {
    fn from(e: ConfigError) -> Self {
        std::io::Error::new(std::io::ErrorKind::InvalidInput, e)
    }
}

//! The test clock. Every stand-in reads "now" through [`now`], which adds the offset written in
//! [`OFFSET_FILE`] on the host, so a test can age bootstrap tokens, uploaded certificates and
//! certificates without waiting. Nothing else moves it: no flag, no environment variable.

use std::time::{Duration, SystemTime};

/// Seconds to add to the system clock, one signed integer; absent means zero.
pub const OFFSET_FILE: &str = "/etc/kubernetes-standin/clock-offset-seconds";

/// Errors reading the offset file.
#[derive(Debug, thiserror::Error)]
pub enum ClockError {
    /// The file exists but does not hold one signed integer.
    #[error("{OFFSET_FILE}: {content:?} is not a whole number of seconds")]
    Malformed {
        /// What the file holds.
        content: String,
    },
    /// The file exists but cannot be read.
    #[error("{OFFSET_FILE}: {0}")]
    Io(#[from] std::io::Error),
}

/// The offset in [`OFFSET_FILE`], or zero when the file is absent.
pub fn offset() -> Result<i64, ClockError> {
    match std::fs::read_to_string(OFFSET_FILE) {
        Ok(content) => parse_offset(&content),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(0),
        Err(e) => Err(e.into()),
    }
}

fn parse_offset(content: &str) -> Result<i64, ClockError> {
    content.trim().parse().map_err(|_| ClockError::Malformed {
        content: content.to_string(),
    })
}

/// The stand-ins' "now": the system clock moved by [`offset`].
pub fn now() -> Result<SystemTime, ClockError> {
    Ok(shift(SystemTime::now(), offset()?))
}

fn shift(at: SystemTime, offset: i64) -> SystemTime {
    let by = Duration::from_secs(offset.unsigned_abs());
    if offset >= 0 { at + by } else { at - by }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn an_offset_moves_now_both_ways() {
        let at = SystemTime::UNIX_EPOCH + Duration::from_secs(1_000_000);
        assert_eq!(shift(at, 90_000), at + Duration::from_secs(90_000));
        assert_eq!(shift(at, -60), at - Duration::from_secs(60));
        assert_eq!(shift(at, 0), at);
    }

    #[test]
    fn the_file_holds_one_signed_integer() {
        assert_eq!(parse_offset("90000\n").unwrap(), 90_000);
        assert_eq!(parse_offset(" -3600 ").unwrap(), -3600);
        let err = parse_offset("25h").unwrap_err().to_string();
        assert!(err.contains("\"25h\" is not a whole number"), "{err}");
    }
}

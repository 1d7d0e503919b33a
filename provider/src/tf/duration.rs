//! Durations written the way Terraform users write them (Go's `time.ParseDuration`: "90s", "1m30s", "1.5h").

use std::time::Duration;

/// A duration string could not be understood.
#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub enum DurationError {
    /// The text was empty.
    #[error("a duration cannot be empty")]
    Empty,
    /// A number was missing or malformed.
    #[error(
        "{0:?} is not a duration: expected a number followed by a unit, like \"30s\" or \"1m30s\""
    )]
    Malformed(String),
    /// A unit other than ns, us, ms, s, m, h.
    #[error("{unit:?} is not a duration unit in {text:?}: use ns, us, ms, s, m or h")]
    UnknownUnit {
        /// The whole text.
        text: String,
        /// The unit that was not understood.
        unit: String,
    },
    /// Negative durations make no sense for timeouts.
    #[error("{0:?} is negative; a duration must be zero or more")]
    Negative(String),
}

/// Parses a Go-style duration such as `"5s"`, `"1m30s"` or `"250ms"`.
pub fn parse(text: &str) -> Result<Duration, DurationError> {
    let trimmed = text.trim();
    if trimmed.is_empty() {
        return Err(DurationError::Empty);
    }
    if trimmed.starts_with('-') {
        return Err(DurationError::Negative(text.to_owned()));
    }
    let rest = trimmed.strip_prefix('+').unwrap_or(trimmed);
    if rest == "0" {
        return Ok(Duration::ZERO);
    }
    let mut total = 0f64;
    let mut chars = rest.char_indices().peekable();
    let malformed = || DurationError::Malformed(text.to_owned());
    while chars.peek().is_some() {
        let start = chars.peek().map(|(i, _)| *i).unwrap_or(0);
        let mut end = start;
        while let Some((i, c)) = chars.peek().copied() {
            if c.is_ascii_digit() || c == '.' {
                end = i + c.len_utf8();
                chars.next();
            } else {
                break;
            }
        }
        let number: f64 = rest[start..end].parse().map_err(|_| malformed())?;
        let unit_start = end;
        let mut unit_end = unit_start;
        while let Some((i, c)) = chars.peek().copied() {
            if c.is_ascii_digit() || c == '.' {
                break;
            }
            unit_end = i + c.len_utf8();
            chars.next();
        }
        let unit = &rest[unit_start..unit_end];
        let seconds_per_unit = match unit {
            "ns" => 1e-9,
            "us" | "µs" | "μs" => 1e-6,
            "ms" => 1e-3,
            "s" => 1.0,
            "m" => 60.0,
            "h" => 3600.0,
            "" => return Err(malformed()),
            other => {
                return Err(DurationError::UnknownUnit {
                    text: text.to_owned(),
                    unit: other.to_owned(),
                });
            }
        };
        total += number * seconds_per_unit;
    }
    if !total.is_finite() || total > 1e12 {
        return Err(malformed());
    }
    Ok(Duration::from_secs_f64(total))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn go_style_durations_parse() {
        assert_eq!(parse("5s").unwrap(), Duration::from_secs(5));
        assert_eq!(parse("1m30s").unwrap(), Duration::from_secs(90));
        assert_eq!(parse("250ms").unwrap(), Duration::from_millis(250));
        assert_eq!(parse("1.5h").unwrap(), Duration::from_secs(5400));
        assert_eq!(parse("0").unwrap(), Duration::ZERO);
    }

    #[test]
    fn bad_durations_say_why() {
        assert_eq!(parse(""), Err(DurationError::Empty));
        assert!(matches!(parse("5"), Err(DurationError::Malformed(_))));
        assert!(matches!(
            parse("5 parsecs"),
            Err(DurationError::UnknownUnit { .. })
        ));
        assert!(matches!(parse("-1s"), Err(DurationError::Negative(_))));
        assert!(matches!(parse("s"), Err(DurationError::Malformed(_))));
    }
}

//! Structured logs on stderr, one hclog JSON object per line, which terraform's plugin client parses.
//!
//! Terraform (through go-plugin) reads every stderr line of a provider: a JSON line with
//! `@level`, `@message`, `@module` and `@timestamp` becomes an entry in terraform's own log at that
//! level, with the remaining keys as key/value pairs; anything else is logged as plain text at
//! debug level. So the format here is hclog's JSON format, timestamps in UTC with exactly six
//! fractional digits, which is the layout go-plugin parses.
//!
//! Call sites stay short and cost one atomic load when the level is disabled:
//!
//! ```
//! use terraform_provider_homelab::log;
//! let host = "10.4.0.10";
//! log::info("connected", &[("host", &host), ("port", &22)]);
//! ```
//!
//! The logger writes what it is given: callers must never pass secret values (private keys,
//! passwords, tokens, session credentials) as messages or fields. Log the name of a secret or
//! whether it is set, never its value.

use std::fmt::{Display, Write as _};
use std::io::Write as _;
use std::sync::atomic::{AtomicU8, Ordering};

/// The `@module` of every line: terraform shows it as the logger's name.
const MODULE: &str = "provider.terraform-provider-homelab";

/// Environment variables that set the level, most specific first.
///
/// `TF_LOG_PROVIDER_HOMELAB` follows terraform-plugin-log's per-provider convention;
/// `TF_LOG_PROVIDER` and `TF_LOG` are the variables terraform itself reads to decide which
/// provider lines it keeps.
const LEVEL_VARIABLES: [&str; 3] = ["TF_LOG_PROVIDER_HOMELAB", "TF_LOG_PROVIDER", "TF_LOG"];

/// The severity of a log line, from the most verbose to the most severe.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub enum Level {
    /// Protocol-level detail: every RPC, every command.
    Trace = 0,
    /// Detail useful when chasing a bug.
    Debug = 1,
    /// Normal milestones: started, connected, applied.
    Info = 2,
    /// Something unexpected that the provider worked around.
    Warn = 3,
    /// Something failed.
    Error = 4,
}

/// The threshold value meaning "log nothing".
const OFF: u8 = 5;

/// The lowest level that is written; `OFF` writes nothing.
///
/// Before [`init_from_env`] runs, warnings and errors are written, so early failures are seen.
static THRESHOLD: AtomicU8 = AtomicU8::new(Level::Warn as u8);

impl Level {
    /// The name hclog uses for this level in `@level`.
    pub fn as_str(self) -> &'static str {
        match self {
            Level::Trace => "trace",
            Level::Debug => "debug",
            Level::Info => "info",
            Level::Warn => "warn",
            Level::Error => "error",
        }
    }
}

/// Sets the level from `TF_LOG_PROVIDER_HOMELAB`, `TF_LOG_PROVIDER` or `TF_LOG`, the first one set.
///
/// Values are terraform's: `trace`, `debug`, `info`, `warn`, `error` (any case), `off`, and
/// `json`, which means trace. Like terraform, an unrecognised value means trace.
///
/// When none is set, `default` applies. Terraform discards every provider line when neither
/// `TF_LOG` nor `TF_LOG_PROVIDER` is set, so the plugin-mode caller passes [`Level::Warn`]: lines
/// nobody reads cost almost nothing, yet a warning still reaches a person who runs the binary by
/// hand. In `--debug` mode a person is watching the terminal, so that caller passes
/// [`Level::Info`].
pub fn init_from_env(default: Level) {
    let configured = LEVEL_VARIABLES
        .iter()
        .filter_map(|name| std::env::var(name).ok())
        .find(|value| !value.trim().is_empty());
    let threshold = match configured {
        Some(value) => parse_threshold(&value),
        None => default as u8,
    };
    THRESHOLD.store(threshold, Ordering::Relaxed);
}

/// Turns a `TF_LOG`-style value into a threshold, following terraform's parser.
fn parse_threshold(value: &str) -> u8 {
    match value.trim().to_ascii_lowercase().as_str() {
        "off" => OFF,
        "debug" => Level::Debug as u8,
        "info" => Level::Info as u8,
        "warn" => Level::Warn as u8,
        "error" => Level::Error as u8,
        // "trace", "json" and anything terraform would not recognise all mean trace.
        _ => Level::Trace as u8,
    }
}

/// Whether lines at `level` are written; use it to skip expensive preparation of fields.
pub fn enabled(level: Level) -> bool {
    level as u8 >= THRESHOLD.load(Ordering::Relaxed)
}

/// Writes a trace line with key/value fields, if trace is enabled.
pub fn trace(message: &str, fields: &[(&str, &dyn Display)]) {
    write(Level::Trace, message, fields);
}

/// Writes a debug line with key/value fields, if debug is enabled.
pub fn debug(message: &str, fields: &[(&str, &dyn Display)]) {
    write(Level::Debug, message, fields);
}

/// Writes an info line with key/value fields, if info is enabled.
pub fn info(message: &str, fields: &[(&str, &dyn Display)]) {
    write(Level::Info, message, fields);
}

/// Writes a warning line with key/value fields, if warnings are enabled.
pub fn warn(message: &str, fields: &[(&str, &dyn Display)]) {
    write(Level::Warn, message, fields);
}

/// Writes an error line with key/value fields, unless logging is off.
pub fn error(message: &str, fields: &[(&str, &dyn Display)]) {
    write(Level::Error, message, fields);
}

/// Writes one line at `level` when that level is enabled.
///
/// Field values are written as JSON strings through their `Display` form. Keys starting with
/// `@` are reserved for hclog's own fields and should not be used.
pub fn write(level: Level, message: &str, fields: &[(&str, &dyn Display)]) {
    if !enabled(level) {
        return;
    }
    let line = format_line(level, message, &timestamp_now(), fields);
    // One write per line keeps lines whole when several threads log at once. A failed write to
    // stderr has nowhere to be reported, so it is dropped.
    let _ = std::io::stderr().lock().write_all(line.as_bytes());
}

/// Writes the error line that reports a panic, unless logging is off. The provider's panic
/// hook calls it: Terraform shows the plain `panic:` text a crash leaves on stderr only at debug
/// level, while this line reaches its log as an error without any `TF_LOG`.
pub fn panic(info: &std::panic::PanicHookInfo<'_>) {
    if !enabled(Level::Error) {
        return;
    }
    let location = info.location().map(ToString::to_string);
    let line = format_panic_line(
        payload_text(info.payload()),
        location.as_deref(),
        &timestamp_now(),
    );
    let _ = std::io::stderr().lock().write_all(line.as_bytes());
}

/// The text of a panic's payload: the message of `panic!` and of `expect`, which are a `&str`
/// or a `String`; any other payload has no text to show.
fn payload_text(payload: &(dyn std::any::Any + Send)) -> &str {
    if let Some(text) = payload.downcast_ref::<&str>() {
        text
    } else if let Some(text) = payload.downcast_ref::<String>() {
        text
    } else {
        "(a panic without a message)"
    }
}

/// Builds the panic's error line: the message and where in the source it happened, in the
/// message itself (so it is shown whole) and as fields.
fn format_panic_line(message: &str, location: Option<&str>, timestamp: &str) -> String {
    let location = location.unwrap_or("an unknown location");
    format_line(
        Level::Error,
        &format!("the provider crashed (panic at {location}): {message}"),
        timestamp,
        &[("panic", &message), ("location", &location)],
    )
}

/// The current time in hclog's JSON layout: UTC, microseconds, `Z`.
fn timestamp_now() -> String {
    let now = time::OffsetDateTime::now_utc();
    format!(
        "{:04}-{:02}-{:02}T{:02}:{:02}:{:02}.{:06}Z",
        now.year(),
        u8::from(now.month()),
        now.day(),
        now.hour(),
        now.minute(),
        now.second(),
        now.microsecond()
    )
}

/// Builds one JSON line, newline included.
fn format_line(
    level: Level,
    message: &str,
    timestamp: &str,
    fields: &[(&str, &dyn Display)],
) -> String {
    let mut line = String::with_capacity(128 + message.len());
    line.push_str("{\"@level\":");
    push_json_string(&mut line, level.as_str());
    line.push_str(",\"@message\":");
    push_json_string(&mut line, message);
    line.push_str(",\"@module\":");
    push_json_string(&mut line, MODULE);
    line.push_str(",\"@timestamp\":");
    push_json_string(&mut line, timestamp);
    let mut value = String::new();
    for (key, shown) in fields {
        value.clear();
        // Writing into a String cannot fail.
        let _ = write!(value, "{shown}");
        line.push(',');
        push_json_string(&mut line, key);
        line.push(':');
        push_json_string(&mut line, &value);
    }
    line.push_str("}\n");
    line
}

/// Appends `text` as a JSON string literal, escaped by serde_json.
fn push_json_string(out: &mut String, text: &str) {
    // Serialising a string cannot fail; the fallback keeps the line valid JSON regardless.
    match serde_json::to_string(text) {
        Ok(quoted) => out.push_str(&quoted),
        Err(_) => out.push_str("\"\""),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn line_is_hclog_json_with_fields() {
        let host = String::from("10.4.0.10");
        let line = format_line(
            Level::Info,
            "connected \"now\"",
            "2026-11-22T04:13:56.123456Z",
            &[("host", &host), ("port", &22), ("ok", &true)],
        );
        assert!(line.ends_with("}\n"));
        let parsed: serde_json::Value = serde_json::from_str(&line).expect("valid JSON");
        assert_eq!(parsed["@level"], "info");
        assert_eq!(parsed["@message"], "connected \"now\"");
        assert_eq!(parsed["@module"], "provider.terraform-provider-homelab");
        assert_eq!(parsed["@timestamp"], "2026-11-22T04:13:56.123456Z");
        assert_eq!(parsed["host"], "10.4.0.10");
        assert_eq!(parsed["port"], "22");
        assert_eq!(parsed["ok"], "true");
    }

    #[test]
    fn control_characters_are_escaped() {
        let line = format_line(Level::Error, "a\u{1}b\nc", "t", &[]);
        assert_eq!(line.matches('\n').count(), 1, "one physical line");
        let parsed: serde_json::Value = serde_json::from_str(&line).expect("valid JSON");
        assert_eq!(parsed["@message"], "a\u{1}b\nc");
    }

    #[test]
    fn timestamp_has_go_plugin_layout() {
        let stamp = timestamp_now();
        // 2006-01-02T15:04:05.000000Z: go-plugin parses exactly six fractional digits.
        assert_eq!(stamp.len(), 27, "{stamp}");
        assert_eq!(&stamp[10..11], "T");
        assert_eq!(&stamp[19..20], ".");
        assert!(stamp.ends_with('Z'));
    }

    #[test]
    fn a_panic_is_one_error_line_with_its_message_and_location() {
        let line = format_panic_line(
            "index out of bounds: the len is 0 but the index is 3\nsecond line",
            Some("provider/src/router/model.rs:42:17"),
            "2026-11-22T04:13:56.123456Z",
        );
        assert_eq!(line.matches('\n').count(), 1, "one physical line: {line}");
        let parsed: serde_json::Value = serde_json::from_str(&line).expect("valid JSON");
        assert_eq!(parsed["@level"], "error");
        assert_eq!(parsed["@module"], "provider.terraform-provider-homelab");
        let shown = parsed["@message"].as_str().expect("a message");
        assert!(
            shown.contains("panic at provider/src/router/model.rs:42:17"),
            "{shown}"
        );
        assert!(shown.contains("the len is 0 but the index is 3"), "{shown}");
        assert_eq!(parsed["location"], "provider/src/router/model.rs:42:17");
        assert_eq!(
            parsed["panic"],
            "index out of bounds: the len is 0 but the index is 3\nsecond line"
        );
        let unplaced = format_panic_line("boom", None, "t");
        let parsed: serde_json::Value = serde_json::from_str(&unplaced).expect("valid JSON");
        assert_eq!(parsed["location"], "an unknown location");
    }

    #[test]
    fn panic_payloads_give_their_text() {
        let literal: Box<dyn std::any::Any + Send> = Box::new("literal message");
        assert_eq!(payload_text(literal.as_ref()), "literal message");
        let formatted: Box<dyn std::any::Any + Send> = Box::new(format!("formatted {}", 7));
        assert_eq!(payload_text(formatted.as_ref()), "formatted 7");
        let other: Box<dyn std::any::Any + Send> = Box::new(42_u32);
        assert_eq!(payload_text(other.as_ref()), "(a panic without a message)");
    }

    #[test]
    fn levels_parse_like_terraform() {
        assert_eq!(parse_threshold("TRACE"), Level::Trace as u8);
        assert_eq!(parse_threshold("json"), Level::Trace as u8);
        assert_eq!(parse_threshold("Debug"), Level::Debug as u8);
        assert_eq!(parse_threshold("info"), Level::Info as u8);
        assert_eq!(parse_threshold("warn"), Level::Warn as u8);
        assert_eq!(parse_threshold("error"), Level::Error as u8);
        assert_eq!(parse_threshold("off"), OFF);
        assert_eq!(parse_threshold("verbose"), Level::Trace as u8);
    }
}

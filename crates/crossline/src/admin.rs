//! The operator's side of the admin port (`docs/PROTOCOL.md`, "Operator admin"): a
//! blocking session that logs on, sends one control command at a time and waits for its
//! acknowledgement, and the stock-loan locate file `crossline admin locates load` reads.

use std::io::{ErrorKind, Read, Write};
use std::net::{SocketAddr, TcpStream};
use std::time::{Duration, Instant};

use crossline_protocol::admin::{AdminLogonRejectReason, AdminRefusal, Inbound, Outbound};
use crossline_protocol::frame::{split, Secret, FRAME_BYTES_MAX};
use crossline_types::layout::AdminLayout;
use crossline_types::{ClientId, SymbolId};

/// Why an admin session failed.
#[derive(Debug, thiserror::Error)]
pub enum AdminError {
    /// The socket failed.
    #[error("admin port {address}: {source}")]
    Io {
        /// The admin port.
        address: SocketAddr,
        /// The error.
        source: std::io::Error,
    },
    /// The engine refused the logon.
    #[error("logon refused: {0}")]
    Logon(String),
    /// The engine's bytes did not decode, or it answered something unexpected.
    #[error("the engine sent something unexpected: {0}")]
    Protocol(String),
    /// The engine closed the connection.
    #[error("the engine closed the connection")]
    Closed,
    /// No answer in time.
    #[error("no answer from the engine within {0:?}")]
    Timeout(Duration),
    /// The operator's secret is longer than 32 bytes.
    #[error("the secret is longer than 32 bytes")]
    Secret,
}

/// The engine's answer to one control command.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Answer {
    /// Journaled and applied at `sequence`.
    Accepted {
        /// The request's frame sequence number.
        request: u32,
        /// The command's journal sequence number.
        sequence: u64,
    },
    /// Refused: by the session (`sequence` 0) or by the risk gate (journaled).
    Refused {
        /// The request's frame sequence number.
        request: u32,
        /// The reason code (`docs/PROTOCOL.md`).
        reason: u16,
        /// The command's journal sequence number (0: not sequenced).
        sequence: u64,
    },
}

impl Answer {
    /// Whether the command took effect.
    #[must_use]
    pub fn accepted(&self) -> bool {
        matches!(self, Answer::Accepted { .. })
    }
}

/// What a refusal's reason code means, for people.
#[must_use]
pub fn refusal_text(reason: u16) -> &'static str {
    const SESSION: [(AdminRefusal, &str); 11] = [
        (
            AdminRefusal::AlreadyLoggedOn,
            "a second logon on this session",
        ),
        (AdminRefusal::SequenceGap, "sequence number out of order"),
        (AdminRefusal::UnknownType, "no such admin message type"),
        (
            AdminRefusal::WrongLength,
            "wrong length for the message type",
        ),
        (AdminRefusal::BadField, "a field holds an invalid value"),
        (AdminRefusal::ReservedFlags, "reserved flag bits set"),
        (AdminRefusal::Framing, "unreadable frame length"),
        (AdminRefusal::Stopping, "the engine is stopping"),
        (
            AdminRefusal::TooManyInFlight,
            "too many commands awaiting an answer",
        ),
        (
            AdminRefusal::ViewOnly,
            "this operator has the view role: control commands are refused",
        ),
        (
            AdminRefusal::StatusUnavailable,
            "the engine cannot answer a status query now",
        ),
    ];
    if let Some((_, text)) = SESSION.iter().find(|(code, _)| *code as u16 == reason) {
        return text;
    }
    match reason {
        201 => "unknown symbol",
        202 => "unknown client",
        203 => "the locate table is full",
        204 => "the band is empty (lower above upper)",
        205 => "a negative limit",
        206 => "too many temporary changes waiting for their expiry",
        207 => "the expiry has already passed",
        _ => "undocumented reason",
    }
}

/// What a logon reject's reason code means.
#[must_use]
pub fn logon_reject_text(reason: u8) -> &'static str {
    use AdminLogonRejectReason as R;
    [
        (R::UnknownOperator, "unknown operator"),
        (R::BadSecret, "wrong secret"),
        (
            R::AlreadyConnected,
            "the operator already has a session open",
        ),
        (R::BadSequence, "the logon's sequence number is not 1"),
        (R::ClientLogon, "a client logon on the admin port"),
        (R::NotALogon, "the first frame was not an operator logon"),
        (R::Timeout, "no logon in time"),
    ]
    .iter()
    .find(|(code, _)| *code as u8 == reason)
    .map_or("undocumented reason", |(_, text)| text)
}

/// A logged-on operator session.
pub struct AdminSession {
    stream: TcpStream,
    address: SocketAddr,
    buffer: Vec<u8>,
    sequence: u32,
    timeout: Duration,
    /// The role the engine granted: 1 view, 2 control.
    pub role: u8,
}

impl AdminSession {
    /// Connects to the admin port at `address` and logs on as `operator`.
    ///
    /// # Errors
    /// [`AdminError`] when the connection fails, the logon is refused, or no answer
    /// arrives within `timeout`.
    pub fn logon(
        address: SocketAddr,
        operator: u32,
        secret: &str,
        timeout: Duration,
    ) -> Result<AdminSession, AdminError> {
        let io = |source| AdminError::Io { address, source };
        let stream = TcpStream::connect_timeout(&address, timeout).map_err(io)?;
        stream.set_nodelay(true).map_err(io)?;
        stream
            .set_read_timeout(Some(Duration::from_millis(20)))
            .map_err(io)?;
        let mut session = AdminSession {
            stream,
            address,
            buffer: Vec::new(),
            sequence: 0,
            timeout,
            role: 0,
        };
        let secret = Secret::from_text(secret).ok_or(AdminError::Secret)?;
        session.send(&Inbound::OperatorLogon { operator, secret })?;
        match session.receive()? {
            Outbound::OperatorLogonAccepted { role, .. } => {
                session.role = role;
                Ok(session)
            }
            Outbound::OperatorLogonRejected { reason } => Err(AdminError::Logon(format!(
                "{} (reason {reason})",
                logon_reject_text(reason)
            ))),
            other => Err(AdminError::Protocol(format!(
                "{other:?} in answer to a logon"
            ))),
        }
    }

    /// Sends `message` with the next sequence number (the request number).
    ///
    /// # Errors
    /// [`AdminError::Io`] when the socket fails.
    pub fn send(&mut self, message: &Inbound) -> Result<u32, AdminError> {
        self.sequence += 1;
        let mut frame = [0u8; FRAME_BYTES_MAX];
        let length = message.encode(self.sequence, 0, &mut frame);
        let address = self.address;
        self.stream
            .write_all(&frame[..length])
            .map_err(|source| AdminError::Io { address, source })?;
        Ok(self.sequence)
    }

    /// Sends one control command and waits for its answer.
    ///
    /// # Errors
    /// [`AdminError`] when the socket fails or no answer arrives in time.
    pub fn request(&mut self, message: &Inbound) -> Result<Answer, AdminError> {
        let request = self.send(message)?;
        let answer = self.answer()?;
        let got = match answer {
            Answer::Accepted { request, .. } | Answer::Refused { request, .. } => request,
        };
        if got != request {
            return Err(AdminError::Protocol(format!(
                "an answer for request {got} while waiting for {request}"
            )));
        }
        if let Answer::Refused { reason, .. } = answer {
            // A refused frame leaves its number unused: the next one reuses it.
            if reason < 200 {
                self.sequence -= 1;
            }
        }
        Ok(answer)
    }

    /// Sends many commands back to back and collects their answers, in order.
    ///
    /// # Errors
    /// [`AdminError`] when the socket fails or an answer does not arrive in time.
    pub fn request_all(&mut self, messages: &[Inbound]) -> Result<Vec<Answer>, AdminError> {
        let mut answers = Vec::with_capacity(messages.len());
        for chunk in messages.chunks(256) {
            for message in chunk {
                self.send(message)?;
            }
            for _ in chunk {
                answers.push(self.answer()?);
            }
        }
        Ok(answers)
    }

    /// Sends a status query (`scope`: `STATUS_CLIENT`, `STATUS_SYMBOL` or
    /// `STATUS_ENGINE`) and waits for its answer: the status message, or the refusal.
    ///
    /// # Errors
    /// [`AdminError`] when the socket fails or no answer arrives in time.
    pub fn status(&mut self, scope: u8, id: u32) -> Result<Result<Outbound, Answer>, AdminError> {
        let request = self.send(&Inbound::Status { scope, id })?;
        match self.receive()? {
            Outbound::ControlRefused {
                request: got,
                reason,
                sequence,
            } if got == request => {
                // Refused by the session before it took the frame: its number is unused.
                if reason < 200 && reason != AdminRefusal::StatusUnavailable as u16 {
                    self.sequence -= 1;
                }
                Ok(Err(Answer::Refused {
                    request,
                    reason,
                    sequence,
                }))
            }
            status @ (Outbound::ClientStatus { request: got, .. }
            | Outbound::SymbolStatus { request: got, .. }
            | Outbound::EngineStatus { request: got, .. })
                if got == request =>
            {
                Ok(Ok(status))
            }
            other => Err(AdminError::Protocol(format!(
                "{other:?} in answer to status request {request}"
            ))),
        }
    }

    /// Logs out (the engine closes the connection).
    ///
    /// # Errors
    /// [`AdminError::Io`] when the socket fails.
    pub fn logout(mut self) -> Result<(), AdminError> {
        self.send(&Inbound::Logout {})?;
        Ok(())
    }

    fn answer(&mut self) -> Result<Answer, AdminError> {
        match self.receive()? {
            Outbound::ControlAccepted { request, sequence } => {
                Ok(Answer::Accepted { request, sequence })
            }
            Outbound::ControlRefused {
                request,
                reason,
                sequence,
            } => Ok(Answer::Refused {
                request,
                reason,
                sequence,
            }),
            other => Err(AdminError::Protocol(format!(
                "{other:?} in answer to a command"
            ))),
        }
    }

    /// The next message from the engine.
    ///
    /// # Errors
    /// [`AdminError`] when none arrives in time, the connection closes or the bytes do
    /// not decode.
    pub fn receive(&mut self) -> Result<Outbound, AdminError> {
        let deadline = Instant::now() + self.timeout;
        loop {
            match split(&self.buffer) {
                Ok(Some((header, body))) => {
                    let length = usize::from(header.length);
                    let message = Outbound::decode(&header, body)
                        .map_err(|e| AdminError::Protocol(e.to_string()));
                    self.buffer.drain(..length);
                    return message;
                }
                Ok(None) => {}
                Err(error) => return Err(AdminError::Protocol(error.to_string())),
            }
            let mut chunk = [0u8; 4096];
            match self.stream.read(&mut chunk) {
                Ok(0) => return Err(AdminError::Closed),
                Ok(length) => self.buffer.extend_from_slice(&chunk[..length]),
                Err(error)
                    if matches!(error.kind(), ErrorKind::WouldBlock | ErrorKind::TimedOut) =>
                {
                    if Instant::now() > deadline {
                        return Err(AdminError::Timeout(self.timeout));
                    }
                }
                Err(source) => {
                    return Err(AdminError::Io {
                        address: self.address,
                        source,
                    })
                }
            }
        }
    }
}

/// One line of a locate file.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct LocateLine {
    /// The line's number in the file (1-based).
    pub line: usize,
    /// The client.
    pub client: u32,
    /// The symbol's id.
    pub symbol: u32,
    /// Shares located.
    pub shares: u64,
    /// The stock-loan desk's id.
    pub locate_id: u64,
    /// When it lapses, seconds since the epoch.
    pub expires_s: u32,
}

impl LocateLine {
    /// The admin message that loads it.
    #[must_use]
    pub fn message(&self) -> Inbound {
        Inbound::Locate {
            client: ClientId::new(self.client),
            symbol: SymbolId::new(self.symbol),
            shares: self.shares,
            locate_id: self.locate_id,
            expires_s: self.expires_s,
        }
    }
}

/// The header a locate file may start with.
pub const LOCATE_HEADER: &str = "client,symbol,shares,locate_id,expiry";

/// Reads a stock-loan locate file: CSV lines `client,symbol,shares,locate_id,expiry`
/// (ids as numbers; expiry as `YYYY-MM-DD` for the end of that day UTC,
/// `YYYY-MM-DDTHH:MM:SSZ`, or seconds since the epoch), an optional header line
/// ([`LOCATE_HEADER`]), blank lines and `#` comments ignored. Every line is checked;
/// `now_s` (seconds since the epoch) refuses expiries already past.
///
/// # Errors
/// Every bad line, as "line N: what is wrong": nothing of a file with one is to be sent.
pub fn parse_locates(text: &str, now_s: u64) -> Result<Vec<LocateLine>, Vec<String>> {
    parse_lines(
        text,
        "locate",
        |header| header.replace(' ', "").eq_ignore_ascii_case(LOCATE_HEADER),
        |trimmed, line| parse_locate_line(trimmed, line, now_s),
    )
}

/// The loop of a CSV file an operator loads: skips blank lines, `#` comments and a first
/// line `is_header` recognises; parses every other line with `parse` (the line's text
/// and number), keeping every error as "line N: …"; a file with no line is an error too,
/// naming `what` it should hold.
fn parse_lines<T>(
    text: &str,
    what: &str,
    is_header: impl Fn(&str) -> bool,
    mut parse: impl FnMut(&str, usize) -> Result<T, String>,
) -> Result<Vec<T>, Vec<String>> {
    let (mut lines, mut errors) = (Vec::new(), Vec::new());
    for (index, raw) in text.lines().enumerate() {
        let line = index + 1;
        let trimmed = raw.trim();
        if trimmed.is_empty() || trimmed.starts_with('#') || (index == 0 && is_header(trimmed)) {
            continue;
        }
        match parse(trimmed, line) {
            Ok(parsed) => lines.push(parsed),
            Err(why) => errors.push(format!("line {line}: {why}")),
        }
    }
    if lines.is_empty() && errors.is_empty() {
        errors.push(format!("the file holds no {what}"));
    }
    if errors.is_empty() {
        Ok(lines)
    } else {
        Err(errors)
    }
}

fn parse_locate_line(text: &str, line: usize, now_s: u64) -> Result<LocateLine, String> {
    let fields: Vec<&str> = text.split(',').map(str::trim).collect();
    if fields.len() != 5 {
        return Err(format!(
            "{} fields; a locate line has 5: {LOCATE_HEADER}",
            fields.len()
        ));
    }
    let number = |name: &str, value: &str| -> Result<u64, String> {
        value
            .parse::<u64>()
            .map_err(|_| format!("{name} \"{value}\" is not a whole number"))
    };
    let id = |name: &str, value: &str| -> Result<u32, String> {
        let parsed = number(name, value)?;
        u32::try_from(parsed)
            .ok()
            .filter(|id| *id > 0)
            .ok_or_else(|| format!("{name} {value} is not an id (1 to 4294967295)"))
    };
    let client = id("client", fields[0])?;
    let symbol = id("symbol", fields[1])?;
    let shares = number("shares", fields[2])?;
    if shares == 0 {
        return Err("shares 0: a locate is for 1 share or more".to_owned());
    }
    let locate_id = number("locate_id", fields[3])?;
    let expires = parse_time(fields[4]).ok_or_else(|| {
        format!(
            "expiry \"{}\" is not YYYY-MM-DD, YYYY-MM-DDTHH:MM:SSZ or seconds since the epoch",
            fields[4]
        )
    })?;
    if expires <= now_s {
        return Err(format!("expiry {} has already passed", fields[4]));
    }
    let expires_s =
        u32::try_from(expires).map_err(|_| format!("expiry {} is past 2106", fields[4]))?;
    Ok(LocateLine {
        line,
        client,
        symbol,
        shares,
        locate_id,
        expires_s,
    })
}

/// The header `crossline report markouts` writes on its classification file, which
/// `crossline admin improvement load` reads.
pub const CLASSES_HEADER: &str = "client,shares,markout_5s_bps,class,multiplier";

/// A multiplier as people write it (`0.5`, `1.50`, `2`) in ppm: 0 to 2, at most six
/// decimal places.
///
/// # Errors
/// What is wrong with it, naming the text.
pub fn parse_multiplier(text: &str) -> Result<u32, String> {
    let bad = || format!("multiplier \"{text}\" is not a number from 0 to 2 (e.g. 0.5, 1, 1.5)");
    let value = rust_decimal::Decimal::from_str_exact(text.trim()).map_err(|_| bad())?;
    let ppm = value * rust_decimal::Decimal::from(1_000_000);
    if ppm != ppm.trunc() {
        return Err(format!(
            "multiplier \"{text}\" has more than six decimal places"
        ));
    }
    rust_decimal::prelude::ToPrimitive::to_u32(&ppm)
        .filter(|ppm| *ppm <= AdminLayout::IMPROVEMENT_MULTIPLIER_PPM_MAX)
        .ok_or_else(bad)
}

/// A multiplier in ppm as people write it: `0.5`, `1`, `1.333333`.
#[must_use]
pub fn multiplier_text(ppm: u32) -> String {
    rust_decimal::Decimal::new(i64::from(ppm), 6)
        .normalize()
        .to_string()
}

/// One client's multiplier from a classification file.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ImprovementLine {
    /// The line it came from (1-based).
    pub line: usize,
    /// The client.
    pub client: u32,
    /// The multiplier, ppm.
    pub multiplier_ppm: u32,
}

impl ImprovementLine {
    /// The admin message that sets it (it stands until changed again).
    #[must_use]
    pub fn message(&self) -> Inbound {
        Inbound::Control {
            target: self.client,
            setting: AdminLayout::SETTING_IMPROVEMENT_MULTIPLIER,
            on: false,
            value: i64::from(self.multiplier_ppm),
            upper: 0,
            expires_at: 0,
        }
    }
}

/// Reads a flow classification file: the `markouts-<month>-classes.csv` that `crossline
/// report markouts` writes ([`CLASSES_HEADER`]: the client is the first column, the
/// multiplier the last), or plain `client,multiplier` lines; blank lines and `#`
/// comments are ignored, a header line is recognised by its first word `client`. Every
/// line is checked, and a client may appear once.
///
/// # Errors
/// Every bad line, as "line N: what is wrong": nothing of a file with one is to be sent.
pub fn parse_classes(text: &str) -> Result<Vec<ImprovementLine>, Vec<String>> {
    let mut seen: Vec<(u32, usize)> = Vec::new();
    parse_lines(
        text,
        "client",
        |header| {
            header
                .split(',')
                .next()
                .is_some_and(|first| first.trim().eq_ignore_ascii_case("client"))
        },
        |trimmed, line| {
            let fields: Vec<&str> = trimmed.split(',').map(str::trim).collect();
            if !matches!(fields.len(), 2 | 5) {
                return Err(format!(
                    "{} fields; a line has 2 (client,multiplier) or 5 ({CLASSES_HEADER})",
                    fields.len()
                ));
            }
            let client = fields[0]
                .parse::<u32>()
                .ok()
                .filter(|client| *client > 0)
                .ok_or_else(|| {
                    format!("client \"{}\" is not an id (1 to 4294967295)", fields[0])
                })?;
            let multiplier_ppm = parse_multiplier(fields[fields.len() - 1])?;
            if let Some((_, first)) = seen.iter().find(|(id, _)| *id == client) {
                return Err(format!("client {client} is on line {first} already"));
            }
            seen.push((client, line));
            Ok(ImprovementLine {
                line,
                client,
                multiplier_ppm,
            })
        },
    )
}

/// Seconds since the epoch of `YYYY-MM-DD` (its last second, UTC),
/// `YYYY-MM-DDTHH:MM:SSZ`, or a plain number of seconds.
#[must_use]
pub fn parse_time(text: &str) -> Option<u64> {
    if let Ok(seconds) = text.parse::<u64>() {
        return Some(seconds);
    }
    let (date, time) = match text.split_once('T') {
        Some((date, time)) => (date, Some(time.strip_suffix('Z')?)),
        None => (text, None),
    };
    let mut parts = date.split('-');
    let (year, month, day) = (
        parts.next()?.parse::<i64>().ok()?,
        parts.next()?.parse::<u32>().ok()?,
        parts.next()?.parse::<u32>().ok()?,
    );
    if parts.next().is_some()
        || !(1..=12).contains(&month)
        || day == 0
        || day > days_in(year, month)
    {
        return None;
    }
    let seconds_of_day = match time {
        None => 86_399,
        Some(time) => {
            let mut hms = time.split(':').map(|p| p.parse::<u64>().ok());
            let (h, m, s) = (hms.next()??, hms.next()??, hms.next()??);
            if hms.next().is_some() || h > 23 || m > 59 || s > 59 {
                return None;
            }
            h * 3600 + m * 60 + s
        }
    };
    let days = days_from_civil(year, month, day);
    u64::try_from(days)
        .ok()
        .map(|d| d * 86_400 + seconds_of_day)
}

fn days_in(year: i64, month: u32) -> u32 {
    match month {
        2 if (year % 4 == 0 && year % 100 != 0) || year % 400 == 0 => 29,
        2 => 28,
        4 | 6 | 9 | 11 => 30,
        _ => 31,
    }
}

/// Days from 1970-01-01 to a proleptic Gregorian date (Howard Hinnant's algorithm).
fn days_from_civil(year: i64, month: u32, day: u32) -> i64 {
    let year = if month <= 2 { year - 1 } else { year };
    let era = year.div_euclid(400);
    let year_of_era = year - era * 400;
    let month = i64::from(month);
    let day_of_year =
        (153 * (if month > 2 { month - 3 } else { month + 9 }) + 2) / 5 + i64::from(day) - 1;
    let day_of_era = year_of_era * 365 + year_of_era / 4 - year_of_era / 100 + day_of_year;
    era * 146_097 + day_of_era - 719_468
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn times_parse_to_epoch_seconds() {
        assert_eq!(parse_time("1970-01-01T00:00:00Z"), Some(0));
        assert_eq!(parse_time("2026-12-04T00:00:00Z"), Some(1_796_342_400));
        assert_eq!(parse_time("2026-12-04"), Some(1_796_342_400 + 86_399));
        assert_eq!(parse_time("2024-02-29"), Some(1_709_251_199));
        assert_eq!(parse_time("1796342400"), Some(1_796_342_400));
        for bad in [
            "2026-13-01",
            "2026-02-30",
            "2025-02-29",
            "2026-12-04T24:00:00Z",
            "tomorrow",
            "2026-12-04T10:00:00",
        ] {
            assert_eq!(parse_time(bad), None, "{bad}");
        }
    }

    #[test]
    fn multipliers_read_as_people_write_them() {
        assert_eq!(parse_multiplier("0.5"), Ok(500_000));
        assert_eq!(parse_multiplier("1.50"), Ok(1_500_000));
        assert_eq!(parse_multiplier("2"), Ok(2_000_000));
        assert_eq!(parse_multiplier("0"), Ok(0));
        assert_eq!(parse_multiplier("1.333333"), Ok(1_333_333));
        for bad in ["2.000001", "-0.5", "x", "", "1e3", "3"] {
            assert!(parse_multiplier(bad).is_err(), "{bad}");
        }
        assert!(parse_multiplier("0.1234567")
            .unwrap_err()
            .contains("six decimal places"));
    }

    #[test]
    fn a_classification_file_is_checked_line_by_line_and_refused_whole() {
        let good = "client,shares,markout_5s_bps,class,multiplier\n1,5000,3.2000,informed,0.50\n\n# plain\n2,1.5\n3,200,,unclassified,1.00\n";
        let lines = parse_classes(good).unwrap();
        let got: Vec<(usize, u32, u32)> = lines
            .iter()
            .map(|l| (l.line, l.client, l.multiplier_ppm))
            .collect();
        assert_eq!(got, [(2, 1, 500_000), (5, 2, 1_500_000), (6, 3, 1_000_000)]);
        assert_eq!(
            lines[0].message(),
            Inbound::Control {
                target: 1,
                setting: 15,
                on: false,
                value: 500_000,
                upper: 0,
                expires_at: 0
            }
        );
        let bad = "1,0.5\n0,1\n2,2.5\n1,1\n4,1,2\n";
        let errors = parse_classes(bad).unwrap_err();
        assert_eq!(errors.len(), 4, "{errors:?}");
        assert!(errors[0].starts_with("line 2: client \"0\""), "{errors:?}");
        assert!(
            errors[1].starts_with("line 3: multiplier \"2.5\""),
            "{errors:?}"
        );
        assert_eq!(errors[2], "line 4: client 1 is on line 1 already");
        assert!(errors[3].starts_with("line 5: 3 fields"), "{errors:?}");
        assert_eq!(
            parse_classes("# nothing\n").unwrap_err(),
            ["the file holds no client"]
        );
    }

    #[test]
    fn a_locate_file_is_checked_line_by_line_and_refused_whole() {
        let now = 1_796_342_400;
        let good = "client,symbol,shares,locate_id,expiry\n1,2,500,9001,2026-12-04\n\n# a comment\n3,1,100,9002,2026-12-05T16:00:00Z\n";
        let lines = parse_locates(good, now).unwrap();
        assert_eq!(lines.len(), 2);
        assert_eq!(
            (
                lines[0].line,
                lines[0].client,
                lines[0].symbol,
                lines[0].shares
            ),
            (2, 1, 2, 500)
        );
        assert_eq!(lines[1].line, 5);
        let bad = "1,2,500,9001,2026-12-04\n1,2,0,9002,2026-12-04\nx,2,5,1,2026-12-04\n1,2,5,1\n1,2,5,1,2026-12-03\n";
        let errors = parse_locates(bad, now).unwrap_err();
        assert_eq!(errors.len(), 4, "{errors:?}");
        assert!(errors[0].starts_with("line 2: shares 0"), "{errors:?}");
        assert!(errors[1].starts_with("line 3: client \"x\""), "{errors:?}");
        assert!(errors[2].starts_with("line 4: 4 fields"), "{errors:?}");
        assert!(
            errors[3].starts_with("line 5: expiry 2026-12-03 has already passed"),
            "{errors:?}"
        );
        assert!(parse_locates("# nothing\n", now).is_err());
    }
}

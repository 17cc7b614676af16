//! UTCTimestamp (`YYYYMMDD-HH:MM:SS[.sss|.ssssss|.sssssssss]`), written and read with no
//! allocation and no time-zone database (FIX times are UTC).

use crate::parse::parse_uint;

/// Bytes of a timestamp in microseconds: `YYYYMMDD-HH:MM:SS.ffffff`.
pub const MICROS_BYTES: usize = 24;

const NS_PER_DAY: u64 = 86_400_000_000_000;

/// The UTC timestamp of `ns` (nanoseconds since the Unix epoch), to the microsecond.
#[must_use]
pub fn format_micros(ns: u64) -> [u8; MICROS_BYTES] {
    let days = ns / NS_PER_DAY;
    let in_day = ns % NS_PER_DAY;
    let (year, month, day) = civil_from_days(days);
    let seconds = in_day / 1_000_000_000;
    let micros = (in_day % 1_000_000_000) / 1_000;
    let mut out = *b"00000000-00:00:00.000000";
    write_digits(&mut out[0..4], year);
    write_digits(&mut out[4..6], month);
    write_digits(&mut out[6..8], day);
    write_digits(&mut out[9..11], seconds / 3600);
    write_digits(&mut out[12..14], seconds / 60 % 60);
    write_digits(&mut out[15..17], seconds % 60);
    write_digits(&mut out[18..24], micros);
    out
}

fn write_digits(out: &mut [u8], mut value: u64) {
    for byte in out.iter_mut().rev() {
        // A digit: always below 10.
        *byte = b'0' + u8::try_from(value % 10).unwrap_or(0);
        value /= 10;
    }
}

/// Nanoseconds since the Unix epoch of a UTCTimestamp with 0, 3, 6 or 9 decimal places;
/// `None` when it is not one (or before 1970).
#[must_use]
pub fn parse(text: &[u8]) -> Option<u64> {
    if text.len() < 17 || text[8] != b'-' || text[11] != b':' || text[14] != b':' {
        return None;
    }
    let year = parse_uint(&text[0..4])?;
    let month = parse_uint(&text[4..6])?;
    let day = parse_uint(&text[6..8])?;
    let hour = parse_uint(&text[9..11])?;
    let minute = parse_uint(&text[12..14])?;
    let second = parse_uint(&text[15..17])?;
    if !(1970..=9999).contains(&year)
        || !(1..=12).contains(&month)
        || !(1..=days_in_month(year, month)).contains(&day)
        || hour > 23
        || minute > 59
        || second > 60
    {
        return None;
    }
    let fraction_ns = match &text[17..] {
        [] => 0,
        [b'.', digits @ ..] if matches!(digits.len(), 3 | 6 | 9) => {
            parse_uint(digits)? * 10u64.pow(9 - u32::try_from(digits.len()).ok()?)
        }
        _ => return None,
    };
    let days = days_from_civil(year, month, day);
    Some(days * NS_PER_DAY + (hour * 3600 + minute * 60 + second) * 1_000_000_000 + fraction_ns)
}

/// Days in `month` (1 to 12) of `year`.
#[must_use]
pub fn days_in_month(year: u64, month: u64) -> u64 {
    match month {
        2 if (year % 4 == 0 && year % 100 != 0) || year % 400 == 0 => 29,
        2 => 28,
        4 | 6 | 9 | 11 => 30,
        _ => 31,
    }
}

/// Days since 1970-01-01 of a civil date (H. Hinnant's algorithm, years from 1970).
#[must_use]
pub fn days_from_civil(year: u64, month: u64, day: u64) -> u64 {
    let year = if month <= 2 { year - 1 } else { year };
    let era = year / 400;
    let year_of_era = year - era * 400;
    let month_index = if month > 2 { month - 3 } else { month + 9 };
    let day_of_year = (153 * month_index + 2) / 5 + day - 1;
    let day_of_era = year_of_era * 365 + year_of_era / 4 - year_of_era / 100 + day_of_year;
    era * 146_097 + day_of_era - 719_468
}

/// The civil date (year, month, day) of a day count since 1970-01-01.
#[must_use]
pub fn civil_from_days(days: u64) -> (u64, u64, u64) {
    let z = days + 719_468;
    let era = z / 146_097;
    let day_of_era = z - era * 146_097;
    let year_of_era =
        (day_of_era - day_of_era / 1460 + day_of_era / 36_524 - day_of_era / 146_096) / 365;
    let day_of_year = day_of_era - (365 * year_of_era + year_of_era / 4 - year_of_era / 100);
    let month_index = (5 * day_of_year + 2) / 153;
    let day = day_of_year - (153 * month_index + 2) / 5 + 1;
    let month = if month_index < 10 {
        month_index + 3
    } else {
        month_index - 9
    };
    let year = year_of_era + era * 400 + u64::from(month <= 2);
    (year, month, day)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn known_instants_format_and_parse() {
        // 2026-12-05 11:45:30.123456 UTC.
        let ns = 1_796_471_130_123_456_000;
        assert_eq!(&format_micros(ns), b"20261205-11:45:30.123456");
        assert_eq!(parse(b"20261205-11:45:30.123456"), Some(ns));
        assert_eq!(parse(b"20261205-11:45:30.123"), Some(ns - 456_000));
        assert_eq!(parse(b"20261205-11:45:30"), Some(ns - 123_456_000));
        assert_eq!(&format_micros(0), b"19700101-00:00:00.000000");
        assert_eq!(parse(b"20240229-00:00:00"), Some(1_709_164_800_000_000_000));
    }

    #[test]
    fn impossible_timestamps_are_refused() {
        for text in [
            &b"20261305-11:45:30"[..],
            b"20260230-11:45:30",
            b"20261205-24:00:00",
            b"20261205 11:45:30",
            b"20261205-11:45:30.12",
            b"19691231-23:59:59",
            b"2026120-11:45:30",
        ] {
            assert_eq!(parse(text), None, "{}", String::from_utf8_lossy(text));
        }
    }

    proptest::proptest! {
        #[test]
        fn every_microsecond_round_trips(micros in 0u64..18_000_000_000_000_000) {
            let ns = micros * 1_000;
            proptest::prop_assert_eq!(parse(&format_micros(ns)), Some(ns));
        }
    }
}

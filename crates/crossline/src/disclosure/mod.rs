//! Best execution and disclosure from the journal (`docs/REPORTS.md`): SEC Rule 605
//! execution-quality statistics (as amended in 2024), Rule 606(a)(1) and 606(b)(3)
//! routing reports, client markouts with a flow classification, and an HTML page of
//! charts. Every figure comes from replaying journals ([`tape::Tape`]).

pub mod cli;
pub mod html;
pub mod markouts;
pub mod rule605;
pub mod rule606;
pub mod tape;

use crossline_fix::time::{civil_from_days, days_from_civil, days_in_month};

const NS_PER_DAY: u64 = 86_400_000_000_000;

/// A reporting period: whole UTC days from `from_ns` (inclusive) to `to_ns` (exclusive).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Period {
    /// Start, ns since the epoch.
    pub from_ns: u64,
    /// End (exclusive), ns since the epoch.
    pub to_ns: u64,
    /// How the period was named: `2026-12`, `2026-Q4`, `2026-10-01..2026-12-31`.
    pub label: String,
}

impl Period {
    /// A calendar month, `YYYY-MM`.
    ///
    /// # Errors
    /// A message naming the value when it is not a month.
    pub fn month(text: &str) -> Result<Period, String> {
        let bad = || format!("--month {text:?}: expected YYYY-MM, e.g. 2026-12");
        let (year, month) = text.split_once('-').ok_or_else(bad)?;
        let (year, month) = (
            parse_year(year).ok_or_else(bad)?,
            month_number(month).ok_or_else(bad)?,
        );
        Ok(Period {
            from_ns: days_from_civil(year, month, 1) * NS_PER_DAY,
            to_ns: (days_from_civil(year, month, 1) + days_in_month(year, month)) * NS_PER_DAY,
            label: format!("{year:04}-{month:02}"),
        })
    }

    /// A calendar quarter, `YYYY-Qn`.
    ///
    /// # Errors
    /// A message naming the value when it is not a quarter.
    pub fn quarter(text: &str) -> Result<Period, String> {
        let bad = || format!("--quarter {text:?}: expected YYYY-Qn, e.g. 2026-Q4");
        let (year, quarter) = text.split_once("-Q").ok_or_else(bad)?;
        let year = parse_year(year).ok_or_else(bad)?;
        let quarter: u64 = quarter
            .parse()
            .ok()
            .filter(|q| (1..=4).contains(q))
            .ok_or_else(bad)?;
        let first = (quarter - 1) * 3 + 1;
        let from = days_from_civil(year, first, 1);
        let days: u64 = (first..first + 3).map(|m| days_in_month(year, m)).sum();
        Ok(Period {
            from_ns: from * NS_PER_DAY,
            to_ns: (from + days) * NS_PER_DAY,
            label: format!("{year:04}-Q{quarter}"),
        })
    }

    /// The days `from` to `to`, both `YYYY-MM-DD`, both included.
    ///
    /// # Errors
    /// A message naming the value that is not a date, or a range that ends before it
    /// starts.
    pub fn days(from: &str, to: &str) -> Result<Period, String> {
        let (start, end) = (parse_date("--from", from)?, parse_date("--to", to)?);
        if end < start {
            return Err(format!("--to {to} is before --from {from}"));
        }
        Ok(Period {
            from_ns: start * NS_PER_DAY,
            to_ns: (end + 1) * NS_PER_DAY,
            label: format!("{from}..{to}"),
        })
    }

    /// Whether `ns` falls in the period.
    #[must_use]
    pub fn contains(&self, ns: u64) -> bool {
        (self.from_ns..self.to_ns).contains(&ns)
    }

    /// The calendar months the period touches, as (year, month).
    #[must_use]
    pub fn months(&self) -> Vec<(u64, u64)> {
        let mut months = Vec::new();
        let mut day = self.from_ns / NS_PER_DAY;
        while day * NS_PER_DAY < self.to_ns {
            let (year, month, _) = civil_from_days(day);
            months.push((year, month));
            day = days_from_civil(year, month, 1) + days_in_month(year, month);
        }
        months
    }
}

/// The calendar (year, month) of a time, ns since the epoch.
#[must_use]
pub fn month_of(ns: u64) -> (u64, u64) {
    let (year, month, _) = civil_from_days(ns / NS_PER_DAY);
    (year, month)
}

/// The date `YYYY-MM-DD` of a time, ns since the epoch.
#[must_use]
pub fn date_of(ns: u64) -> String {
    let (year, month, day) = civil_from_days(ns / NS_PER_DAY);
    format!("{year:04}-{month:02}-{day:02}")
}

fn parse_year(text: &str) -> Option<u64> {
    (text.len() == 4)
        .then(|| text.parse().ok())
        .flatten()
        .filter(|year| (1970..=9999).contains(year))
}

fn month_number(text: &str) -> Option<u64> {
    (text.len() == 2)
        .then(|| text.parse().ok())
        .flatten()
        .filter(|month| (1..=12).contains(month))
}

fn parse_date(flag: &str, text: &str) -> Result<u64, String> {
    let bad = || format!("{flag} {text:?}: expected YYYY-MM-DD, e.g. 2026-12-01");
    let mut parts = text.split('-');
    let (Some(year), Some(month), Some(day), None) =
        (parts.next(), parts.next(), parts.next(), parts.next())
    else {
        return Err(bad());
    };
    let (year, month) = (
        parse_year(year).ok_or_else(bad)?,
        month_number(month).ok_or_else(bad)?,
    );
    let day: u64 = (day.len() == 2)
        .then(|| day.parse().ok())
        .flatten()
        .filter(|day| (1..=days_in_month(year, month)).contains(day))
        .ok_or_else(bad)?;
    Ok(days_from_civil(year, month, day))
}

/// A ratio as a percentage with two decimals (the 606 schema's form), or `None` when
/// the denominator is zero.
#[must_use]
pub fn percent(part: u64, whole: u64) -> Option<f64> {
    (whole > 0).then(|| part as f64 * 100.0 / whole as f64)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn periods_cover_whole_utc_days() {
        let month = Period::month("2026-02").unwrap();
        assert_eq!(month.to_ns - month.from_ns, 28 * NS_PER_DAY);
        assert_eq!(date_of(month.from_ns), "2026-02-01");
        assert_eq!(date_of(month.to_ns - 1), "2026-02-28");
        let quarter = Period::quarter("2026-Q4").unwrap();
        assert_eq!(quarter.months(), vec![(2026, 10), (2026, 11), (2026, 12)]);
        assert_eq!(date_of(quarter.to_ns), "2027-01-01");
        let days = Period::days("2026-12-01", "2026-12-01").unwrap();
        assert_eq!(days.to_ns - days.from_ns, NS_PER_DAY);
        assert!(days.contains(days.from_ns) && !days.contains(days.to_ns));
    }

    #[test]
    fn bad_periods_name_the_value() {
        assert!(Period::month("2026-13")
            .unwrap_err()
            .contains("\"2026-13\""));
        assert!(Period::month("26-12").is_err());
        assert!(Period::quarter("2026-Q5").unwrap_err().contains("YYYY-Qn"));
        assert!(Period::days("2026-02-30", "2026-03-01")
            .unwrap_err()
            .contains("--from"));
        assert!(Period::days("2026-03-02", "2026-03-01")
            .unwrap_err()
            .contains("before"));
    }
}

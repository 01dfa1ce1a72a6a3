//! Timestamps as SigV4 uses them, without a date library.
//!
//! A [`Timestamp`] is a count of seconds since the Unix epoch (UTC). It parses the ISO 8601
//! basic format that `X-Amz-Date` carries (`20150830T123600Z`) and the IMF-fixdate format of
//! the HTTP `Date` header (`Sun, 30 Aug 2015 12:36:00 GMT`), and prints itself in the ISO 8601
//! basic format used in the string to sign. Conversions between days and civil dates use the
//! proleptic Gregorian calendar with 400-year eras (146 097 days each); all arithmetic is
//! checked or saturating, so no input can make it panic.

use std::fmt;
use std::time::{SystemTime, UNIX_EPOCH};

const SECONDS_PER_DAY: i64 = 86_400;
/// Days in one 400-year Gregorian cycle.
const DAYS_PER_ERA: i64 = 146_097;
/// Days from 0000-03-01 (the start of the shifted calendar below) to 1970-01-01.
const EPOCH_SHIFT_DAYS: i64 = 719_468;

const MONTHS: [&str; 12] = [
    "Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec",
];
const WEEKDAYS: [&str; 7] = ["Mon", "Tue", "Wed", "Thu", "Fri", "Sat", "Sun"];

/// Seconds since 1970-01-01T00:00:00Z (negative before it).
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord)]
pub(crate) struct Timestamp(i64);

/// A civil (calendar) date and time of day in UTC.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
struct Civil {
    year: i64,
    month: i64,
    day: i64,
    hour: i64,
    minute: i64,
    second: i64,
}

impl Timestamp {
    /// The timestamp of a [`SystemTime`], saturating at the limits of `i64` seconds.
    pub(crate) fn from_system_time(time: SystemTime) -> Self {
        let seconds = match time.duration_since(UNIX_EPOCH) {
            Ok(after) => i64::try_from(after.as_secs()).unwrap_or(i64::MAX),
            Err(before) => i64::try_from(before.duration().as_secs())
                .map(|s| -s)
                .unwrap_or(i64::MIN),
        };
        Timestamp(seconds)
    }

    /// This timestamp moved by `seconds` (saturating).
    pub(crate) fn offset(self, seconds: i64) -> Self {
        Timestamp(self.0.saturating_add(seconds))
    }

    /// Parses `YYYYMMDD'T'HHMMSS'Z'`, the format of `X-Amz-Date`.
    pub(crate) fn parse_iso_basic(text: &str) -> Option<Self> {
        let b = text.as_bytes();
        if b.len() != 16 || b[8] != b'T' || b[15] != b'Z' {
            return None;
        }
        Civil {
            year: digits(&b[0..4])?,
            month: digits(&b[4..6])?,
            day: digits(&b[6..8])?,
            hour: digits(&b[9..11])?,
            minute: digits(&b[11..13])?,
            second: digits(&b[13..15])?,
        }
        .to_timestamp()
    }

    /// Parses the IMF-fixdate format of RFC 9110 (`Sun, 06 Nov 1994 08:49:37 GMT`).
    /// The day name must be one of the seven English abbreviations; it is not checked
    /// against the date.
    pub(crate) fn parse_http_date(text: &str) -> Option<Self> {
        let b = text.as_bytes();
        if b.len() != 29
            || !WEEKDAYS.iter().any(|d| d.as_bytes() == &b[0..3])
            || &b[3..5] != b", "
            || b[7] != b' '
            || b[11] != b' '
            || b[16] != b' '
            || b[19] != b':'
            || b[22] != b':'
            || &b[25..29] != b" GMT"
        {
            return None;
        }
        let month = MONTHS.iter().position(|m| m.as_bytes() == &b[8..11])?;
        Civil {
            year: digits(&b[12..16])?,
            month: i64::try_from(month).ok()? + 1,
            day: digits(&b[5..7])?,
            hour: digits(&b[17..19])?,
            minute: digits(&b[20..22])?,
            second: digits(&b[23..25])?,
        }
        .to_timestamp()
    }

    /// Parses either format: ISO 8601 basic first, then IMF-fixdate.
    pub(crate) fn parse_any(text: &str) -> Option<Self> {
        Self::parse_iso_basic(text).or_else(|| Self::parse_http_date(text))
    }

    /// The `YYYYMMDD` day of this timestamp, as used in the credential scope.
    pub(crate) fn date_stamp(self) -> String {
        let c = Civil::from_timestamp(self);
        format!("{:04}{:02}{:02}", c.year, c.month, c.day)
    }
}

impl fmt::Display for Timestamp {
    /// ISO 8601 basic format, `YYYYMMDD'T'HHMMSS'Z'`.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let c = Civil::from_timestamp(*self);
        write!(
            f,
            "{:04}{:02}{:02}T{:02}{:02}{:02}Z",
            c.year, c.month, c.day, c.hour, c.minute, c.second
        )
    }
}

impl Civil {
    /// Validates the fields and converts them to a timestamp.
    fn to_timestamp(self) -> Option<Timestamp> {
        if !(1..=12).contains(&self.month)
            || self.day < 1
            || self.day > days_in_month(self.year, self.month)
            || self.hour > 23
            || self.minute > 59
            || self.second > 59
        {
            return None;
        }
        let days = days_from_civil(self.year, self.month, self.day);
        let seconds = days * SECONDS_PER_DAY + self.hour * 3600 + self.minute * 60 + self.second;
        Some(Timestamp(seconds))
    }

    fn from_timestamp(ts: Timestamp) -> Self {
        let days = ts.0.div_euclid(SECONDS_PER_DAY);
        let secs = ts.0.rem_euclid(SECONDS_PER_DAY);
        let (year, month, day) = civil_from_days(days);
        Civil {
            year,
            month,
            day,
            hour: secs / 3600,
            minute: secs % 3600 / 60,
            second: secs % 60,
        }
    }
}

/// Parses a run of ASCII digits (at most 4 here, so no overflow).
fn digits(bytes: &[u8]) -> Option<i64> {
    bytes.iter().try_fold(0i64, |acc, &b| {
        b.is_ascii_digit().then(|| acc * 10 + i64::from(b - b'0'))
    })
}

fn is_leap_year(year: i64) -> bool {
    year % 4 == 0 && (year % 100 != 0 || year % 400 == 0)
}

fn days_in_month(year: i64, month: i64) -> i64 {
    match month {
        2 if is_leap_year(year) => 29,
        2 => 28,
        4 | 6 | 9 | 11 => 30,
        _ => 31,
    }
}

/// Days since 1970-01-01 of a valid civil date (years of at most four digits here).
///
/// The calendar is shifted to start on March 1st so that the leap day is the last day of
/// the shifted year; month lengths from March on repeat in a 5-month pattern of 153 days.
fn days_from_civil(year: i64, month: i64, day: i64) -> i64 {
    let shifted_year = if month <= 2 { year - 1 } else { year };
    let era = shifted_year.div_euclid(400);
    let year_of_era = shifted_year.rem_euclid(400);
    let month_from_march = (month + 9) % 12;
    let day_of_year = (153 * month_from_march + 2) / 5 + day - 1;
    let day_of_era = year_of_era * 365 + year_of_era / 4 - year_of_era / 100 + day_of_year;
    era * DAYS_PER_ERA + day_of_era - EPOCH_SHIFT_DAYS
}

/// The civil date `(year, month, day)` of a count of days since 1970-01-01; the inverse of
/// [`days_from_civil`]. Valid for every `i64` that a `Timestamp` can divide down to.
fn civil_from_days(days: i64) -> (i64, i64, i64) {
    let shifted = days + EPOCH_SHIFT_DAYS;
    let era = shifted.div_euclid(DAYS_PER_ERA);
    let day_of_era = shifted.rem_euclid(DAYS_PER_ERA);
    let year_of_era =
        (day_of_era - day_of_era / 1460 + day_of_era / 36_524 - day_of_era / 146_096) / 365;
    let day_of_year = day_of_era - (365 * year_of_era + year_of_era / 4 - year_of_era / 100);
    let month_from_march = (5 * day_of_year + 2) / 153;
    let day = day_of_year - (153 * month_from_march + 2) / 5 + 1;
    let month = if month_from_march < 10 {
        month_from_march + 3
    } else {
        month_from_march - 9
    };
    let year = year_of_era + era * 400 + i64::from(month <= 2);
    (year, month, day)
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::time::Duration;

    #[test]
    fn parses_the_test_suite_date() {
        // 2015-08-30T12:36:00Z is 1440938160 seconds after the epoch.
        let ts = Timestamp::parse_iso_basic("20150830T123600Z").unwrap();
        assert_eq!(ts.0, 1_440_938_160);
        assert_eq!(ts.to_string(), "20150830T123600Z");
        assert_eq!(ts.date_stamp(), "20150830");
        assert_eq!(
            Timestamp::parse_http_date("Sun, 30 Aug 2015 12:36:00 GMT"),
            Some(ts)
        );
        assert_eq!(
            Timestamp::parse_any("Sun, 30 Aug 2015 12:36:00 GMT"),
            Some(ts)
        );
    }

    #[test]
    fn epoch_and_leap_days() {
        assert_eq!(Timestamp::parse_iso_basic("19700101T000000Z").unwrap().0, 0);
        assert_eq!(
            Timestamp::parse_iso_basic("20000229T000000Z").unwrap().0,
            951_782_400
        );
        assert!(Timestamp::parse_iso_basic("19000229T000000Z").is_none());
        assert!(Timestamp::parse_iso_basic("20230229T000000Z").is_none());
        assert_eq!(Timestamp(-1).to_string(), "19691231T235959Z");
    }

    #[test]
    fn rejects_malformed_dates() {
        for bad in [
            "",
            "20150830T123600",
            "20150830T123600z",
            "20150830 123600Z",
            "2015083OT123600Z",
            "20151330T123600Z",
            "20150800T123600Z",
            "20150830T243600Z",
            "20150830T126000Z",
            "20150830T123660Z",
            "+0150830T123600Z",
            "20150830T12360ÅZ",
            "Sun, 30 Aug 2015 12:36:00 UTC",
            "Sun, 30 Foo 2015 12:36:00 GMT",
            "Xyz, 30 Aug 2015 12:36:00 GMT",
            "Sun, 31 Sep 2015 12:36:00 GMT",
        ] {
            assert_eq!(Timestamp::parse_any(bad), None, "{bad}");
        }
    }

    #[test]
    fn round_trips_every_day_of_several_centuries() {
        for days in -800_000..800_000 {
            let (y, m, d) = civil_from_days(days);
            assert_eq!(days_from_civil(y, m, d), days);
            assert!((1..=days_in_month(y, m)).contains(&d));
        }
    }

    #[test]
    fn system_time_conversion_saturates() {
        assert_eq!(Timestamp::from_system_time(UNIX_EPOCH).0, 0);
        let before = UNIX_EPOCH - Duration::from_secs(5);
        assert_eq!(Timestamp::from_system_time(before).0, -5);
        // Extreme values must format without panicking.
        let _ = Timestamp(i64::MAX).to_string();
        let _ = Timestamp(i64::MIN).to_string();
        assert_eq!(Timestamp(i64::MAX).offset(10).0, i64::MAX);
    }
}

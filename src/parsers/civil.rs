//! Civil (calendar) time as log lines print it, turned into unix seconds: dates, clock times, month names, UTC
//! offsets and epoch counts in s/ms/µs/ns, and the calendar arithmetic every timestamp reader uses ([`CivilTime`],
//! [`year_of`]). Pure arithmetic on bytes; no IO, no allocation, no time zone database.

use super::syslog::stamp;
use crate::address::parse_u64;

/// Unix seconds of a date and clock time read as UTC, or `None` when a field is out of range.
pub fn unix(date: (i64, u32, u32), clock: (u32, u32, u32)) -> Option<i64> {
    let (year, month, day) = date;
    let (hour, minute, second) = clock;
    if !(1000..=9999).contains(&year) {
        return None;
    }
    let narrow = |n: u32| u8::try_from(n).ok();
    CivilTime {
        year,
        month: narrow(month)?,
        day: narrow(day)?,
        hour: narrow(hour)?,
        minute: narrow(minute)?,
        second: narrow(second)?,
    }
    .to_unix()
}

/// Parses 1 to 4 ASCII digits.
pub fn small(s: &[u8]) -> Option<u32> {
    if s.is_empty() || s.len() > 4 {
        return None;
    }
    digits(s, 0, s.len())
}

/// Reads `n` ASCII digits (1 to 9) at `at` as a number.
pub fn digits(s: &[u8], at: usize, n: usize) -> Option<u32> {
    let field = s.get(at..at.checked_add(n)?)?;
    u32::try_from(parse_u64(field)?).ok()
}

/// Month number (1–12) of an English month name or its three-letter abbreviation, any case (the first three letters
/// are read: `Jan`, `january`, `SEP`).
pub fn month(s: &[u8]) -> Option<u8> {
    let &[a, b, c, ..] = s else {
        return None;
    };
    // ASCII letters only, folded to lower case by their 0x20 bit.
    if !(a.is_ascii_alphabetic() && b.is_ascii_alphabetic() && c.is_ascii_alphabetic()) {
        return None;
    }
    Some(match [a | 0x20, b | 0x20, c | 0x20] {
        [b'j', b'a', b'n'] => 1,
        [b'f', b'e', b'b'] => 2,
        [b'm', b'a', b'r'] => 3,
        [b'a', b'p', b'r'] => 4,
        [b'm', b'a', b'y'] => 5,
        [b'j', b'u', b'n'] => 6,
        [b'j', b'u', b'l'] => 7,
        [b'a', b'u', b'g'] => 8,
        [b's', b'e', b'p'] => 9,
        [b'o', b'c', b't'] => 10,
        [b'n', b'o', b'v'] => 11,
        [b'd', b'e', b'c'] => 12,
        _ => return None,
    })
}

/// `HH:MM:SS` or `HH:MM` (seconds 0), ignoring a fractional part after the seconds.
pub fn clock(s: &[u8]) -> Option<(u32, u32, u32)> {
    let mut it = s.splitn(3, |&c| c == b':');
    let h = small(it.next()?)?;
    let m = small(it.next()?)?;
    let sec = match it.next() {
        Some(rest) => small(rest.get(..2.min(rest.len()))?)?,
        None => 0,
    };
    Some((h, m, sec))
}

/// `YYYY-MM-DD` or `YYYY/MM/DD`, or the US `M/D/YY` / `M/D/YYYY` form.
pub fn date(s: &[u8]) -> Option<(i64, u32, u32)> {
    let sep = *s.iter().find(|c| !c.is_ascii_digit())?;
    if sep != b'-' && sep != b'/' {
        return None;
    }
    let mut it = s.splitn(3, |&c| c == sep);
    let (a, b, c) = (it.next()?, it.next()?, it.next()?);
    if a.len() == 4 {
        return Some((i64::from(small(a)?), small(b)?, small(c)?));
    }
    let year = small(c)?;
    let year = if c.len() == 2 { 2000 + year } else { year };
    Some((i64::from(year), small(a)?, small(b)?))
}

/// A date and a clock time separated by one space or a `T` (`2024/01/01 00:00:00`, `2024-01-01T00:00:00`), as UTC.
pub fn date_time(s: &[u8]) -> Option<i64> {
    let cut = s.iter().position(|&c| c == b' ' || c == b'T')?;
    unix(date(s.get(..cut)?)?, clock(s.get(cut + 1..)?)?)
}

/// An ISO 8601 / RFC 3339 time filling the whole field (`2023-07-06T08:11:40.288+02:00`), to unix seconds.
pub fn iso8601(s: &[u8]) -> Option<i64> {
    stamp::rfc3339(s).and_then(|(t, end)| (end == s.len()).then_some(t))
}

/// A UTC offset in seconds: `Z`, `+0200`, `-07:00`, `+02`.
pub fn offset(s: &[u8]) -> Option<i64> {
    let sign = match s.first()? {
        b'Z' if s.len() == 1 => return Some(0),
        b'+' => 1,
        b'-' => -1,
        _ => return None,
    };
    let rest = s.get(1..)?;
    let (h, m) = match rest.len() {
        2 => (small(rest)?, 0),
        4 => (small(rest.get(..2)?)?, small(rest.get(2..)?)?),
        5 if rest.get(2) == Some(&b':') => (small(rest.get(..2)?)?, small(rest.get(3..)?)?),
        _ => return None,
    };
    (h <= 14 && m < 60).then(|| sign * i64::from(h * 3600 + m * 60))
}

/// A count since the epoch in seconds, milliseconds, microseconds or nanoseconds (told apart by magnitude), to
/// seconds.
pub fn epoch(n: u64) -> i64 {
    let secs = match n {
        0..=99_999_999_999 => n,
        100_000_000_000..=99_999_999_999_999 => n / 1_000,
        100_000_000_000_000..=99_999_999_999_999_999 => n / 1_000_000,
        _ => n / 1_000_000_000,
    };
    i64::try_from(secs).unwrap_or(i64::MAX)
}

/// `Mon dd yyyy HH:mm:ss` (CEF `rt`, Forcepoint `devTime`), as UTC; extra text after the seconds is ignored.
pub fn month_day_year_time(s: &[u8]) -> Option<i64> {
    let mut it = s.split(|&c| c == b' ').filter(|w| !w.is_empty());
    let month = u32::from(month(it.next()?)?);
    let day = small(it.next()?)?;
    let year = i64::from(small(it.next()?)?);
    unix((year, month, day), clock(it.next()?)?)
}

/// A calendar date and time of day (proleptic Gregorian, no time zone), as read from a log timestamp.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct CivilTime {
    pub year: i64,
    pub month: u8,
    pub day: u8,
    pub hour: u8,
    pub minute: u8,
    pub second: u8,
}

impl CivilTime {
    /// Seconds since the Unix epoch, reading the fields as UTC; `None` when a field is out of range.
    pub fn to_unix(self) -> Option<i64> {
        if !self.is_valid() {
            return None;
        }
        let days = days_from_civil(self.year, i64::from(self.month), i64::from(self.day));
        Some(
            days * 86_400
                + i64::from(self.hour) * 3_600
                + i64::from(self.minute) * 60
                + i64::from(self.second),
        )
    }

    /// Every field in range (a day up to 31 in any month; a leap second allowed).
    pub fn is_valid(self) -> bool {
        (1..=12).contains(&self.month)
            && (1..=31).contains(&self.day)
            && self.hour < 24
            && self.minute < 60
            && self.second <= 60
            && (-100_000..=100_000).contains(&self.year)
    }
}

/// Days since 1970-01-01 of a proleptic Gregorian date (H. Hinnant's algorithm).
fn days_from_civil(year: i64, month: i64, day: i64) -> i64 {
    let y = if month <= 2 { year - 1 } else { year };
    let era = y.div_euclid(400);
    let yoe = y - era * 400;
    let mp = (month + 9) % 12;
    let doy = (153 * mp + 2) / 5 + day - 1;
    let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    era * 146_097 + doe - 719_468
}

/// The UTC calendar year a Unix time falls in.
pub fn year_of(unix: i64) -> i64 {
    let z = unix.div_euclid(86_400) + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z - era * 146_097;
    let yoe = (doe - doe / 1_460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let month = if mp < 10 { mp + 3 } else { mp - 9 };
    yoe + era * 400 + i64::from(month <= 2)
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    proptest! {
        #[test]
        fn civil_time_agrees_with_chrono(t in -5_000_000_000i64..5_000_000_000) {
            use chrono::{Datelike, Timelike};
            let d = chrono::DateTime::from_timestamp(t, 0).expect("in range");
            let civil = CivilTime {
                year: i64::from(d.year()),
                month: d.month() as u8,
                day: d.day() as u8,
                hour: d.hour() as u8,
                minute: d.minute() as u8,
                second: d.second() as u8,
            };
            prop_assert_eq!(civil.to_unix(), Some(t));
            prop_assert_eq!(year_of(t), i64::from(d.year()));
        }
    }

    #[test]
    fn known_instants() {
        assert_eq!(date_time(b"1970-01-01 00:00:00"), Some(0));
        assert_eq!(date_time(b"2018/11/30 16:09:07"), Some(1_543_594_147));
        assert_eq!(date_time(b"9/16/19 10:00"), Some(1_568_628_000));
        assert_eq!(date_time(b"2000-02-29T23:59:59"), Some(951_868_799));
        assert_eq!(
            iso8601(b"2024-01-12T11:21:15.190+01:00"),
            Some(1_705_054_875)
        );
        assert_eq!(
            month_day_year_time(b"Sep 14 2021 13:58:33"),
            Some(1_631_627_913)
        );
        assert_eq!(offset(b"-0700"), Some(-25_200));
        assert_eq!(offset(b"+05:30"), Some(19_800));
    }

    #[test]
    fn epochs_by_magnitude() {
        assert_eq!(epoch(1_602_663_098), 1_602_663_098);
        assert_eq!(epoch(1_593_013_776_000), 1_593_013_776);
        assert_eq!(epoch(1_602_591_763_587_868_496), 1_602_591_763);
    }

    #[test]
    fn rejects_out_of_range() {
        assert_eq!(date_time(b"2024-13-01 00:00:00"), None);
        assert_eq!(date_time(b"2024-01-01 24:00:00"), None);
        assert_eq!(clock(b"1:"), None);
        assert_eq!(offset(b"+99"), None);
    }
}

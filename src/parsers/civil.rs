//! Civil (calendar) time as log lines print it, turned into unix seconds: dates, clock times, month names, UTC
//! offsets and epoch counts in s/ms/µs/ns. Pure arithmetic on bytes; no IO, no allocation, no time zone database.

use super::syslog::stamp;
use crate::event::CivilTime;

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
    s.iter().try_fold(0u32, |n, &c| {
        c.is_ascii_digit().then(|| n * 10 + u32::from(c - b'0'))
    })
}

/// An English month abbreviation or name (`Jan`, `january`, `SEP`) to 1–12.
pub fn month(s: &[u8]) -> Option<u32> {
    stamp::month(s).map(u32::from)
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
    let month = month(it.next()?)?;
    let day = small(it.next()?)?;
    let year = i64::from(small(it.next()?)?);
    unix((year, month, day), clock(it.next()?)?)
}

#[cfg(test)]
mod tests {
    use super::*;

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

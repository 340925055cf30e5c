//! Civil (calendar) time as log lines print it, turned into unix seconds: dates, clock times, month names, UTC
//! offsets and epoch counts in s/ms/µs/ns. Pure arithmetic on bytes; no IO, no allocation, no time zone database.

/// A calendar date and clock time, read as UTC unless an offset is applied.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Civil {
    pub year: i64,
    pub month: u32,
    pub day: u32,
    pub hour: u32,
    pub minute: u32,
    pub second: u32,
}

impl Civil {
    /// Unix seconds, or `None` when a field is out of range.
    pub fn to_unix(self) -> Option<i64> {
        if !(1..=12).contains(&self.month)
            || !(1..=31).contains(&self.day)
            || self.hour > 23
            || self.minute > 59
            || self.second > 60
            || !(1000..=9999).contains(&self.year)
        {
            return None;
        }
        let days = days_from_civil(self.year, self.month, self.day);
        Some(days * 86_400 + i64::from(self.hour * 3600 + self.minute * 60 + self.second))
    }
}

/// Days since 1970-01-01 of a proleptic Gregorian date (H. Hinnant's algorithm).
fn days_from_civil(year: i64, month: u32, day: u32) -> i64 {
    let y = if month <= 2 { year - 1 } else { year };
    let era = y.div_euclid(400);
    let yoe = y - era * 400;
    let m = i64::from(month);
    let doy = (153 * (if m > 2 { m - 3 } else { m + 9 }) + 2) / 5 + i64::from(day) - 1;
    let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    era * 146_097 + doe - 719_468
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
    let head = s.get(..3)?;
    let mut b = [0u8; 3];
    for (d, c) in b.iter_mut().zip(head) {
        *d = c.to_ascii_lowercase();
    }
    let n = match &b {
        b"jan" => 1,
        b"feb" => 2,
        b"mar" => 3,
        b"apr" => 4,
        b"may" => 5,
        b"jun" => 6,
        b"jul" => 7,
        b"aug" => 8,
        b"sep" => 9,
        b"oct" => 10,
        b"nov" => 11,
        b"dec" => 12,
        _ => return None,
    };
    Some(n)
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
    let (y, mo, d) = date(s.get(..cut)?)?;
    let (hour, minute, second) = clock(s.get(cut + 1..)?)?;
    Civil {
        year: y,
        month: mo,
        day: d,
        hour,
        minute,
        second,
    }
    .to_unix()
}

/// An ISO 8601 time with an offset or `Z` (`2023-07-06T08:11:40.288+02:00`), to unix seconds.
pub fn iso8601(s: &[u8]) -> Option<i64> {
    if s.len() < 20 || s.get(4) != Some(&b'-') || s.get(10) != Some(&b'T') {
        return None;
    }
    let base = date_time(s.get(..19)?)?;
    let tail = s.get(19..)?;
    let zone = tail.iter().position(|&c| matches!(c, b'+' | b'-' | b'Z'))?;
    Some(base - offset(tail.get(zone..)?)?)
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
    let (hour, minute, second) = clock(it.next()?)?;
    Civil {
        year,
        month,
        day,
        hour,
        minute,
        second,
    }
    .to_unix()
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

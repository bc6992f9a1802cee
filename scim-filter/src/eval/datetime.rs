//! Instants from xsd:dateTime / RFC 3339 text, for comparing dateTime values as points in
//! time (RFC 7643 §2.3.5) rather than as strings.

/// A point in time read from an xsd:dateTime (RFC 7643 §2.3.5): seconds since the Unix
/// epoch and nanoseconds, offsets normalised. The evaluator compares dateTime values as
/// instants; a store that pushes filters down compares the same way through this type.
///
/// ```
/// use scim_filter::Instant;
/// let a = Instant::parse("2024-01-15T06:00:00-06:00").unwrap();
/// let b = Instant::parse("2024-01-15T12:00:00.000Z").unwrap();
/// assert_eq!(a, b);
/// assert!(Instant::parse("2024-01-15T12:00:00.5Z").unwrap() > b);
/// assert_eq!(b.unix_seconds(), 1_705_320_000);
/// assert!(Instant::parse("yesterday").is_none());
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct Instant {
    secs: i64,
    nanos: u32,
}

impl Instant {
    /// Parses `YYYY-MM-DDTHH:MM:SS[.fraction](Z|±HH:MM)` (a missing offset is UTC); `None`
    /// for anything else, as the evaluator reads it. The separator is an uppercase `T` and
    /// UTC an uppercase `Z`, as xsd:dateTime spells them: RFC 3339's space or lowercase
    /// forms are no dateTime here, so such a literal compares as a string.
    ///
    /// ```
    /// use scim_filter::Instant;
    /// assert!(Instant::parse("2020-01-01T00:00:00Z").is_some());
    /// assert!(Instant::parse("2020-01-01 00:00:00Z").is_none());
    /// assert!(Instant::parse("2020-01-01t00:00:00z").is_none());
    /// ```
    pub fn parse(text: &str) -> Option<Instant> {
        parse_instant(text)
    }

    /// [`Instant::parse`] that also requires the offset (`Z` or `±HH:MM`) RFC 7643 §2.3.5
    /// asks a dateTime to carry: the form validation accepts. One parser serves both, so a
    /// value validation accepts is always an instant to filters.
    ///
    /// ```
    /// use scim_filter::Instant;
    /// assert!(Instant::parse_with_offset("2011-05-13T04:42:34.123-07:00").is_some());
    /// assert!(Instant::parse_with_offset("2010-01-23T04:56:22").is_none());
    /// assert!(Instant::parse("2010-01-23T04:56:22").is_some());
    /// ```
    pub fn parse_with_offset(text: &str) -> Option<Instant> {
        parse_parts(text).and_then(|(instant, offset)| offset.then_some(instant))
    }

    /// Whole seconds since 1970-01-01T00:00:00Z (negative before).
    pub fn unix_seconds(&self) -> i64 {
        self.secs
    }

    /// The nanoseconds within the second.
    pub fn subsec_nanos(&self) -> u32 {
        self.nanos
    }
}

/// Parses `YYYY-MM-DDTHH:MM:SS[.fraction](Z|±HH:MM)`. A missing offset is read as UTC
/// (xsd:dateTime allows it; RFC 7643 asks for one, validation enforces that elsewhere).
/// Only xsd:dateTime's spelling (RFC 7643 §2.3.5): `T` and `Z` uppercase, no space.
pub(crate) fn parse_instant(s: &str) -> Option<Instant> {
    parse_parts(s).map(|(instant, _)| instant)
}

/// The instant, and whether the text gave an offset.
fn parse_parts(s: &str) -> Option<(Instant, bool)> {
    let b = s.as_bytes();
    if b.len() < 19 || b[4] != b'-' || b[7] != b'-' || b[13] != b':' || b[16] != b':' {
        return None;
    }
    if b[10] != b'T' {
        return None;
    }
    let year = digits(&b[0..4])? as i64;
    let month = digits(&b[5..7])?;
    let day = digits(&b[8..10])?;
    let hour = digits(&b[11..13])?;
    let minute = digits(&b[14..16])?;
    let second = digits(&b[17..19])?;
    if !(1..=12).contains(&month)
        || day == 0
        || day > days_in_month(year, month)
        || hour > 23
        || minute > 59
        || second > 60
    {
        return None;
    }
    let mut i = 19;
    let mut nanos = 0u32;
    if b.get(i) == Some(&b'.') {
        i += 1;
        let start = i;
        let mut scale = 100_000_000u32;
        while let Some(d) = b.get(i).filter(|d| d.is_ascii_digit()) {
            nanos += u32::from(d - b'0') * scale;
            scale /= 10;
            i += 1;
        }
        if i == start {
            return None;
        }
    }
    let has_offset = b.get(i).is_some();
    let offset_secs: i64 = match b.get(i) {
        None => 0,
        Some(b'Z') if i + 1 == b.len() => 0,
        Some(sign @ (b'+' | b'-')) if i + 6 == b.len() && b[i + 3] == b':' => {
            let h = digits(&b[i + 1..i + 3])? as i64;
            let m = digits(&b[i + 4..i + 6])? as i64;
            if h > 23 || m > 59 {
                return None;
            }
            let off = h * 3600 + m * 60;
            if *sign == b'+' {
                off
            } else {
                -off
            }
        }
        _ => return None,
    };
    let days = days_from_civil(year, month, day);
    let secs = days * 86_400 + i64::from(hour) * 3600 + i64::from(minute) * 60 + i64::from(second)
        - offset_secs;
    Some((Instant { secs, nanos }, has_offset))
}

fn digits(b: &[u8]) -> Option<u32> {
    b.iter().try_fold(0u32, |acc, d| {
        d.is_ascii_digit().then(|| acc * 10 + u32::from(d - b'0'))
    })
}

fn is_leap(y: i64) -> bool {
    (y % 4 == 0 && y % 100 != 0) || y % 400 == 0
}

fn days_in_month(y: i64, m: u32) -> u32 {
    match m {
        2 if is_leap(y) => 29,
        2 => 28,
        4 | 6 | 9 | 11 => 30,
        _ => 31,
    }
}

/// Days since 1970-01-01 (Howard Hinnant's `days_from_civil`).
fn days_from_civil(y: i64, m: u32, d: u32) -> i64 {
    let y = if m <= 2 { y - 1 } else { y };
    let era = y.div_euclid(400);
    let yoe = y - era * 400;
    let m = i64::from(m);
    let doy = (153 * (if m > 2 { m - 3 } else { m + 9 }) + 2) / 5 + i64::from(d) - 1;
    let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    era * 146_097 + doe - 719_468
}

#[cfg(test)]
mod tests {
    use super::*;

    fn secs(s: &str) -> i64 {
        parse_instant(s).map(|i| i.secs).unwrap_or(i64::MIN)
    }

    #[test]
    fn epoch_and_offsets() {
        assert_eq!(secs("1970-01-01T00:00:00Z"), 0);
        assert_eq!(secs("2011-05-13T04:42:34Z"), 1_305_261_754);
        assert_eq!(
            parse_instant("2024-01-15T06:00:00.000-06:00"),
            parse_instant("2024-01-15T12:00:00Z")
        );
        assert_eq!(secs("2000-03-01T00:00:00+01:00"), 951_865_200);
    }

    #[test]
    fn fractions_order() {
        let a = parse_instant("2020-01-01T00:00:00.5Z");
        let b = parse_instant("2020-01-01T00:00:00.49Z");
        assert!(a > b);
    }

    #[test]
    fn rejects_garbage() {
        for s in [
            "",
            "2020-13-01T00:00:00Z",
            "2021-02-29T00:00:00Z",
            "2020-01-01T00:00:00.Z",
            "2020-01-01T00:00:00+0100",
            "2020-01-01X00:00:00Z",
            "2020-01-01T00:00:00Zjunk",
            "abcd-01-01T00:00:00Z",
            // RFC 3339 allows these (§5.6 note), xsd:dateTime does not (RFC 7643 §2.3.5).
            "2020-01-01 00:00:00Z",
            "2020-01-01t00:00:00Z",
            "2020-01-01T00:00:00z",
            "2020-01-01t00:00:00.5z",
        ] {
            assert!(parse_instant(s).is_none(), "{s}");
        }
        assert!(parse_instant("2020-02-29T23:59:60Z").is_some());
    }
}

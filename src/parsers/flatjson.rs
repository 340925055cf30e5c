//! Scalar lookup by key in one flat JSON object per line (VPC Flow Logs delivered as JSON, nginx `escape=json`
//! access logs): finds `"key": value` and returns the raw value bytes. Not a JSON parser — no nesting, no
//! unescaping — but bounded, allocation-free and panic-free on any input.

use memchr::memmem;

/// True when the line looks like one JSON object.
pub fn is_object(line: &[u8]) -> bool {
    let line = line.trim_ascii();
    line.first() == Some(&b'{') && line.last() == Some(&b'}')
}

/// The raw value of the first `"key": value` pair: the bytes between the quotes of a string (escapes left as
/// they are), or the bare token of a number, `true`, `false` or `null`.
pub fn get<'a>(object: &'a [u8], key: &str) -> Option<&'a [u8]> {
    let key = key.as_bytes();
    let mut from = 0;
    while let Some(i) = object.get(from..).and_then(|h| memmem::find(h, key)) {
        let at = from + i;
        from = at + 1;
        let quoted_before = at.checked_sub(1).and_then(|p| object.get(p)) == Some(&b'"');
        let after_key = object.get(at + key.len()..)?;
        if !quoted_before || after_key.first() != Some(&b'"') {
            continue;
        }
        let rest = after_key.get(1..)?.trim_ascii_start();
        let Some(value) = rest.strip_prefix(b":") else {
            continue;
        };
        return Some(scalar(value.trim_ascii_start()));
    }
    None
}

fn scalar(value: &[u8]) -> &[u8] {
    if let Some(body) = value.strip_prefix(b"\"") {
        let mut at = 0;
        while let Some(&c) = body.get(at) {
            match c {
                b'\\' => at += 2,
                b'"' => return body.get(..at).unwrap_or(body),
                _ => at += 1,
            }
        }
        return body;
    }
    let end = value
        .iter()
        .position(|&c| matches!(c, b',' | b'}' | b']') || c.is_ascii_whitespace())
        .unwrap_or(value.len());
    value.get(..end).unwrap_or(value)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn strings_numbers_and_missing_keys() {
        let obj = br#"{"a":"x\"y","srcaddr": "1.2.3.4", "n" : 42,"t":true}"#;
        assert!(is_object(obj));
        assert_eq!(get(obj, "a"), Some(&br#"x\"y"#[..]));
        assert_eq!(get(obj, "srcaddr"), Some(&b"1.2.3.4"[..]));
        assert_eq!(get(obj, "n"), Some(&b"42"[..]));
        assert_eq!(get(obj, "t"), Some(&b"true"[..]));
        assert_eq!(get(obj, "addr"), None);
        assert_eq!(
            get(br#"{"v":"srcaddr","srcaddr":"9.9.9.9"}"#, "srcaddr"),
            Some(&b"9.9.9.9"[..])
        );
        assert_eq!(get(br#"{"k":"#, "k"), Some(&b""[..]));
    }
}

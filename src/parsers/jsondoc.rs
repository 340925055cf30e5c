//! The members of a JSON document in order, at any depth, for the cloud flow-log readers (Azure, GCP): each value
//! with its key (in an object) and its depth, strings as their raw bytes (escapes left as they are), objects and
//! arrays as an open and an end. Not a validating parser: a document cut anywhere, one that starts in the middle
//! (`,{"time":…}`), or bytes that are no JSON walk on without panicking. No allocation, no IO; strings are skipped
//! with `memchr`.

use memchr::memchr2;

/// One value of the document.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Value<'a> {
    /// A string's bytes between its quotes, escapes as written.
    Str(&'a [u8]),
    /// A number, `true`, `false` or `null`, as written.
    Scalar(&'a [u8]),
    /// `{`: the members that follow, one level deeper, until its [`Value::End`].
    Object,
    /// `[`: the elements that follow, one level deeper, until its [`Value::End`].
    Array,
    /// `}` or `]`.
    End,
}

/// A value and where it stands.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Node<'a> {
    /// The member's key, for a value in an object.
    pub key: Option<&'a [u8]>,
    pub value: Value<'a>,
    /// Containers open around the value (for an `End`, around the container it closes).
    pub depth: u32,
}

/// Iterator over the nodes of a document.
#[derive(Debug, Clone)]
pub struct Walk<'a> {
    text: &'a [u8],
    at: usize,
    depth: u32,
}

impl<'a> Walk<'a> {
    pub fn new(text: &'a [u8]) -> Walk<'a> {
        Walk {
            text,
            at: 0,
            depth: 0,
        }
    }

    /// The string that starts after the quote at `self.at`, and moves past its closing quote (or to the end).
    fn string(&mut self) -> &'a [u8] {
        let start = self.at + 1;
        let mut i = start;
        loop {
            match self
                .text
                .get(i..)
                .and_then(|rest| memchr2(b'"', b'\\', rest))
            {
                Some(k) if self.text.get(i + k) == Some(&b'\\') => i += k + 2,
                Some(k) => {
                    self.at = i + k + 1;
                    return self.text.get(start..i + k).unwrap_or_default();
                }
                None => {
                    self.at = self.text.len();
                    return self.text.get(start..).unwrap_or_default();
                }
            }
        }
    }

    /// True when a `:` follows (after blanks), which it skips: the string was a key.
    fn colon(&mut self) -> bool {
        while let Some(&c) = self.text.get(self.at) {
            match c {
                b' ' | b'\t' | b'\r' | b'\n' => self.at += 1,
                b':' => {
                    self.at += 1;
                    return true;
                }
                _ => return false,
            }
        }
        false
    }
}

impl<'a> Iterator for Walk<'a> {
    type Item = Node<'a>;

    fn next(&mut self) -> Option<Node<'a>> {
        let mut key = None;
        loop {
            let c = *self.text.get(self.at)?;
            let depth = self.depth;
            let node = |value| Some(Node { key, value, depth });
            match c {
                b' ' | b'\t' | b'\r' | b'\n' | b',' | b':' => self.at += 1,
                b'"' => {
                    let s = self.string();
                    if self.colon() {
                        key = Some(s);
                        continue;
                    }
                    return node(Value::Str(s));
                }
                b'{' | b'[' => {
                    self.at += 1;
                    self.depth = self.depth.saturating_add(1);
                    return node(if c == b'{' {
                        Value::Object
                    } else {
                        Value::Array
                    });
                }
                b'}' | b']' => {
                    self.at += 1;
                    self.depth = self.depth.saturating_sub(1);
                    return Some(Node {
                        key: None,
                        value: Value::End,
                        depth: self.depth,
                    });
                }
                _ => {
                    let rest = self.text.get(self.at..)?;
                    let len = rest
                        .iter()
                        .position(|&b| {
                            matches!(
                                b,
                                b',' | b'}' | b']' | b':' | b'"' | b' ' | b'\t' | b'\r' | b'\n'
                            )
                        })
                        .unwrap_or(rest.len())
                        .max(1);
                    self.at += len;
                    return node(Value::Scalar(rest.get(..len)?));
                }
            }
        }
    }
}

/// The text of a string or scalar value (a number may be written either way: `"dest_port": "443"` or `443`).
pub fn text<'a>(value: &Value<'a>) -> Option<&'a [u8]> {
    match *value {
        Value::Str(s) | Value::Scalar(s) => Some(s),
        _ => None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    fn nodes(s: &str) -> Vec<(Option<String>, String, u32)> {
        Walk::new(s.as_bytes())
            .map(|n| {
                let key = n.key.map(|k| String::from_utf8_lossy(k).into_owned());
                let value = match n.value {
                    Value::Str(s) => format!("s:{}", String::from_utf8_lossy(s)),
                    Value::Scalar(s) => format!("n:{}", String::from_utf8_lossy(s)),
                    Value::Object => "{".into(),
                    Value::Array => "[".into(),
                    Value::End => "end".into(),
                };
                (key, value, n.depth)
            })
            .collect()
    }

    fn k(key: &str, value: &str, depth: u32) -> (Option<String>, String, u32) {
        (Some(key.into()), value.into(), depth)
    }

    fn v(value: &str, depth: u32) -> (Option<String>, String, u32) {
        (None, value.into(), depth)
    }

    #[test]
    fn members_in_order_with_keys_and_depths() {
        let got = nodes(r#"{"a": "x\"y", "b":[1, true ,{"c" :null}], "d":{}}"#);
        let want = vec![
            v("{", 0),
            k("a", r#"s:x\"y"#, 1),
            k("b", "[", 1),
            v("n:1", 2),
            v("n:true", 2),
            v("{", 2),
            k("c", "n:null", 3),
            v("end", 2),
            v("end", 1),
            k("d", "{", 1),
            v("end", 1),
            v("end", 0),
        ];
        assert_eq!(got, want);
    }

    #[test]
    fn fragments_and_junk_walk_on() {
        assert_eq!(
            nodes(r#",{"t":1}]}"#),
            vec![
                v("{", 0),
                k("t", "n:1", 1),
                v("end", 0),
                v("end", 0),
                v("end", 0)
            ]
        );
        assert_eq!(nodes(r#"{"open"#), vec![v("{", 0), v("s:open", 1)]);
        assert_eq!(nodes("\"k\":"), vec![]);
        assert_eq!(nodes("@"), vec![v("n:@", 0)]);
    }

    proptest! {
        #[test]
        fn any_bytes_walk_to_the_end(text in proptest::collection::vec(any::<u8>(), 0..300)) {
            let n = Walk::new(&text).count();
            prop_assert!(n <= text.len());
        }
    }
}

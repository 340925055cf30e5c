//! How deeply a YAML text nests its flow collections (`[…]`, `{…}`), found by one byte scan before the text reaches
//! the YAML parser: the parser takes time quadratic in that depth (100,000 nested `[` took 20 s to refuse), while
//! no real config nests more than a few levels. Block collections need a line or an indentation step per level and
//! parse in linear time, so they are left to the parser.
//!
//! The scan knows just enough YAML to count only brackets that open or close a collection: not those inside quoted
//! scalars or comments, nor a `[` inside a plain scalar outside any collection (a glob such as `/var/log/[ab].log`).

/// The deepest nesting of flow collections in `text`, counted until it passes `limit` (the scan stops there).
pub fn flow_depth(text: &str, limit: usize) -> usize {
    let mut depth = 0usize;
    let mut deepest = 0usize;
    // Whether the next non-blank byte starts a token (a value, a key, an item), where `[`, `{` and quotes open.
    let mut token_start = true;
    let mut previous = b'\n';
    let mut bytes = text.bytes();
    while let Some(b) = bytes.next() {
        match b {
            b'"' | b'\'' if token_start || depth > 0 && previous_opens(previous) => {
                skip_quoted(&mut bytes, b);
                token_start = false;
                previous = b;
                continue;
            }
            b'#' if matches!(previous, b' ' | b'\t' | b'\n' | b'\r') => {
                for c in bytes.by_ref() {
                    if c == b'\n' {
                        break;
                    }
                }
                token_start = depth == 0;
                previous = b'\n';
                continue;
            }
            b'[' | b'{' if depth > 0 || token_start => {
                depth += 1;
                deepest = deepest.max(depth);
                if deepest > limit {
                    return deepest;
                }
                token_start = true;
            }
            b']' | b'}' if depth > 0 => {
                depth -= 1;
                token_start = false;
            }
            b',' if depth > 0 => token_start = true,
            b'\n' | b'\r' => token_start = depth == 0 || token_start,
            b' ' | b'\t' => {
                // `key: value`, `- item`, `? key`: what follows the indicator starts a token.
                if matches!(previous, b':' | b'-' | b'?') {
                    token_start = true;
                }
            }
            _ => token_start = false,
        }
        previous = b;
    }
    deepest
}

/// Inside a flow collection, a quote opens a scalar after an indicator or a blank.
fn previous_opens(previous: u8) -> bool {
    matches!(
        previous,
        b'[' | b'{' | b',' | b':' | b' ' | b'\t' | b'\n' | b'\r'
    )
}

/// Skips a quoted scalar up to its closing `quote` (escapes: `\x` in double quotes, `''` in single quotes).
fn skip_quoted(bytes: &mut std::str::Bytes<'_>, quote: u8) {
    while let Some(c) = bytes.next() {
        if quote == b'"' && c == b'\\' {
            bytes.next();
        } else if c == quote {
            if quote == b'\'' && bytes.clone().next() == Some(b'\'') {
                bytes.next();
                continue;
            }
            return;
        }
    }
}

#[cfg(test)]
mod tests {
    use super::flow_depth;

    #[test]
    fn counts_flow_collections() {
        assert_eq!(flow_depth("a: 1\nb: [1, 2]\n", 64), 1);
        assert_eq!(flow_depth("a: {b: [1, {c: [x]}]}\n", 64), 4);
        assert_eq!(flow_depth("- [a]\n- [[b]]\n", 64), 2);
        assert_eq!(flow_depth("[[[[", 64), 4);
        assert_eq!(flow_depth("x: [\n  [\n   [1]]]\n", 64), 3);
    }

    #[test]
    fn stops_past_the_limit() {
        let deep = "[".repeat(100_000);
        assert_eq!(flow_depth(&format!("sources: {deep}"), 64), 65);
    }

    #[test]
    fn brackets_in_scalars_and_comments_do_not_count() {
        let text = "paths: [/var/log/[ab].log]\n";
        // Inside a flow collection a bracket is a bracket (YAML itself reads it so).
        assert_eq!(flow_depth(text, 64), 2);
        let plain = "inputs:\n".to_string() + &"  - paths: /tmp/[\n".repeat(100);
        assert_eq!(flow_depth(&plain, 64), 0);
        assert_eq!(flow_depth("a: \"[[[[\" # [[[[\nb: '[[['' [[['\n", 64), 0);
        assert_eq!(flow_depth("a: it's [not] a quote\n", 64), 0);
        assert_eq!(flow_depth("a: [\"x]\", 'y]', z] # ]\n", 64), 1);
        assert_eq!(flow_depth("url: http://h/#[[[\n", 64), 0);
    }
}

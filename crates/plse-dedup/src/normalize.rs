//! Code normalisation and tokenisation shared by the exact and near-duplicate checks.

use sha2::{Digest, Sha256};

/// Code with comments, trailing whitespace and blank lines removed and runs of spaces
/// collapsed: two samples that differ only in layout or comments normalise to the same text.
pub fn normalize(code: &str) -> String {
    let mut out = String::with_capacity(code.len());
    for line in code.lines() {
        let line = strip_comment(line);
        let mut last_space = true;
        let mut buf = String::new();
        for c in line.trim().chars() {
            if c.is_whitespace() {
                if !last_space {
                    buf.push(' ');
                }
                last_space = true;
            } else {
                buf.push(c);
                last_space = false;
            }
        }
        if !buf.is_empty() {
            out.push_str(buf.trim_end());
            out.push('\n');
        }
    }
    out
}

/// The line without a `#` comment (a `#` inside a string literal is kept).
fn strip_comment(line: &str) -> &str {
    let mut quote: Option<char> = None;
    let mut escaped = false;
    for (i, c) in line.char_indices() {
        match quote {
            Some(q) => {
                if escaped {
                    escaped = false;
                } else if c == '\\' {
                    escaped = true;
                } else if c == q {
                    quote = None;
                }
            }
            None if c == '"' || c == '\'' => quote = Some(c),
            None if c == '#' => return &line[..i],
            None => {}
        }
    }
    line
}

/// SHA-256 of the normalised code: the key of exact deduplication.
pub fn exact_key(code: &str) -> [u8; 32] {
    Sha256::digest(normalize(code).as_bytes()).into()
}

/// Tokens of normalised code: identifier/number runs and single punctuation characters.
pub fn tokens(code: &str) -> Vec<&str> {
    let mut out = Vec::new();
    let mut start: Option<usize> = None;
    for (i, c) in code.char_indices() {
        let word = c.is_alphanumeric() || c == '_';
        match (word, start) {
            (true, None) => start = Some(i),
            (true, Some(_)) => {}
            (false, s) => {
                if let Some(s) = s {
                    out.push(&code[s..i]);
                    start = None;
                }
                if !c.is_whitespace() {
                    out.push(&code[i..i + c.len_utf8()]);
                }
            }
        }
    }
    if let Some(s) = start {
        out.push(&code[s..]);
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn layout_and_comments_do_not_matter() {
        let a = "def f(x):\n    # add one\n    return x + 1   \n\n";
        let b = "def f(x):\n        return  x + 1  # why not\n";
        assert_eq!(exact_key(a), exact_key(b));
        assert_ne!(exact_key(a), exact_key("def f(x):\n    return x + 2\n"));
        assert_eq!(normalize("s = '# not a comment'  # comment"), "s = '# not a comment'\n");
    }

    #[test]
    fn tokens_split_words_and_punctuation() {
        assert_eq!(tokens("x_1 = f(a, 2)"), ["x_1", "=", "f", "(", "a", ",", "2", ")"]);
    }
}

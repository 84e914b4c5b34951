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

/// Python's keywords (and the soft keywords of `match`): kept as they are by [`structure_key`].
const KEYWORDS: &[&str] = &[
    "False", "None", "True", "and", "as", "assert", "async", "await", "break", "case", "class", "continue", "def", "del", "elif", "else",
    "except", "finally", "for", "from", "global", "if", "import", "in", "is", "lambda", "match", "nonlocal", "not", "or", "pass", "raise",
    "return", "try", "while", "with", "yield",
];

/// The shape of code: its normal form with every identifier (keywords kept), string literal
/// and number replaced by a placeholder, as SHA-256. Two samples that differ only in names,
/// strings and constants have the same structure; a different algorithm, control flow or API
/// shape gives another one. (Tuned for Python; other text gets a rougher but stable shape.)
pub fn structure_key(code: &str) -> [u8; 32] {
    let norm = normalize(code);
    let chars: Vec<char> = norm.chars().collect();
    let mut out = String::with_capacity(norm.len() / 2);
    let mut i = 0;
    while i < chars.len() {
        let c = chars[i];
        let word_start = c.is_alphabetic() || c == '_';
        // A string literal, with an optional prefix (`f`, `rb`, ...).
        let prefix = if word_start { chars[i..].iter().take_while(|c| c.is_ascii_alphabetic()).count() } else { 0 };
        let quote_at = i + prefix;
        if prefix <= 2 && matches!(chars.get(quote_at), Some('"' | '\'')) {
            i = skip_string(&chars, quote_at);
            out.push('S');
        } else if word_start {
            let end = i + chars[i..].iter().take_while(|c| c.is_alphanumeric() || **c == '_').count();
            let word: String = chars[i..end].iter().collect();
            out.push_str(if KEYWORDS.contains(&word.as_str()) { &word } else { "I" });
            out.push(' ');
            i = end;
        } else if c.is_ascii_digit() || (c == '.' && chars.get(i + 1).is_some_and(char::is_ascii_digit)) {
            i += chars[i..].iter().take_while(|c| c.is_alphanumeric() || **c == '.' || **c == '_').count();
            out.push('N');
        } else {
            if c != ' ' {
                out.push(c);
            }
            i += 1;
        }
    }
    Sha256::digest(out.as_bytes()).into()
}

/// Index just past the string literal that opens at `start` (single or triple quoted).
fn skip_string(chars: &[char], start: usize) -> usize {
    let q = chars[start];
    let triple = chars.get(start + 1) == Some(&q) && chars.get(start + 2) == Some(&q);
    let mut i = start + if triple { 3 } else { 1 };
    while i < chars.len() {
        match chars[i] {
            '\\' => i += 2,
            c if c == q && !triple => return i + 1,
            c if c == q && chars.get(i + 1) == Some(&q) && chars.get(i + 2) == Some(&q) => return i + 3,
            '\n' if !triple => return i,
            _ => i += 1,
        }
    }
    chars.len()
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
    fn structure_ignores_names_strings_and_numbers() {
        let a = "def add(x, y):\n    return x + y * 2  # sum\n";
        let b = "def plus(left, right):\n    return left + right * 10\n";
        assert_eq!(structure_key(a), structure_key(b));
        assert_eq!(structure_key(r#"name = 'a \' b'"#), structure_key(r#"title = f"{x}""#));
        assert_eq!(structure_key("s = '''one\ntwo'''\n"), structure_key("s = \"x\"\n"));
        // Control flow and operators are structure.
        assert_ne!(structure_key(a), structure_key("def add(x, y):\n    if x:\n        return x\n    return y\n"));
        assert_ne!(structure_key(a), structure_key("def add(x, y):\n    return x - y * 2\n"));
    }

    #[test]
    fn tokens_split_words_and_punctuation() {
        assert_eq!(tokens("x_1 = f(a, 2)"), ["x_1", "=", "f", "(", "a", ",", "2", ")"]);
    }
}

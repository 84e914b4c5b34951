//! `a` or `an`: the article a rendered word needs, where the spelling tells (vowel letters
//! a, e, i, o; consonants but `h`), and the places in a template where an article meets a
//! parameter (`a {{ item }}`) or a literal word ("a item"). Words starting with `u` or `h`,
//! acronyms and numbers are left alone: their sound is not in their spelling.

use std::ops::Range;

/// An indefinite article.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Article {
    /// `a`.
    A,
    /// `an`.
    An,
}

impl Article {
    fn parse(word: &str) -> Option<Self> {
        match word {
            "a" | "A" => Some(Self::A),
            "an" | "An" => Some(Self::An),
            _ => None,
        }
    }

    /// The spelling.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::A => "a",
            Self::An => "an",
        }
    }
}

/// The article `word` needs, when its spelling tells.
pub fn wanted(word: &str) -> Option<Article> {
    // A name in backticks may be read letter by letter ("an `fsync`"): only its vowels tell.
    let code = word.starts_with('`');
    let word = word.trim_start_matches(['`', '"', '\'', '(', '*', '_']);
    let first = word.chars().next()?;
    if !first.is_ascii_alphabetic()
        || (word.len() > 1 && word.chars().take_while(char::is_ascii_alphabetic).all(|c| c.is_ascii_uppercase()))
    {
        return None; // numbers, symbols, acronyms (an SQL, a URL)
    }
    let lower = word.to_ascii_lowercase();
    if ["one", "once", "eu", "ewe"].iter().any(|p| lower.starts_with(p)) {
        return Some(Article::A);
    }
    match first.to_ascii_lowercase() {
        'a' | 'e' | 'i' | 'o' => Some(Article::An),
        'u' | 'h' => None,
        _ if code => None,
        _ => Some(Article::A),
    }
}

/// An article directly before a `{{ expression }}` in a template.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Site {
    /// Which article.
    pub article: Article,
    /// From the article to the end of the `}}`, in the template text.
    pub range: Range<usize>,
    /// The expression inside the braces.
    pub expr: String,
    /// The value is shown in backticks (`a `{{ x }}``): a name that may be read letter by letter.
    pub code: bool,
}

fn is_word_char(c: char) -> bool {
    c.is_alphanumeric() || c == '_'
}

/// Articles followed by an expression: `a {{ item }}`, `An {{- kind }}`.
pub fn sites(template: &str) -> Vec<Site> {
    let mut out = Vec::new();
    for (open, _) in template.match_indices("{{") {
        // `a {{ x }}`, and `a `{{ x }}`` (the value in backticks or quotes).
        let quoted = template[..open].trim_end_matches(['`', '"', '*']);
        let before = quoted.trim_end();
        let word_start = before.char_indices().rev().find(|(_, c)| !is_word_char(*c)).map_or(0, |(i, c)| i + c.len_utf8());
        let Some(article) = Article::parse(&before[word_start..]) else { continue };
        if before.len() == quoted.len() {
            continue; // `a{{ x }}`: part of a word, not an article
        }
        let Some(close) = template[open..].find("}}") else { continue };
        let expr = template[open + 2..open + close].trim_matches(|c: char| c == '-' || c == '+' || c.is_whitespace());
        let code = template[..open].ends_with('`');
        out.push(Site { article, range: word_start..open + close + 2, expr: expr.to_owned(), code });
    }
    out
}

/// Literal article mistakes in the template's text outside `{{ }}` and `{% %}`: the range of
/// "a item" and what it should say.
pub fn literal_mistakes(template: &str) -> Vec<(Range<usize>, String)> {
    let mut out = Vec::new();
    let words: Vec<(usize, &str)> = word_spans(template);
    for pair in words.windows(2) {
        let ((at, first), (next_at, next)) = (pair[0], pair[1]);
        if in_tag(template, at) || in_tag(template, next_at) {
            continue;
        }
        let Some(article) = Article::parse(first) else { continue };
        // Only when the two words are separated by plain spaces (not a line of code).
        if !template[at + first.len()..next_at].chars().all(|c| c == ' ') {
            continue;
        }
        if let Some(want) = wanted(next)
            && want != article
        {
            out.push((at..next_at + next.len(), format!("{} {next}", want.as_str())));
        }
    }
    out
}

fn word_spans(text: &str) -> Vec<(usize, &str)> {
    let mut out = Vec::new();
    let mut start: Option<usize> = None;
    for (i, c) in text.char_indices() {
        match (is_word_char(c) || c == '`', start) {
            (true, None) => start = Some(i),
            (false, Some(s)) => {
                out.push((s, &text[s..i]));
                start = None;
            }
            _ => {}
        }
    }
    if let Some(s) = start {
        out.push((s, &text[s..]));
    }
    out
}

/// Whether byte `at` lies inside a `{{ }}` or `{% %}` tag.
fn in_tag(text: &str, at: usize) -> bool {
    let before = &text[..at];
    let open = before.rfind("{{").max(before.rfind("{%"));
    let close = before.rfind("}}").max(before.rfind("%}"));
    match (open, close) {
        (Some(o), Some(c)) => o > c,
        (Some(_), None) => true,
        _ => false,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn articles_by_spelling() {
        assert_eq!(wanted("item"), Some(Article::An));
        assert_eq!(wanted("list"), Some(Article::A));
        assert_eq!(wanted("`int`"), Some(Article::An));
        assert_eq!(wanted("`fsync`"), None, "read as eff-sync");
        assert_eq!(wanted("user"), None);
        assert_eq!(wanted("hour"), None);
        assert_eq!(wanted("URL"), None);
        assert_eq!(wanted("one-off"), Some(Article::A));
        assert_eq!(wanted("8-bit"), None);
    }

    #[test]
    fn finds_sites_and_literal_mistakes() {
        let t = "Add a {{ item }} to an {{- kind }} of data{{ x }}; a apple, an list, a {% if y %}x{% endif %}, a `{{ cls }}`.";
        let s = sites(t);
        assert_eq!(s.len(), 3);
        assert_eq!((s[2].article, s[2].expr.as_str()), (Article::A, "cls"));
        assert_eq!((s[0].article, s[0].expr.as_str(), &t[s[0].range.clone()]), (Article::A, "item", "a {{ item }}"));
        assert_eq!((s[1].article, s[1].expr.as_str()), (Article::An, "kind"));
        let m: Vec<String> = literal_mistakes(t).into_iter().map(|(r, fix)| format!("{} -> {fix}", &t[r])).collect();
        assert_eq!(m, ["a apple -> an apple", "an list -> a list"]);
        // Characters of several bytes before, after and between are fine.
        let t = "3×4 → a {{ item }} ≥ an élan, a ünit, ×a {{ x }}→";
        assert_eq!(sites(t).iter().map(|s| s.expr.as_str()).collect::<Vec<_>>(), ["item", "x"]);
        assert!(literal_mistakes(t).is_empty(), "{:?}", literal_mistakes(t));
        assert!(sites("→{{ x }}").is_empty() && sites("a→{{ x }}").is_empty());
    }
}

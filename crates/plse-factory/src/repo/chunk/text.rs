//! Text files (Markdown, YAML, TOML, JSON, shell, CSS, anything else) by blank-line separated
//! blocks.
//!
//! A file is one span (Markdown: one per section, named by its heading; a `#` inside a fenced
//! code block is not a heading), cut to the text line cap after the last line of a block.
//! For YAML and TOML a line before a new top-level key or table is a better cut than a blank
//! line; inside a Markdown code fence a blank line is a worse one.

use super::{Boundary, ChunkKind, Span, sorted};
use crate::repo::language::Language;
use crate::repo::lines::is_blank;

/// The spans of a text file and where they may be cut.
pub(crate) fn spans(path: &str, language: Language, lines: &[&str]) -> (Vec<Span>, Vec<Boundary>) {
    if lines.is_empty() {
        return (Vec::new(), Vec::new());
    }
    if language == Language::Markdown {
        return markdown(path, lines);
    }
    let structured = matches!(language, Language::Yaml | Language::Toml);
    let mut boundaries = Vec::new();
    for (i, pair) in lines.windows(2).enumerate() {
        let (line, next) = (pair[0], pair[1]);
        if is_blank(line) {
            continue;
        }
        if structured && starts_top_level(language, next) {
            boundaries.push(Boundary { line: i + 1, depth: 0 });
        } else if is_blank(next) {
            boundaries.push(Boundary { line: i + 1, depth: usize::from(structured) });
        }
    }
    (vec![Span::new(ChunkKind::Text, path, 1, lines.len())], sorted(boundaries))
}

/// A YAML key or TOML table at column 0.
fn starts_top_level(language: Language, line: &str) -> bool {
    let first = line.chars().next();
    match language {
        Language::Toml => first == Some('['),
        _ => first.is_some_and(|c| !c.is_whitespace() && c != '#' && c != '-') && !line.starts_with("..."),
    }
}

/// One span per section; a heading starts a section and names it.
fn markdown(path: &str, lines: &[&str]) -> (Vec<Span>, Vec<Boundary>) {
    let mut spans = Vec::new();
    let mut boundaries = Vec::new();
    let mut section = Span::new(ChunkKind::Text, path, 1, 0);
    let mut fence: Option<&str> = None;
    for (i, line) in lines.iter().enumerate() {
        let n = i + 1;
        let trimmed = line.trim_start();
        let marker = ["```", "~~~"].into_iter().find(|m| trimmed.starts_with(m));
        match (fence, marker) {
            (None, Some(m)) => fence = Some(m),
            (Some(open), Some(m)) if open == m => {
                fence = None;
                boundaries.push(Boundary { line: n, depth: 0 });
            }
            (None, None) => {
                if let Some(title) = heading(line) {
                    if n > section.start {
                        section.end = n - 1;
                        spans.push(section);
                    }
                    section = Span::new(ChunkKind::Text, title, n, 0);
                }
            }
            _ => {}
        }
        let next_blank = lines.get(i + 1).is_some_and(|l| is_blank(l));
        if !is_blank(line) && next_blank {
            boundaries.push(Boundary { line: n, depth: usize::from(fence.is_some()) });
        }
    }
    section.end = lines.len();
    spans.push(section);
    (spans, sorted(boundaries))
}

/// The text of an ATX heading (`## Title ##` → `Title`), if the line is one.
fn heading(line: &str) -> Option<String> {
    let hashes = line.chars().take_while(|&c| c == '#').count();
    let rest = &line[hashes..];
    if !(1..=6).contains(&hashes) || !(rest.is_empty() || rest.starts_with([' ', '\t'])) {
        return None;
    }
    let title = rest.trim().trim_end_matches('#').trim();
    Some(title.to_owned()).filter(|t| !t.is_empty())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn headings() {
        assert_eq!(heading("## Install ##"), Some("Install".into()));
        assert_eq!(heading("#hashtag"), None);
        assert_eq!(heading("####### seven"), None);
        assert_eq!(heading("#"), None);
        assert_eq!(heading("not # a heading"), None);
    }

    #[test]
    fn fenced_hashes_are_not_headings() {
        let lines = ["# Guide", "", "```sh", "# a comment", "```", "", "## Next"];
        let (spans, _) = markdown("g.md", &lines);
        let names: Vec<(&str, usize, usize)> = spans.iter().map(|s| (s.name.as_str(), s.start, s.end)).collect();
        assert_eq!(names, vec![("Guide", 1, 6), ("Next", 7, 7)]);
    }
}

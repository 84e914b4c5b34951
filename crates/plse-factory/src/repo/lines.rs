//! Lines of a text, numbered from 1: a line ends at `\n`, and a `\r` right before it belongs to
//! the line break. A final line break does not start another line, so `"a\n"` has one line and
//! `""` none.

/// Where each line of a text starts.
#[derive(Debug, Clone, Default)]
pub(crate) struct LineStarts(Vec<usize>);

impl LineStarts {
    /// The line table of `text`.
    pub(crate) fn new(text: &str) -> Self {
        let mut starts = vec![0];
        starts.extend(text.match_indices('\n').map(|(i, _)| i + 1));
        if starts.last() == Some(&text.len()) {
            starts.pop();
        }
        Self(starts)
    }

    /// How many lines the text has.
    pub(crate) fn len(&self) -> usize {
        self.0.len()
    }

    /// The byte offset where line `n` (1-based) starts.
    pub(crate) fn offset(&self, n: usize) -> Option<usize> {
        n.checked_sub(1).and_then(|i| self.0.get(i)).copied()
    }

    /// Line `n` (1-based) of `text` without its line break; `""` for a line that does not exist.
    pub(crate) fn line<'t>(&self, text: &'t str, n: usize) -> &'t str {
        let Some(&start) = n.checked_sub(1).and_then(|i| self.0.get(i)) else {
            return "";
        };
        let end = self.0.get(n).copied().unwrap_or(text.len());
        let line = text.get(start..end).unwrap_or("");
        let line = line.strip_suffix('\n').unwrap_or(line);
        line.strip_suffix('\r').unwrap_or(line)
    }

    /// Every line of `text`, in order (index 0 is line 1).
    pub(crate) fn all<'t>(&self, text: &'t str) -> Vec<&'t str> {
        (1..=self.len()).map(|n| self.line(text, n)).collect()
    }
}

/// Lines `start..=end` (1-based) of `lines` joined by `\n`.
pub(crate) fn join(lines: &[&str], start: usize, end: usize) -> String {
    let from = start.saturating_sub(1).min(lines.len());
    let to = end.min(lines.len()).max(from);
    lines[from..to].join("\n")
}

/// Whether a line holds nothing but whitespace.
pub(crate) fn is_blank(line: &str) -> bool {
    line.trim().is_empty()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn lines(text: &str) -> Vec<&str> {
        LineStarts::new(text).all(text)
    }

    #[test]
    fn line_breaks() {
        assert_eq!(lines(""), Vec::<&str>::new());
        assert_eq!(lines("\n"), vec![""]);
        assert_eq!(lines("a"), vec!["a"]);
        assert_eq!(lines("a\n"), vec!["a"]);
        assert_eq!(lines("a\r\nb\r\n"), vec!["a", "b"]);
        assert_eq!(lines("a\n\nb"), vec!["a", "", "b"]);
        assert_eq!(lines("a\rb\n"), vec!["a\rb"]);
    }

    #[test]
    fn out_of_range() {
        let text = "a\nb";
        let table = LineStarts::new(text);
        assert_eq!(table.line(text, 0), "");
        assert_eq!(table.line(text, 3), "");
        assert_eq!(join(&table.all(text), 2, 9), "b");
        assert_eq!(join(&table.all(text), 5, 9), "");
    }
}

//! The text of one pattern file and the mapping from byte offsets to `line:col`.

/// One pattern file's name (as shown in diagnostics) and text.
#[derive(Debug, Clone)]
pub struct SourceFile {
    name: String,
    text: String,
    line_starts: Vec<usize>,
}

impl SourceFile {
    /// Wraps `text` under a display `name` (usually the path relative to the working dir).
    pub fn new(name: impl Into<String>, text: impl Into<String>) -> Self {
        let text = text.into();
        let line_starts = std::iter::once(0).chain(text.match_indices('\n').map(|(i, _)| i + 1)).collect();
        Self { name: name.into(), text, line_starts }
    }

    /// The display name.
    pub fn name(&self) -> &str {
        &self.name
    }

    /// The whole text.
    pub fn text(&self) -> &str {
        &self.text
    }

    /// 1-based line and 1-based column (in characters) of a byte offset. The end of a file
    /// that ends with a newline is placed after its last line, as the rendered snippet shows
    /// it, not on a line that does not exist.
    pub fn line_col(&self, offset: usize) -> (usize, usize) {
        let offset = self.clamp(offset);
        let mut line = self.line_starts.partition_point(|&s| s <= offset) - 1;
        if offset == self.text.len() && line > 0 && self.line_starts[line] == offset {
            line -= 1;
        }
        let col = self.text[self.line_starts[line]..offset].chars().count();
        (line + 1, col + 1)
    }

    /// Byte offset of the start of a 1-based line (clamped to the end of the text).
    pub fn line_start(&self, line: usize) -> usize {
        self.line_starts.get(line.saturating_sub(1)).copied().unwrap_or(self.text.len())
    }

    /// Byte offset just past the last non-newline byte of a 1-based line.
    pub fn line_end(&self, line: usize) -> usize {
        let next = self.line_starts.get(line).copied().unwrap_or(self.text.len());
        let mut end = next.max(self.line_start(line));
        let bytes = self.text.as_bytes();
        while end > self.line_start(line) && matches!(bytes[end - 1], b'\n' | b'\r') {
            end -= 1;
        }
        end
    }

    /// Byte offset of a 1-based line and a 0-based character column on it.
    pub fn offset_of(&self, line: usize, char_col: usize) -> usize {
        let start = self.line_start(line);
        let end = self.line_end(line);
        self.text[start..end].char_indices().nth(char_col).map_or(end, |(i, _)| start + i)
    }

    /// Clamps an offset into the text and onto a char boundary.
    pub fn clamp(&self, offset: usize) -> usize {
        let mut offset = offset.min(self.text.len());
        while !self.text.is_char_boundary(offset) {
            offset -= 1;
        }
        offset
    }
}

#[cfg(test)]
mod tests {
    use super::SourceFile;

    #[test]
    fn end_of_file_after_a_newline_is_on_the_last_line() {
        let src = SourceFile::new("f", "a: [x\n");
        assert_eq!(src.line_col(6), (1, 7));
        assert_eq!(SourceFile::new("f", "").line_col(0), (1, 1));
        assert_eq!(SourceFile::new("f", "a\n\n").line_col(3), (2, 2));
    }

    #[test]
    fn line_col_counts_chars_not_bytes() {
        let src = SourceFile::new("f", "ab\nçd: x\n");
        assert_eq!(src.line_col(0), (1, 1));
        assert_eq!(src.line_col(3), (2, 1));
        // 'ç' is two bytes; ':' is the 2nd char after it.
        assert_eq!(src.line_col(6), (2, 3));
        assert_eq!(src.offset_of(2, 2), 6);
        assert_eq!(src.line_end(2), 9);
    }
}

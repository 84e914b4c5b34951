//! Printing diagnostics and tables.

use std::io::IsTerminal;

use plse_schema::{Diagnostic, LoadedFile, RenderStyle, render_all};

/// Colours on a terminal unless NO_COLOR is set.
pub fn style() -> RenderStyle {
    if std::io::stderr().is_terminal() && std::env::var_os("NO_COLOR").is_none() { RenderStyle::Styled } else { RenderStyle::Plain }
}

/// Prints a file's diagnostics to stderr.
pub fn print_diagnostics(file: &LoadedFile, extra: &[Diagnostic]) {
    let all: Vec<Diagnostic> = file.diagnostics.iter().chain(extra).cloned().collect();
    if !all.is_empty() {
        eprint!("{}", render_all(&all, &file.source, style()));
    }
}

/// Left-aligned columns, two spaces apart, with a header rule.
pub fn table(header: &[&str], rows: &[Vec<String>]) -> String {
    let cols = header.len();
    let mut widths: Vec<usize> = header.iter().map(|h| h.chars().count()).collect();
    for row in rows {
        for (i, cell) in row.iter().enumerate().take(cols) {
            widths[i] = widths[i].max(cell.chars().count());
        }
    }
    let line = |cells: Vec<&str>| -> String {
        let mut s = String::new();
        for (i, c) in cells.iter().enumerate() {
            s.push_str(c);
            if i + 1 < cells.len() {
                s.push_str(&" ".repeat(widths[i] - c.chars().count() + 2));
            }
        }
        s.trim_end().to_owned() + "\n"
    };
    let mut out = line(header.to_vec());
    out.push_str(&line(widths.iter().map(|w| "─".repeat(*w)).collect::<Vec<_>>().iter().map(String::as_str).collect()));
    for row in rows {
        out.push_str(&line(row.iter().map(String::as_str).collect()));
    }
    out
}

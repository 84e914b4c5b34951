//! The Markdown pieces of a row: fenced code blocks with a language tag, and prose reflowed
//! from YAML's hard-wrapped lines.

use std::fmt::Write;

use plse_schema::{Artifact, ArtifactKind};

use crate::row::TrainingRow;

/// The exchange of a row as a reviewer reads it (what `plse-batch render` prints after the
/// sample).
pub fn row_text(row: &TrainingRow) -> String {
    let mut out = String::new();
    let _ = writeln!(out, "\n# training row · task {}", row.task);
    for m in &row.messages {
        let _ = writeln!(out, "\n## {}\n{}", m.role, m.content);
    }
    out
}

/// The language tag of a fenced block holding `code` written as `artifact`.
pub fn language(artifact: &Artifact, code: &str) -> &'static str {
    match artifact.kind {
        ArtifactKind::Python => "python",
        ArtifactKind::Toml => "toml",
        ArtifactKind::Yaml => "yaml",
        ArtifactKind::Dockerfile => "dockerfile",
        ArtifactKind::Shell => {
            let first = code.lines().next().unwrap_or("");
            if first.starts_with("#!") && first.contains("bash") { "bash" } else { "sh" }
        }
        ArtifactKind::Text => {
            let name = artifact.path.as_deref().unwrap_or("").rsplit('/').next().unwrap_or("");
            let ext = name.rsplit_once('.').map_or("", |(_, e)| e);
            match (name, ext) {
                ("Makefile" | "makefile" | "GNUmakefile", _) | (_, "mk") => "makefile",
                (_, "ini" | "cfg" | "conf") => "ini",
                (_, "json") => "json",
                (_, "md") => "markdown",
                (_, "sql") => "sql",
                _ => "text",
            }
        }
    }
}

/// `code` in a fenced block tagged `lang`. The fence is longer than any run of backticks
/// inside the code, so the block always closes where it should.
pub fn code_block(code: &str, lang: &str) -> String {
    let longest = code.split(|c| c != '`').map(str::len).max().unwrap_or(0);
    let fence = "`".repeat(longest.max(2) + 1);
    format!("{fence}{lang}\n{}\n{fence}", code.trim_end_matches('\n'))
}

/// The code block of an artifact, preceded by its file name when the pattern names one
/// (`pyproject.toml`, `Dockerfile`): the reader needs to know which file it is.
pub fn artifact_block(artifact: &Artifact, code: &str) -> String {
    let block = code_block(code, language(artifact, code));
    match (&artifact.kind, &artifact.path) {
        (ArtifactKind::Python, _) | (_, None) => block,
        (_, Some(path)) => format!("`{path}`:\n\n{block}"),
    }
}

/// Prose written in a YAML block scalar, reflowed: the line breaks inside a paragraph are
/// hard wraps, not sentence breaks, so they become spaces. Paragraphs (blank lines), list
/// items, headings, tables, fenced and indented code keep their lines.
pub fn reflow(text: &str) -> String {
    let mut out: Vec<String> = Vec::new();
    let mut para: Option<String> = None;
    let mut fence: Option<String> = None;
    let (mut blank_before, mut in_code) = (true, false);
    for line in text.lines() {
        let trimmed = line.trim();
        if let Some(f) = &fence {
            out.push(line.to_owned());
            if trimmed.starts_with(f.as_str()) && trimmed.trim_start_matches(['`', '~']).is_empty() {
                fence = None;
            }
            continue;
        }
        if trimmed.is_empty() {
            out.extend(para.take());
            if out.last().is_some_and(|l| !l.is_empty()) {
                out.push(String::new());
            }
            blank_before = true;
            continue;
        }
        let starts_block = trimmed.starts_with("```") || trimmed.starts_with("~~~");
        let code_line = line.starts_with("    ") && para.is_none() && (blank_before || in_code);
        let after_block = !blank_before && out.last().is_some_and(|l| l.starts_with("    ") || l.starts_with('|'));
        blank_before = false;
        in_code = code_line;
        if starts_block {
            out.extend(para.take());
            fence = Some(trimmed.chars().take_while(|c| *c == '`' || *c == '~').collect());
            out.push(line.to_owned());
        } else if code_line || trimmed.starts_with('|') {
            out.extend(para.take());
            out.push(line.trim_end().to_owned());
        } else if is_list_item(trimmed) || trimmed.starts_with('#') {
            // A list item or heading starts a block its continuation lines join.
            out.extend(para.take());
            para = Some(trimmed.to_owned());
        } else if let Some(p) = &mut para {
            p.push(' ');
            p.push_str(trimmed);
        } else {
            if after_block {
                out.push(String::new());
            }
            para = Some(trimmed.to_owned());
        }
    }
    out.extend(para);
    while out.last().is_some_and(String::is_empty) {
        out.pop();
    }
    out.join("\n")
}

fn is_list_item(line: &str) -> bool {
    if let Some(rest) = line.strip_prefix(['-', '*', '+']) {
        return rest.starts_with(' ');
    }
    let digits = line.chars().take_while(char::is_ascii_digit).count();
    digits > 0 && digits < 4 && line[digits..].starts_with(['.', ')']) && line[digits + 1..].starts_with(' ')
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reflow_joins_hard_wraps_and_keeps_structure() {
        let text = "The flaw: the default is evaluated\nonce, when `def` runs.\n\nTwo ways out:\n- a `None`\n  sentinel;\n- never mutate.\n\n```python\nx = 1\n\ny = 2\n```\nAfter the\nblock.\n";
        let want = "The flaw: the default is evaluated once, when `def` runs.\n\nTwo ways out:\n- a `None` sentinel;\n- never mutate.\n\n```python\nx = 1\n\ny = 2\n```\nAfter the block.";
        assert_eq!(reflow(text), want);
        assert_eq!(reflow("one\n\n\n\ntwo\n"), "one\n\ntwo");
        assert_eq!(reflow("1. first\n2. second\ncontinued\n"), "1. first\n2. second continued");
        assert_eq!(reflow("Code:\n\n    x = 1\n    y = 2\n\nEnd.\n"), "Code:\n\n    x = 1\n    y = 2\n\nEnd.");
    }

    #[test]
    fn fences_outlast_backticks_in_the_code() {
        assert_eq!(code_block("x = 1\n", "python"), "```python\nx = 1\n```");
        assert_eq!(code_block("s = '````'", "python"), "`````python\ns = '````'\n`````");
        let docker = Artifact { kind: ArtifactKind::Dockerfile, path: Some("Dockerfile".into()) };
        assert_eq!(artifact_block(&docker, "FROM x\n"), "`Dockerfile`:\n\n```dockerfile\nFROM x\n```");
        let make = Artifact { kind: ArtifactKind::Text, path: Some("Makefile".into()) };
        assert_eq!(language(&make, ""), "makefile");
        let sh = Artifact { kind: ArtifactKind::Shell, path: None };
        assert_eq!(language(&sh, "#!/usr/bin/env bash\n"), "bash");
    }
}

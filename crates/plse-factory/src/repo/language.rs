//! A file's language, from its extension (or, for a file without one, its `#!` line).

use std::fmt;

use serde::Serialize;

/// The language of a source file; it decides how the file is chunked.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Language {
    /// `.py`, `.pyi`, `.pyw`: chunked from a tree-sitter syntax tree.
    Python,
    /// `.rs`.
    Rust,
    /// `.js`, `.mjs`, `.cjs`, `.jsx`.
    JavaScript,
    /// `.ts`, `.tsx`, `.mts`, `.cts`.
    TypeScript,
    /// `.go`.
    Go,
    /// `.java`.
    Java,
    /// `.c`, `.h`.
    C,
    /// `.cc`, `.cpp`, `.cxx`, `.hh`, `.hpp`, `.hxx`, `.ipp`, `.inl`.
    Cpp,
    /// `.sh`, `.bash`, `.zsh`, `.ksh`.
    Shell,
    /// `.yaml`, `.yml`.
    Yaml,
    /// `.toml`.
    Toml,
    /// `.json`, `.jsonc`.
    Json,
    /// `.md`, `.markdown`.
    Markdown,
    /// `.css`, `.scss`, `.sass`, `.less`.
    Css,
    /// Any other text file.
    Text,
}

/// How a language is chunked.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Family {
    /// A real parser.
    Python,
    /// Brace-balanced blocks.
    Braces,
    /// Blank-line separated blocks.
    Text,
}

impl Language {
    /// The language of the file at `path` (repository-relative), whose first line is
    /// `first_line` (consulted only when the name has no extension).
    pub fn detect(path: &str, first_line: &str) -> Self {
        let name = path.rsplit('/').next().unwrap_or(path);
        match name.rsplit_once('.') {
            Some((stem, ext)) if !stem.is_empty() => Self::from_extension(&ext.to_ascii_lowercase()),
            _ => Self::from_shebang(first_line),
        }
    }

    fn from_extension(ext: &str) -> Self {
        match ext {
            "py" | "pyi" | "pyw" => Self::Python,
            "rs" => Self::Rust,
            "js" | "mjs" | "cjs" | "jsx" => Self::JavaScript,
            "ts" | "tsx" | "mts" | "cts" => Self::TypeScript,
            "go" => Self::Go,
            "java" => Self::Java,
            "c" | "h" => Self::C,
            "cc" | "cpp" | "cxx" | "c++" | "hh" | "hpp" | "hxx" | "h++" | "ipp" | "inl" => Self::Cpp,
            "sh" | "bash" | "zsh" | "ksh" => Self::Shell,
            "yaml" | "yml" => Self::Yaml,
            "toml" => Self::Toml,
            "json" | "jsonc" => Self::Json,
            "md" | "markdown" => Self::Markdown,
            "css" | "scss" | "sass" | "less" => Self::Css,
            _ => Self::Text,
        }
    }

    fn from_shebang(first_line: &str) -> Self {
        let Some(command) = first_line.strip_prefix("#!") else {
            return Self::Text;
        };
        let words: Vec<&str> = command.split_whitespace().collect();
        let program = match words.as_slice() {
            [env, program, ..] if env.ends_with("/env") => *program,
            [path, ..] => path.rsplit('/').next().unwrap_or(path),
            [] => "",
        };
        if program.starts_with("python") {
            Self::Python
        } else if matches!(program, "sh" | "bash" | "zsh" | "ksh" | "dash") {
            Self::Shell
        } else {
            Self::Text
        }
    }

    /// The language's name as chunks and snapshots show it.
    pub fn name(self) -> &'static str {
        match self {
            Self::Python => "python",
            Self::Rust => "rust",
            Self::JavaScript => "javascript",
            Self::TypeScript => "typescript",
            Self::Go => "go",
            Self::Java => "java",
            Self::C => "c",
            Self::Cpp => "cpp",
            Self::Shell => "shell",
            Self::Yaml => "yaml",
            Self::Toml => "toml",
            Self::Json => "json",
            Self::Markdown => "markdown",
            Self::Css => "css",
            Self::Text => "text",
        }
    }

    pub(crate) fn family(self) -> Family {
        match self {
            Self::Python => Family::Python,
            Self::Rust | Self::JavaScript | Self::TypeScript | Self::Go | Self::Java | Self::C | Self::Cpp => Family::Braces,
            _ => Family::Text,
        }
    }
}

impl fmt::Display for Language {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn by_extension_and_shebang() {
        assert_eq!(Language::detect("pkg/a.py", ""), Language::Python);
        assert_eq!(Language::detect("src/Main.JAVA", ""), Language::Java);
        assert_eq!(Language::detect("x.tsx", ""), Language::TypeScript);
        assert_eq!(Language::detect("Makefile", ""), Language::Text);
        assert_eq!(Language::detect(".bashrc", "#!/bin/bash"), Language::Shell);
        assert_eq!(Language::detect("bin/tool", "#!/usr/bin/env python3 -u"), Language::Python);
        assert_eq!(Language::detect("bin/run", "#!/bin/sh"), Language::Shell);
        assert_eq!(Language::detect("bin/x", "#!"), Language::Text);
    }
}

//! Diagnostics: one problem in a pattern file, with a span, rendered rustc-style.
//!
//! The same rendering runs natively and in the browser, so the text is part of the product
//! and is snapshot-tested.

use std::ops::Range;

use annotate_snippets::{AnnotationKind, Group, Level, Renderer, Snippet};
use serde::Serialize;

use crate::source::SourceFile;

/// How bad a diagnostic is. Errors make a pattern unusable; warnings do not.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Severity {
    /// Advice: the pattern still loads and renders.
    Warning,
    /// The pattern cannot be used until this is fixed.
    Error,
}

/// What kind of problem a diagnostic reports. Shown as `error[code]`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum Code {
    /// The file is larger than a pattern may be.
    FileTooLarge,
    /// The file is not valid UTF-8.
    InvalidUtf8,
    /// The file holds no YAML document.
    EmptyFile,
    /// The YAML scanner or parser rejected the text.
    YamlSyntax,
    /// The document exceeds a structural limit (nesting, alias expansion, several documents).
    YamlLimit,
    /// A YAML feature PLSE does not accept (custom tags, non-scalar keys).
    YamlUnsupported,
    /// A mapping repeats a key.
    DuplicateKey,
    /// A required field is absent.
    MissingField,
    /// A field that the schema does not know.
    UnknownField,
    /// A field whose value has the wrong YAML type.
    WrongType,
    /// A value of the right type that is not allowed (unknown difficulty, bad identifier, ...).
    InvalidValue,
    /// A field that needs `plse_version: "3"` in a file that declares `"2.0"`.
    NeedsVersion3,
    /// `template` and `components` both present, or neither.
    CodeSource,
    /// A constraint list (`options`) is empty.
    EmptyOptions,
    /// A range whose `min` is greater than its `max`, or a bad `step`.
    BadRange,
    /// A default that is not one of the options or lies outside the range.
    DefaultOutOfConstraints,
    /// A parameter name that is a Jinja keyword or a name the renderer provides.
    ReservedName,
    /// A Jinja template that does not parse.
    TemplateSyntax,
    /// A template uses a variable that is not a parameter.
    UndefinedVariable,
    /// Two files of one library declare the same `pattern_id`.
    DuplicatePatternId,
    /// Rendering a template failed (fuel, recursion, a runtime error).
    RenderError,
    /// A parameter no template uses: drawing it changes nothing.
    UnusedParameter,
    /// The pattern has no unit-test snippets, so no sample of it can be validated.
    NoTests,
    /// A paired anti-pattern rendered the same code on both sides.
    IdenticalSides,
    /// Every seed rendered the same code: the parameters add no variety.
    NoVariety,
    /// A template rendered to nothing where content is required (code, instruction).
    EmptyOutput,
    /// `a` before a word that starts with a vowel sound, or `an` before a consonant, in the
    /// rendered text of an instruction, explanation or answer.
    Article,
}

impl Code {
    /// The kebab-case name shown in `error[...]`.
    pub fn as_str(self) -> &'static str {
        match self {
            Code::FileTooLarge => "file-too-large",
            Code::InvalidUtf8 => "invalid-utf8",
            Code::EmptyFile => "empty-file",
            Code::YamlSyntax => "yaml-syntax",
            Code::YamlLimit => "yaml-limit",
            Code::YamlUnsupported => "yaml-unsupported",
            Code::DuplicateKey => "duplicate-key",
            Code::MissingField => "missing-field",
            Code::UnknownField => "unknown-field",
            Code::WrongType => "wrong-type",
            Code::InvalidValue => "invalid-value",
            Code::NeedsVersion3 => "needs-version-3",
            Code::CodeSource => "code-source",
            Code::EmptyOptions => "empty-options",
            Code::BadRange => "bad-range",
            Code::DefaultOutOfConstraints => "default-out-of-constraints",
            Code::ReservedName => "reserved-name",
            Code::TemplateSyntax => "template-syntax",
            Code::UndefinedVariable => "undefined-variable",
            Code::DuplicatePatternId => "duplicate-pattern-id",
            Code::RenderError => "render-error",
            Code::UnusedParameter => "unused-parameter",
            Code::NoTests => "no-tests",
            Code::IdenticalSides => "identical-sides",
            Code::NoVariety => "no-variety",
            Code::EmptyOutput => "empty-output",
            Code::Article => "article",
        }
    }
}

/// One problem, located by a byte span in its file.
#[derive(Debug, Clone, PartialEq)]
pub struct Diagnostic {
    /// Error or warning.
    pub severity: Severity,
    /// The kind of problem.
    pub code: Code,
    /// One line saying what is wrong.
    pub message: String,
    /// Byte range in the file; may be empty (points between two characters).
    pub span: Range<usize>,
    /// Short text under the carets.
    pub label: String,
    /// How to fix it, when we know.
    pub help: Option<String>,
    /// Further context (e.g. where a duplicate was first defined).
    pub notes: Vec<String>,
}

impl Diagnostic {
    /// An error at `span`.
    pub fn error(code: Code, span: Range<usize>, message: impl Into<String>) -> Self {
        Self { severity: Severity::Error, code, message: message.into(), span, label: String::new(), help: None, notes: Vec::new() }
    }

    /// A warning at `span`.
    pub fn warning(code: Code, span: Range<usize>, message: impl Into<String>) -> Self {
        Self { severity: Severity::Warning, ..Self::error(code, span, message) }
    }

    /// Sets the label shown under the carets.
    #[must_use]
    pub fn with_label(mut self, label: impl Into<String>) -> Self {
        self.label = label.into();
        self
    }

    /// Sets the help line.
    #[must_use]
    pub fn with_help(mut self, help: impl Into<String>) -> Self {
        self.help = Some(help.into());
        self
    }

    /// Adds a note line.
    #[must_use]
    pub fn with_note(mut self, note: impl Into<String>) -> Self {
        self.notes.push(note.into());
        self
    }

    /// Whether this is an error (as opposed to a warning).
    pub fn is_error(&self) -> bool {
        self.severity == Severity::Error
    }

    /// `file:line:col` of the start of the span.
    pub fn location(&self, source: &SourceFile) -> String {
        let (line, col) = source.line_col(self.span.start);
        format!("{}:{line}:{col}", source.name())
    }

    /// A flat, serialisable view (for `--json` and the browser's editor markers).
    pub fn to_view(&self, source: &SourceFile) -> DiagnosticView {
        let (line, column) = source.line_col(self.span.start);
        let (end_line, end_column) = source.line_col(self.span.end);
        DiagnosticView {
            file: source.name().to_owned(),
            line,
            column,
            end_line,
            end_column,
            severity: self.severity,
            code: self.code,
            message: self.message.clone(),
            help: self.help.clone(),
        }
    }

    /// Renders rustc-style: header, `--> file:line:col`, the snippet with carets, help, notes.
    pub fn render(&self, source: &SourceFile, style: RenderStyle) -> String {
        let level = match self.severity {
            Severity::Error => Level::ERROR,
            Severity::Warning => Level::WARNING,
        };
        let span = self.display_span(source);
        let mut snippet = Snippet::source(source.text()).path(source.name()).fold(true);
        snippet = snippet.annotation(AnnotationKind::Primary.span(span).label(self.label.as_str()));
        let mut group = level.primary_title(self.message.as_str()).id(self.code.as_str()).element(snippet);
        if let Some(help) = &self.help {
            group = group.element(Level::HELP.message(help.as_str()));
        }
        for note in &self.notes {
            group = group.element(Level::NOTE.message(note.as_str()));
        }
        let report: Vec<Group<'_>> = vec![group];
        let renderer = match style {
            RenderStyle::Plain => Renderer::plain(),
            RenderStyle::Styled => Renderer::styled(),
        };
        renderer.render(&report)
    }

    /// The span clamped to the text and to char boundaries, widened to one character when
    /// empty so the caret is visible: what the rendered snippet underlines (and the browser's
    /// editor too).
    pub fn display_span(&self, source: &SourceFile) -> Range<usize> {
        let start = source.clamp(self.span.start);
        let mut end = source.clamp(self.span.end.max(start));
        if end == start {
            end = source.text()[start..].chars().next().filter(|c| *c != '\n').map_or(start, |c| start + c.len_utf8());
        }
        start..end
    }
}

/// Whether rendered diagnostics carry ANSI colours.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum RenderStyle {
    /// No escape codes (files, snapshots, the browser).
    Plain,
    /// ANSI colours (a terminal).
    Styled,
}

/// The serialisable form of a diagnostic, with 1-based line and column numbers.
#[derive(Debug, Clone, Serialize)]
pub struct DiagnosticView {
    /// File name as given to the loader.
    pub file: String,
    /// 1-based line of the start.
    pub line: usize,
    /// 1-based column (characters) of the start.
    pub column: usize,
    /// 1-based line of the end.
    pub end_line: usize,
    /// 1-based column of the end.
    pub end_column: usize,
    /// Error or warning.
    pub severity: Severity,
    /// Kind of problem.
    pub code: Code,
    /// What is wrong.
    pub message: String,
    /// How to fix it.
    pub help: Option<String>,
}

/// Renders several diagnostics of one file in source order, separated by blank lines.
pub fn render_all(diagnostics: &[Diagnostic], source: &SourceFile, style: RenderStyle) -> String {
    let mut sorted: Vec<&Diagnostic> = diagnostics.iter().collect();
    sorted.sort_by_key(|d| d.span.start);
    let mut out = String::new();
    for d in sorted {
        out.push_str(&d.render(source, style));
        out.push_str("\n\n");
    }
    out
}

//! Loading one pattern file: bytes in, pattern and every diagnostic out.

use crate::diagnostic::{Code, Diagnostic};
use crate::model::{PAIRED_PARAM, ParamKind, Pattern};
use crate::source::SourceFile;
use crate::yaml::{self, ScalarKind, Value};
use crate::{schema, templates};

/// Largest pattern file accepted. The largest real lesson is a few KiB; this keeps a hostile
/// or mistaken file (a 50 MB dump) from costing time or memory.
pub const MAX_FILE_BYTES: usize = 1 << 20;

/// One file after loading: its text, the pattern if it is usable, and every problem found.
#[derive(Debug, Clone)]
pub struct LoadedFile {
    /// The file's text (lossily decoded when it was not UTF-8; empty when too large).
    pub source: SourceFile,
    /// The pattern, present only when there are no errors (warnings allowed).
    pub pattern: Option<Pattern>,
    /// All problems, in the order found.
    pub diagnostics: Vec<Diagnostic>,
}

impl LoadedFile {
    /// Whether any diagnostic is an error.
    pub fn has_errors(&self) -> bool {
        self.diagnostics.iter().any(Diagnostic::is_error)
    }
}

/// The result for a file whose size alone disqualifies it; lets callers refuse to read it.
pub fn too_large(name: &str, len: u64) -> LoadedFile {
    let d = Diagnostic::error(Code::FileTooLarge, 0..0, format!("file is {len} bytes; a pattern file may have at most {MAX_FILE_BYTES}"))
        .with_label("file not read")
        .with_help("a pattern is a lesson of a few KiB; split it, or check that this is the file you meant");
    LoadedFile { source: SourceFile::new(name, ""), pattern: None, diagnostics: vec![d] }
}

/// Loads a pattern from raw bytes. Never panics; every problem becomes a diagnostic.
pub fn load(name: &str, bytes: &[u8]) -> LoadedFile {
    if bytes.len() > MAX_FILE_BYTES {
        return too_large(name, bytes.len() as u64);
    }
    let (text, mut diagnostics) = match std::str::from_utf8(bytes) {
        Ok(t) => (t.to_owned(), Vec::new()),
        Err(e) => {
            let at = e.valid_up_to();
            let d = Diagnostic::error(Code::InvalidUtf8, at..at, "file is not valid UTF-8")
                .with_label("invalid byte here")
                .with_help("save the file as UTF-8");
            (String::from_utf8_lossy(bytes).into_owned(), vec![d])
        }
    };
    let source = SourceFile::new(name, text);
    if !diagnostics.is_empty() {
        return LoadedFile { source, pattern: None, diagnostics };
    }
    let pattern = analyze(&source, &mut diagnostics);
    let pattern = pattern.filter(|_| !diagnostics.iter().any(Diagnostic::is_error));
    LoadedFile { source, pattern, diagnostics }
}

fn analyze(source: &SourceFile, diags: &mut Vec<Diagnostic>) -> Option<Pattern> {
    let (root, mut yaml_diags) = yaml::parse(source);
    diags.append(&mut yaml_diags);
    let root = match root {
        Some(r) if !matches!(r.value, Value::Scalar(ref s) if s.kind == ScalarKind::Null) => r,
        None if !diags.is_empty() => return None,
        _ => {
            diags.push(
                Diagnostic::error(Code::EmptyFile, 0..0, "file holds no pattern")
                    .with_label("empty document")
                    .with_help("a pattern starts with `plse_version:` and `pattern_id:`; see CONTRIBUTING.md"),
            );
            return None;
        }
    };
    if !matches!(root.value, Value::Map(_)) {
        diags.push(
            Diagnostic::error(Code::WrongType, root.span.clone(), format!("a pattern must be a mapping, found {}", root.type_name()))
                .with_label("expected `key: value` lines")
                .with_help("a pattern starts with `plse_version:` and `pattern_id:`"),
        );
        return None;
    }
    let mut root = root;
    if declares_v2(&root) {
        yaml::resolve_as_yaml11(&mut root);
    }
    let (pattern, collected) = schema::pattern(&root, diags);
    let used = templates::check(&collected, source, diags);
    let pattern = pattern?;
    for p in &pattern.parameters {
        let paired = p.name == PAIRED_PARAM && matches!(p.kind, ParamKind::Bool { .. });
        if !used.contains(&p.name) && !paired {
            diags.push(
                Diagnostic::warning(Code::UnusedParameter, p.span.clone(), format!("parameter `{}` is not used by any template", p.name))
                    .with_label("drawing it changes nothing")
                    .with_help("use it in a template or remove it"),
            );
        }
    }
    Some(pattern)
}

/// Whether the document says `plse_version: "2.0"` (or `2.0`, `"2"`): its plain scalars then
/// resolve as PyYAML read them.
fn declares_v2(root: &yaml::Node) -> bool {
    let Value::Map(entries) = &root.value else { return false };
    entries.iter().any(|(k, v)| {
        k.as_scalar().is_some_and(|s| s.text == "plse_version")
            && v.as_scalar()
                .is_some_and(|s| crate::model::FormatVersion::from_declared(s.text.trim()) == Some(crate::model::FormatVersion::V2))
    })
}

//! A library: many loaded files, their categories, and checks across files.

use std::collections::HashMap;

use crate::diagnostic::{Code, Diagnostic};
use crate::load::LoadedFile;
use crate::model::Pattern;

/// Category of files at the library root.
pub const ROOT_CATEGORY: &str = "best_practices";

/// One file of a library.
#[derive(Debug, Clone)]
pub struct Entry {
    /// Path relative to the library root, with `/` separators.
    pub rel_path: String,
    /// Category, from the first folder of `rel_path`.
    pub category: String,
    /// The loaded file.
    pub file: LoadedFile,
}

/// The category of a file from its path relative to the library root: the first folder, or
/// [`ROOT_CATEGORY`] at the root.
pub fn category_of(rel_path: &str) -> String {
    match rel_path.split_once('/') {
        Some((folder, _)) => folder.to_owned(),
        None => ROOT_CATEGORY.to_owned(),
    }
}

/// Loaded files plus the cross-file checks.
#[derive(Debug, Clone, Default)]
pub struct Library {
    /// Files sorted by path.
    pub entries: Vec<Entry>,
}

impl Library {
    /// Builds a library from `(relative path, loaded file)` pairs and runs the cross-file
    /// checks (duplicate `pattern_id`); the second and later holders of an id get an error and
    /// lose their pattern.
    pub fn new(files: Vec<(String, LoadedFile)>) -> Self {
        let mut entries: Vec<Entry> =
            files.into_iter().map(|(rel_path, file)| Entry { category: category_of(&rel_path), rel_path, file }).collect();
        entries.sort_by(|a, b| a.rel_path.cmp(&b.rel_path));
        let mut first: HashMap<String, String> = HashMap::new();
        for e in &mut entries {
            let Some(p) = &e.file.pattern else { continue };
            match first.get(&p.pattern_id) {
                None => {
                    let (line, col) = e.file.source.line_col(p.pattern_id_span.start);
                    first.insert(p.pattern_id.clone(), format!("{}:{line}:{col}", e.file.source.name()));
                }
                Some(at) => {
                    let d = Diagnostic::error(
                        Code::DuplicatePatternId,
                        p.pattern_id_span.clone(),
                        format!("pattern_id `{}` is already used", p.pattern_id),
                    )
                    .with_label("duplicate id")
                    .with_note(format!("first used at {at}"))
                    .with_help("every pattern in a library needs its own id; rename this one");
                    e.file.diagnostics.push(d);
                    e.file.pattern = None;
                }
            }
        }
        Self { entries }
    }

    /// Usable patterns with their entries.
    pub fn patterns(&self) -> impl Iterator<Item = (&Entry, &Pattern)> {
        self.entries.iter().filter_map(|e| e.file.pattern.as_ref().map(|p| (e, p)))
    }

    /// The entry holding `pattern_id`.
    pub fn find(&self, pattern_id: &str) -> Option<(&Entry, &Pattern)> {
        self.patterns().find(|(_, p)| p.pattern_id == pattern_id)
    }

    /// Whether any file has an error.
    pub fn has_errors(&self) -> bool {
        self.entries.iter().any(|e| e.file.has_errors())
    }
}

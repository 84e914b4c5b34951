//! Reading typed fields out of spanned YAML mappings, collecting every problem.

use std::ops::Range;

use serde_json::Value as Json;

use crate::diagnostic::{Code, Diagnostic};
use crate::model::{FormatVersion, TemplateText};
use crate::yaml::{Node, Origin, ScalarKind, Style, Value};

/// One field a mapping may hold.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Field {
    pub name: &'static str,
    pub required: bool,
    /// Only allowed when the file declares `plse_version: "3"`.
    pub v3: bool,
}

pub(crate) const fn req(name: &'static str) -> Field {
    Field { name, required: true, v3: false }
}
pub(crate) const fn opt(name: &'static str) -> Field {
    Field { name, required: false, v3: false }
}
pub(crate) const fn ext(name: &'static str) -> Field {
    Field { name, required: false, v3: true }
}

/// Collects diagnostics while reading one file.
pub(crate) struct Reader {
    pub diags: Vec<Diagnostic>,
    pub format: FormatVersion,
    /// Every template read, valid or not, so template checks run even when another part of
    /// the file is broken.
    pub templates: Vec<TemplateText>,
    /// Every parameter name declared, in order, even those whose definition is invalid, so
    /// one bad parameter does not cascade into "not a parameter" errors.
    pub declared: Vec<String>,
}

/// The fields of one mapping, looked up by name.
pub(crate) struct Fields<'n> {
    entries: Vec<(&'static str, &'n Node, &'n Node)>,
}

impl<'n> Fields<'n> {
    pub fn get(&self, name: &str) -> Option<&'n Node> {
        self.entries.iter().find(|(n, _, _)| *n == name).map(|(_, _, v)| *v)
    }

    pub fn key_span(&self, name: &str) -> Option<Range<usize>> {
        self.entries.iter().find(|(n, _, _)| *n == name).map(|(_, k, _)| k.span.clone())
    }
}

/// The closest of `candidates` to `word`, if it is close enough to be a likely typo.
pub fn did_you_mean<'a>(word: &str, candidates: impl IntoIterator<Item = &'a str>) -> Option<&'a str> {
    candidates
        .into_iter()
        .map(|c| (strsim::jaro_winkler(&word.to_lowercase(), &c.to_lowercase()), c))
        .filter(|(score, _)| *score >= 0.8)
        .max_by(|a, b| a.0.total_cmp(&b.0))
        .map(|(_, c)| c)
}

impl Reader {
    pub fn error(&mut self, d: Diagnostic) {
        self.diags.push(d);
    }

    /// Checks a mapping against `known`: unknown keys (with a suggestion), missing required
    /// keys (reported at `at`, the mapping's key or start), extension keys in v2.0 files.
    pub fn fields<'n>(&mut self, node: &'n Node, what: &str, at: Range<usize>, known: &[Field]) -> Option<Fields<'n>> {
        let Value::Map(entries) = &node.value else {
            self.wrong_type(node, "a mapping", what);
            return None;
        };
        let mut out = Fields { entries: Vec::new() };
        for (key, value) in entries {
            let name = key.as_scalar().map(|s| s.text.as_str()).unwrap_or_default();
            match known.iter().find(|f| f.name == name) {
                Some(field) => {
                    if field.v3 && self.format == FormatVersion::V2 {
                        self.error(
                            Diagnostic::error(Code::NeedsVersion3, key.span.clone(), format!("`{name}` is a PLSE 3 extension"))
                                .with_label("not part of the v2.0 format")
                                .with_help("declare `plse_version: \"3\"` to use extensions"),
                        );
                    }
                    out.entries.push((field.name, key, value));
                }
                None => {
                    let mut d = Diagnostic::error(Code::UnknownField, key.span.clone(), format!("unknown field `{name}` in {what}"))
                        .with_label("unknown field");
                    d = match did_you_mean(name, known.iter().map(|f| f.name)) {
                        Some(s) => d.with_help(format!("did you mean `{s}`?")),
                        None if known.is_empty() => d.with_help(format!("{what} takes no fields here")),
                        None => d.with_help(format!(
                            "{what} accepts: {}",
                            known.iter().map(|f| format!("`{}`", f.name)).collect::<Vec<_>>().join(", ")
                        )),
                    };
                    self.error(d);
                }
            }
        }
        for field in known.iter().filter(|f| f.required) {
            if out.get(field.name).is_none() {
                self.error(
                    Diagnostic::error(Code::MissingField, at.clone(), format!("missing field `{}` in {what}", field.name))
                        .with_label(format!("{what} needs `{}`", field.name)),
                );
            }
        }
        Some(out)
    }

    pub fn wrong_type(&mut self, node: &Node, expected: &str, what: &str) {
        self.error(
            Diagnostic::error(Code::WrongType, node.span.clone(), format!("`{what}` must be {expected}, found {}", node.type_name()))
                .with_label(format!("expected {expected}")),
        );
    }

    /// A string scalar. Numbers and booleans are refused: YAML would silently turn `1.10`
    /// into `1.1`.
    pub fn string(&mut self, node: &Node, what: &str) -> Option<String> {
        match node.as_scalar() {
            Some(s) if s.kind == ScalarKind::Str => Some(s.text.clone()),
            _ => {
                self.wrong_type(node, "a string", what);
                None
            }
        }
    }

    pub fn template(&mut self, node: &Node, what: &str) -> Option<TemplateText> {
        let text = self.string(node, what)?;
        let origin = match node.as_scalar() {
            Some(s) => s.origin,
            None => Origin::Inline(node.span.start),
        };
        let t = TemplateText { name: what.to_owned(), text, span: node.span.clone(), origin };
        self.templates.push(t.clone());
        Some(t)
    }

    pub fn bool(&mut self, node: &Node, what: &str) -> Option<bool> {
        match node.as_scalar().map(|s| s.kind) {
            Some(ScalarKind::Bool(b)) => Some(b),
            _ => {
                self.wrong_type(node, "a boolean", what);
                None
            }
        }
    }

    pub fn int(&mut self, node: &Node, what: &str) -> Option<i64> {
        match node.as_scalar().map(|s| s.kind) {
            Some(ScalarKind::Int(i)) => Some(i),
            _ => {
                self.wrong_type(node, "an integer", what);
                None
            }
        }
    }

    /// A finite number (integers are accepted).
    pub fn number(&mut self, node: &Node, what: &str) -> Option<f64> {
        match node.as_scalar().map(|s| s.kind) {
            Some(ScalarKind::Int(i)) => Some(i as f64),
            Some(ScalarKind::Float(f)) if f.is_finite() => Some(f),
            _ => {
                self.wrong_type(node, "a finite number", what);
                None
            }
        }
    }

    pub fn list<'n>(&mut self, node: &'n Node, what: &str) -> Option<&'n [Node]> {
        match &node.value {
            Value::Seq(items) => Some(items),
            _ => {
                self.wrong_type(node, "a list", what);
                None
            }
        }
    }

    pub fn string_list(&mut self, node: &Node, what: &str) -> Option<Vec<String>> {
        let items = self.list(node, what)?;
        let mut out = Vec::new();
        for (i, item) in items.iter().enumerate() {
            out.push(self.string(item, &format!("{what}[{i}]"))?);
        }
        Some(out)
    }

    /// Any YAML value as JSON. Non-finite floats have no JSON form and are refused.
    pub fn json(&mut self, node: &Node, what: &str) -> Option<Json> {
        Some(match &node.value {
            Value::Scalar(s) => match s.kind {
                ScalarKind::Null => Json::Null,
                ScalarKind::Bool(b) => Json::Bool(b),
                ScalarKind::Int(i) => Json::from(i),
                ScalarKind::Float(f) => match serde_json::Number::from_f64(f) {
                    Some(n) => Json::Number(n),
                    None => {
                        self.wrong_type(node, "a finite number", what);
                        return None;
                    }
                },
                ScalarKind::Str => Json::String(s.text.clone()),
            },
            Value::Seq(items) => {
                let mut out = Vec::with_capacity(items.len());
                for (i, item) in items.iter().enumerate() {
                    out.push(self.json(item, &format!("{what}[{i}]"))?);
                }
                Json::Array(out)
            }
            Value::Map(entries) => {
                let mut out = serde_json::Map::new();
                for (k, v) in entries {
                    let key = k.as_scalar().map(|s| s.text.clone()).unwrap_or_default();
                    let value = self.json(v, &format!("{what}.{key}"))?;
                    out.insert(key, value);
                }
                Json::Object(out)
            }
        })
    }

    /// `plse_version`: a string, or a bare number read as written (`2.0` stays "2.0").
    pub fn version_text(&mut self, node: &Node) -> Option<String> {
        match node.as_scalar() {
            Some(s) if matches!(s.kind, ScalarKind::Str | ScalarKind::Int(_) | ScalarKind::Float(_)) => {
                Some(if s.style == Style::Plain { s.text.clone() } else { s.text.trim().to_owned() })
            }
            _ => {
                self.wrong_type(node, "a string", "plse_version");
                None
            }
        }
    }
}

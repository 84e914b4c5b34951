//! The pattern-level schema: top-level fields, metadata, code source, validation block.

use serde_json::Value as Json;

use crate::diagnostic::{Code, Diagnostic};
use crate::fields::{Field, Reader, did_you_mean, ext, opt, req};
use crate::model::{Artifact, ArtifactKind, Capability, CodeSource, Components, Difficulty, FormatVersion, Metadata, Pattern, Validation};
use crate::params::parameters;
use crate::yaml::Node;

const TOP: &[Field] = &[
    req("plse_version"),
    req("pattern_id"),
    ext("version"),
    req("metadata"),
    req("instruction"),
    req("parameters"),
    opt("requires"),
    opt("template"),
    opt("components"),
    ext("explanation"),
    ext("answer"),
    ext("capabilities"),
    ext("artifact"),
    opt("validation"),
];
const METADATA: &[Field] = &[req("author"), req("description"), req("tags"), req("pedagogy")];
const PEDAGOGY: &[Field] = &[req("concept"), req("difficulty"), opt("related_patterns")];
const VALIDATION: &[Field] = &[opt("linter_checks"), opt("unit_test_snippets"), opt("expected_output")];
const ARTIFACT: &[Field] = &[opt("kind"), opt("path")];
const COMPONENTS: &[Field] = &[opt("imports"), opt("model_definition"), opt("data_setup"), opt("training_loop"), opt("evaluation")];

/// What template checks need, gathered even when the pattern itself does not build.
pub(crate) struct Collected {
    pub templates: Vec<crate::model::TemplateText>,
    pub declared: Vec<String>,
    /// The format the file declares (`"3"` when it does not say).
    pub format: FormatVersion,
}

/// Builds a [`Pattern`] from the document root, reporting every problem into `diags`.
pub(crate) fn pattern(root: &Node, diags: &mut Vec<Diagnostic>) -> (Option<Pattern>, Collected) {
    let mut r = Reader { diags: Vec::new(), format: FormatVersion::V3, templates: Vec::new(), declared: Vec::new() };
    let format = read_format(&mut r, root);
    r.format = format.unwrap_or(FormatVersion::V3);
    // Missing top-level fields are reported at the start of the file.
    let at = 0..0;
    let top = r.fields(root, "the pattern", at, TOP);
    let out = top.and_then(|f| {
        let pattern_id = f.get("pattern_id").and_then(|n| r.string(n, "pattern_id").map(|s| (s, n.span.clone())));
        if let Some((id, span)) = &pattern_id
            && (id.is_empty() || !id.chars().all(|c| c.is_ascii_alphanumeric() || matches!(c, '.' | '_' | '-')))
        {
            r.error(
                Diagnostic::error(Code::InvalidValue, span.clone(), format!("pattern_id `{id}` is not a dotted identifier"))
                    .with_label("used in sample ids and file names")
                    .with_help("use letters, digits, `.`, `_` and `-`, e.g. `python.core.comprehensions`"),
            );
        }
        let version = match f.get("version") {
            Some(n) => r.string(n, "version"),
            None => Some("1".to_owned()),
        };
        let metadata = f.get("metadata").and_then(|n| metadata(&mut r, n, f.key_span("metadata").unwrap_or_default()));
        let instruction = f.get("instruction").and_then(|n| r.template(n, "instruction"));
        let parameters = f.get("parameters").map(|n| parameters(&mut r, n));
        let requires = match f.get("requires") {
            Some(n) => requires(&mut r, n),
            None => Some(Requires::default()),
        };
        let code = code_source(&mut r, f.get("template"), f.get("components"));
        let explanation = f.get("explanation").and_then(|n| r.template(n, "explanation"));
        let answer = f.get("answer").and_then(|n| r.template(n, "answer"));
        let capabilities = match f.get("capabilities") {
            Some(n) => capabilities(&mut r, n),
            None => Some(Vec::new()),
        };
        let artifact = match f.get("artifact") {
            Some(n) => artifact(&mut r, n, f.key_span("artifact").unwrap_or_default()),
            // A v2.0 file cannot say; its code tells (a Dockerfile, a compose file, ...).
            None if r.format == FormatVersion::V2 => match (&code, &metadata) {
                (Some(code), Some(m)) => Some(crate::detect::v2_artifact(code, pattern_id.as_ref().map_or("", |(id, _)| id), &m.tags)),
                _ => Some(Artifact { kind: ArtifactKind::Python, path: None }),
            },
            None => Some(Artifact { kind: ArtifactKind::Python, path: None }),
        };
        let validation = match f.get("validation") {
            Some(n) => validation(&mut r, n, f.key_span("validation").unwrap_or_default()),
            None => {
                Some(Validation { linter_checks: true, unit_test_snippets: Vec::new(), expected_output: Json::Object(Default::default()) })
            }
        };
        let (pattern_id, pattern_id_span) = pattern_id?;
        Some(Pattern {
            format: format?,
            pattern_id,
            pattern_id_span,
            version: version?,
            metadata: metadata?,
            instruction: instruction?,
            parameters: parameters?,
            requires: requires.as_ref()?.imports.clone(),
            requires_templates: requires.as_ref()?.templates.clone(),
            distributions: requires?.distributions,
            code: code?,
            explanation,
            answer,
            capabilities: capabilities?,
            artifact: artifact?,
            validation: validation?,
        })
    });
    diags.append(&mut r.diags);
    (out, Collected { templates: r.templates, declared: r.declared, format: r.format })
}

fn read_format(r: &mut Reader, root: &Node) -> Option<FormatVersion> {
    let crate::yaml::Value::Map(entries) = &root.value else { return None };
    let (_, node) = entries.iter().find(|(k, _)| k.as_scalar().is_some_and(|s| s.text == "plse_version"))?;
    let text = r.version_text(node)?;
    match FormatVersion::from_declared(&text) {
        Some(format) => Some(format),
        None => {
            let other = text.as_str();
            r.error(
                Diagnostic::error(Code::InvalidValue, node.span.clone(), format!("unsupported plse_version `{other}`"))
                    .with_label("unknown format version")
                    .with_help("use \"2.0\" (the original format) or \"3\" (with extensions)"),
            );
            None
        }
    }
}

fn metadata(r: &mut Reader, node: &Node, at: std::ops::Range<usize>) -> Option<Metadata> {
    let f = r.fields(node, "metadata", at, METADATA)?;
    let author = f.get("author").and_then(|n| r.string(n, "metadata.author"));
    let description = f.get("description").and_then(|n| r.string(n, "metadata.description"));
    let tags = f.get("tags").and_then(|n| r.string_list(n, "metadata.tags"));
    let pedagogy_at = f.key_span("pedagogy").unwrap_or_default();
    let pedagogy = f.get("pedagogy").and_then(|n| r.fields(n, "metadata.pedagogy", pedagogy_at, PEDAGOGY));
    let (concept, difficulty, related) = match pedagogy {
        Some(p) => {
            let concept = p.get("concept").and_then(|n| r.string(n, "metadata.pedagogy.concept"));
            let difficulty = p.get("difficulty").and_then(|n| difficulty(r, n));
            let related = match p.get("related_patterns") {
                Some(n) => r.string_list(n, "metadata.pedagogy.related_patterns"),
                None => Some(Vec::new()),
            };
            (concept, difficulty, related)
        }
        None => (None, None, None),
    };
    Some(Metadata {
        author: author?,
        description: description?,
        tags: tags?,
        concept: concept?,
        difficulty: difficulty?,
        related_patterns: related?,
    })
}

fn difficulty(r: &mut Reader, node: &Node) -> Option<Difficulty> {
    let text = r.string(node, "metadata.pedagogy.difficulty")?;
    if let Some(d) = Difficulty::ALL.into_iter().find(|d| d.as_str() == text) {
        return Some(d);
    }
    let names = Difficulty::ALL.map(Difficulty::as_str);
    let mut d =
        Diagnostic::error(Code::InvalidValue, node.span.clone(), format!("unknown difficulty `{text}`")).with_label("unknown difficulty");
    d = match did_you_mean(&text, names) {
        Some(s) => d.with_help(format!("did you mean `{s}`?")),
        None => d.with_help(format!("difficulty is one of: {}", names.join(", "))),
    };
    r.error(d);
    None
}

/// The `requires` entries, sorted by what they are.
#[derive(Default)]
struct Requires {
    imports: Vec<String>,
    templates: Vec<crate::model::TemplateText>,
    distributions: Vec<String>,
}

fn requires(r: &mut Reader, node: &Node) -> Option<Requires> {
    let items = r.list(node, "requires")?;
    let mut out = Requires::default();
    for (i, item) in items.iter().enumerate() {
        let what = format!("requires[{i}]");
        let line = r.string(item, &what)?;
        if line.contains("{{") || line.contains("{%") {
            out.templates.extend(r.template(item, &what));
        } else if is_import_spec(&line) {
            out.imports.push(line);
        } else if is_distribution(&line) {
            out.distributions.push(line.trim().to_owned());
        } else {
            r.error(
                Diagnostic::error(Code::InvalidValue, item.span.clone(), format!("`{line}` is not an import"))
                    .with_label("not an import or a distribution name")
                    .with_help("write a module (`json`), `numpy as np`, `from collections import Counter`, or a package to install (`python-multipart`)"),
            );
        }
    }
    Some(out)
}

/// A PEP 508 distribution name with optional extras and version specifiers
/// (`python-multipart`, `uvicorn[standard]>=0.30`): something to install, not to import.
pub fn is_distribution(line: &str) -> bool {
    let line = line.trim();
    let end = line.find(|c: char| !(c.is_ascii_alphanumeric() || matches!(c, '-' | '_' | '.'))).unwrap_or(line.len());
    let (name, rest) = line.split_at(end);
    let name_ok = name.starts_with(|c: char| c.is_ascii_alphanumeric()) && name.ends_with(|c: char| c.is_ascii_alphanumeric());
    let rest = rest.trim_start();
    let rest = match rest.strip_prefix('[') {
        Some(r) => match r.split_once(']') {
            Some((extras, after)) if extras.split(',').all(|e| is_ident(e.trim().replace('-', "_").as_str())) => after.trim_start(),
            _ => return false,
        },
        None => rest,
    };
    let spec_ok = rest.is_empty()
        || (rest.starts_with(['<', '>', '=', '!', '~'])
            && rest.chars().all(|c| c.is_ascii_alphanumeric() || matches!(c, '<' | '>' | '=' | '!' | '~' | '.' | ',' | '*' | ' ' | '+')));
    name_ok && spec_ok
}

/// `mod[.sub] [as alias]`, `import mod ...`, or `from mod import a, b [as c]`.
pub fn is_import_spec(line: &str) -> bool {
    let dotted = |s: &str| !s.is_empty() && s.split('.').all(is_ident);
    let words: Vec<&str> = line.split_whitespace().collect();
    match words.as_slice() {
        ["from", module, "import", rest @ ..] if !rest.is_empty() => {
            (dotted(module) || module.starts_with('.'))
                && rest.join(" ").split(',').all(|n| {
                    let parts: Vec<&str> = n.split_whitespace().collect();
                    matches!(parts.as_slice(), [a] if is_ident(a) || *a == "*")
                        || matches!(parts.as_slice(), [a, "as", b] if is_ident(a) && is_ident(b))
                })
        }
        ["import", rest @ ..] => !rest.is_empty() && is_import_spec(&rest.join(" ")),
        [module] => dotted(module),
        [module, "as", alias] => dotted(module) && is_ident(alias),
        _ => false,
    }
}

fn is_ident(s: &str) -> bool {
    s.chars().next().is_some_and(|c| c.is_alphabetic() || c == '_') && s.chars().all(|c| c.is_alphanumeric() || c == '_')
}

fn capabilities(r: &mut Reader, node: &Node) -> Option<Vec<Capability>> {
    let items = r.list(node, "capabilities")?;
    let mut out = Vec::new();
    let mut ok = true;
    for (i, item) in items.iter().enumerate() {
        let text = r.string(item, &format!("capabilities[{i}]"))?;
        match Capability::parse(&text) {
            Some(c) if !out.contains(&c) => out.push(c),
            Some(_) => {}
            None => {
                let names = Capability::ALL.map(Capability::as_str);
                let help = did_you_mean(&text, names)
                    .map_or_else(|| format!("capabilities are: {}", names.join(", ")), |s| format!("did you mean `{s}`?"));
                r.error(
                    Diagnostic::error(Code::InvalidValue, item.span.clone(), format!("unknown capability `{text}`"))
                        .with_label("unknown capability")
                        .with_help(help),
                );
                ok = false;
            }
        }
    }
    out.sort();
    ok.then_some(out)
}

fn code_source(r: &mut Reader, template: Option<&Node>, components: Option<&Node>) -> Option<CodeSource> {
    match (template, components) {
        (Some(t), None) => r.template(t, "template").map(CodeSource::Template),
        (None, Some(c)) => {
            let f = r.fields(c, "components", c.span.clone(), COMPONENTS)?;
            let mut parts = Vec::new();
            for name in Components::ORDER {
                if let Some(n) = f.get(name) {
                    parts.push(r.template(n, &format!("components.{name}"))?);
                }
            }
            if parts.is_empty() {
                r.error(
                    Diagnostic::error(Code::CodeSource, c.span.clone(), "`components` is empty")
                        .with_label("no code")
                        .with_help(format!("give at least one of: {}", Components::ORDER.join(", "))),
                );
                return None;
            }
            Some(CodeSource::Components(Components { parts }))
        }
        (Some(t), Some(_)) => {
            r.error(
                Diagnostic::error(Code::CodeSource, t.span.clone(), "a pattern has `template` or `components`, not both")
                    .with_label("second source of code")
                    .with_help("move the template into `components.model_definition`, or drop `components`"),
            );
            None
        }
        (None, None) => {
            // An unknown `tempalte:` already got a "did you mean"; saying "no code" too is noise.
            let misspelt = r.diags.iter().any(|d| {
                d.code == Code::UnknownField && d.help.as_deref().is_some_and(|h| h.contains("`template`") || h.contains("`components`"))
            });
            if misspelt {
                return None;
            }
            r.error(
                Diagnostic::error(Code::CodeSource, 0..0, "the pattern has no code")
                    .with_label("needs `template` or `components`")
                    .with_help("add `template: |` followed by the code template"),
            );
            None
        }
    }
}

fn artifact(r: &mut Reader, node: &Node, at: std::ops::Range<usize>) -> Option<Artifact> {
    let f = r.fields(node, "artifact", at, ARTIFACT)?;
    let kind = match f.get("kind") {
        Some(n) => {
            let text = r.string(n, "artifact.kind")?;
            match ArtifactKind::ALL.into_iter().find(|k| k.as_str() == text) {
                Some(k) => Some(k),
                None => {
                    let names = ArtifactKind::ALL.map(ArtifactKind::as_str);
                    let help = did_you_mean(&text, names)
                        .map_or_else(|| format!("kinds are: {}", names.join(", ")), |s| format!("did you mean `{s}`?"));
                    r.error(
                        Diagnostic::error(Code::InvalidValue, n.span.clone(), format!("unknown artifact kind `{text}`"))
                            .with_label("unknown kind")
                            .with_help(help),
                    );
                    None
                }
            }
        }
        None => Some(ArtifactKind::Python),
    };
    let path = match f.get("path") {
        Some(n) => {
            let p = r.string(n, "artifact.path")?;
            if p.is_empty() || p.contains("..") || p.starts_with('/') || p.contains('\\') {
                r.error(
                    Diagnostic::error(Code::InvalidValue, n.span.clone(), format!("artifact path `{p}` must be a relative file name"))
                        .with_label("the artifact is written inside a scratch directory")
                        .with_help("use a plain relative name such as `pyproject.toml` or `app/main.py`"),
                );
                return None;
            }
            Some(p)
        }
        None => None,
    };
    Some(Artifact { kind: kind?, path })
}

fn validation(r: &mut Reader, node: &Node, at: std::ops::Range<usize>) -> Option<Validation> {
    let f = r.fields(node, "validation", at, VALIDATION)?;
    let linter_checks = match f.get("linter_checks") {
        Some(n) => r.bool(n, "validation.linter_checks"),
        None => Some(true),
    };
    let snippets = match f.get("unit_test_snippets") {
        Some(n) => r.list(n, "validation.unit_test_snippets").and_then(|items| {
            items
                .iter()
                .enumerate()
                .map(|(i, item)| r.template(item, &format!("validation.unit_test_snippets[{i}]")))
                .collect::<Option<Vec<_>>>()
        }),
        None => Some(Vec::new()),
    };
    let expected_output = match f.get("expected_output") {
        Some(n) if matches!(n.value, crate::yaml::Value::Map(_)) => r.json(n, "validation.expected_output"),
        Some(n) if n.as_scalar().is_some_and(|s| s.kind == crate::yaml::ScalarKind::Null) => Some(Json::Object(Default::default())),
        Some(n) => {
            r.wrong_type(n, "a mapping", "validation.expected_output");
            None
        }
        None => Some(Json::Object(Default::default())),
    };
    Some(Validation { linter_checks: linter_checks?, unit_test_snippets: snippets?, expected_output: expected_output? })
}

#[cfg(test)]
mod tests {
    use super::is_import_spec;

    #[test]
    fn import_specs() {
        for ok in ["json", "numpy as np", "os.path", "from collections import Counter", "from a.b import c as d, e", "import torch"] {
            assert!(is_import_spec(ok), "{ok}");
        }
        for bad in ["", "numpy as", "from x", "rm -rf /", "a b c"] {
            assert!(!is_import_spec(bad), "{bad}");
        }
    }
}

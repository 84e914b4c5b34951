//! Turning `requires` entries into import statements at the top of Python code.

/// The import statement for a `requires` entry: `numpy as np` → `import numpy as np`;
/// `from x import y` and `import x` stay as written.
pub fn import_statement(spec: &str) -> String {
    let spec = spec.trim();
    if spec.starts_with("from ") || spec.starts_with("import ") { spec.to_owned() } else { format!("import {spec}") }
}

/// Adds the import statements the code does not already contain (as a whole line), so every
/// sample runs on its own. They go where imports belong: after leading comments, the module
/// docstring and `from __future__` imports.
pub fn prepend_requires(code: &str, requires: &[String]) -> String {
    let missing: Vec<String> =
        requires.iter().map(|r| import_statement(r)).filter(|stmt| !code.lines().any(|l| l.trim() == stmt)).collect();
    if missing.is_empty() {
        return code.to_owned();
    }
    let imports = missing.join("\n");
    match header_end(code) {
        0 => format!("{imports}\n\n{code}"),
        at => {
            let (head, rest) = code.split_at(at);
            let (head, rest) = (head.trim_end_matches('\n'), rest.trim_start_matches('\n'));
            if rest.is_empty() { format!("{head}\n\n{imports}") } else { format!("{head}\n\n{imports}\n\n{rest}") }
        }
    }
}

/// Byte offset just past the module's header: leading comment and blank lines, a module
/// docstring and `from __future__` imports (0 when there is none of the last two).
fn header_end(code: &str) -> usize {
    let (mut end, mut offset) = (0, 0);
    let mut docstring_seen = false;
    let mut open_quote: Option<&str> = None;
    for line in code.split_inclusive('\n') {
        let t = line.trim();
        offset += line.len();
        if let Some(q) = open_quote {
            if t.contains(q) {
                open_quote = None;
                end = offset;
            }
            continue;
        }
        if t.is_empty() || t.starts_with('#') {
            continue;
        }
        let body = t.trim_start_matches(['r', 'R', 'u', 'U']);
        match ["\"\"\"", "'''"].into_iter().find(|q| body.starts_with(q)) {
            Some(q) if !docstring_seen => {
                docstring_seen = true;
                if body[3..].contains(q) {
                    end = offset;
                } else {
                    open_quote = Some(q);
                }
            }
            _ if t.starts_with("from __future__ import") => end = offset,
            _ => break,
        }
    }
    if open_quote.is_some() { 0 } else { end }
}

/// Top-level names of the modules `import` and `from ... import` statements in `text` bring in
/// (relative imports aside). Works on rendered code and on a template's source alike, where it
/// sees the imports of every branch.
pub fn imported_modules(text: &str) -> Vec<String> {
    let mut out: Vec<String> = Vec::new();
    for line in text.lines() {
        let t = line.trim_start();
        let names: Vec<&str> = if let Some(rest) = t.strip_prefix("import ") {
            rest.split(',').filter_map(|part| part.split_whitespace().next()).collect()
        } else if let Some(rest) = t.strip_prefix("from ") {
            rest.split_whitespace().next().filter(|m| !m.starts_with('.')).into_iter().collect()
        } else {
            continue;
        };
        for n in names {
            let top = n.split('.').next().unwrap_or("");
            if !top.is_empty() && top.chars().all(|c| c.is_alphanumeric() || c == '_') && !out.iter().any(|x| x == top) {
                out.push(top.to_owned());
            }
        }
    }
    out.sort();
    out
}

/// Every module a pattern's code may import: its `requires` and the imports written in its code
/// template (all branches). Picks the worker family a sample runs in and the tier a pattern needs.
pub fn pattern_modules(pattern: &plse_schema::Pattern) -> Vec<String> {
    let mut out = required_modules(&pattern.requires);
    for t in &pattern.requires_templates {
        out.extend(imported_modules(&plse_schema::jinja::without_tags(&t.text, true)));
    }
    out.extend(pattern.distributions.iter().map(|d| distribution_module(d)));
    let code: Vec<&str> = match &pattern.code {
        plse_schema::CodeSource::Template(t) => vec![t.text.as_str()],
        plse_schema::CodeSource::Components(c) => c.parts.iter().map(|t| t.text.as_str()).collect(),
    };
    if pattern.artifact.kind == plse_schema::ArtifactKind::Python {
        for text in code {
            out.extend(imported_modules(text));
        }
    }
    out.sort();
    out.dedup();
    out
}

/// Every module a rendered sample imports: its `requires` and the imports of its code (both
/// sides of a paired sample). What the browser asks Pyodide for.
pub fn sample_modules(sample: &crate::Sample) -> Vec<String> {
    let mut out = required_modules(&sample.requires);
    if sample.artifact.kind == plse_schema::ArtifactKind::Python {
        for (_, side) in sample.sides() {
            out.extend(imported_modules(&side.code));
        }
    }
    out.sort();
    out.dedup();
    out
}

/// The module a distribution installs, for choosing the worker family: the well-known names
/// whose module differs, else the name lower-cased with `-` and `.` as `_`
/// (`python-multipart` → `python_multipart`, `scikit-learn>=1.4` → `sklearn`).
pub fn distribution_module(spec: &str) -> String {
    let name: String = spec.trim().chars().take_while(|c| c.is_ascii_alphanumeric() || matches!(c, '-' | '_' | '.')).collect();
    let key = name.to_ascii_lowercase().replace(['_', '.'], "-");
    let known = [
        ("scikit-learn", "sklearn"),
        ("pyyaml", "yaml"),
        ("pillow", "PIL"),
        ("beautifulsoup4", "bs4"),
        ("opencv-python", "cv2"),
        ("opencv-python-headless", "cv2"),
        ("python-dateutil", "dateutil"),
        ("pytorch-lightning", "pytorch_lightning"),
        ("attrs", "attr"),
    ];
    known.iter().find(|(d, _)| *d == key).map_or_else(|| key.replace('-', "_"), |(_, m)| (*m).to_owned())
}

/// Top-level module names a pattern needs (`numpy as np` → `numpy`,
/// `from collections import Counter` → `collections`); keys the worker pools.
pub fn required_modules(requires: &[String]) -> Vec<String> {
    let mut out: Vec<String> = requires
        .iter()
        .filter_map(|r| {
            let words: Vec<&str> = r.split_whitespace().collect();
            let module = match words.as_slice() {
                ["from", m, ..] | ["import", m, ..] => *m,
                [m, ..] => *m,
                [] => return None,
            };
            module.trim_end_matches(',').split('.').next().filter(|m| !m.is_empty()).map(str::to_owned)
        })
        .collect();
    out.sort();
    out.dedup();
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn prepends_only_missing_imports() {
        let code = "import json\n\nprint(json.dumps(1))";
        let req = vec!["json".to_owned(), "numpy as np".to_owned(), "from collections import Counter".to_owned()];
        let out = prepend_requires(code, &req);
        assert_eq!(out, "import numpy as np\nfrom collections import Counter\n\nimport json\n\nprint(json.dumps(1))");
        assert_eq!(required_modules(&req), ["collections", "json", "numpy"]);
    }

    #[test]
    fn finds_imported_modules_in_every_branch() {
        let code = "import os, json as j\nfrom collections.abc import Iterable\n{% if x %}\n    import matplotlib.pyplot as plt\n{% else %}\nfrom . import local\nfrom numpy import array\n{% endif %}\nimportant = 1\n";
        assert_eq!(imported_modules(code), ["collections", "json", "matplotlib", "numpy", "os"]);
    }

    #[test]
    fn templated_requires_and_distributions_name_their_modules() {
        let t = "{% if model == 'SVC' %}from sklearn.svm import SVC{% else %}import numpy as np{% endif %}";
        assert_eq!(imported_modules(&plse_schema::jinja::without_tags(t, true)), ["numpy", "sklearn"]);
        assert_eq!(distribution_module("python-multipart"), "python_multipart");
        assert_eq!(distribution_module("Scikit_Learn>=1.4"), "sklearn");
        assert_eq!(distribution_module("uvicorn[standard]"), "uvicorn");
    }

    #[test]
    fn imports_go_after_the_docstring_and_future_imports() {
        let req = vec!["json".to_owned()];
        let code = "\"\"\"A module.\n\nMore.\n\"\"\"\n\nfrom __future__ import annotations\n\nX = 1\n";
        let want = "\"\"\"A module.\n\nMore.\n\"\"\"\n\nfrom __future__ import annotations\n\nimport json\n\nX = 1\n";
        assert_eq!(prepend_requires(code, &req), want);
        assert_eq!(prepend_requires("# c\n'''Doc.'''\n", &req), "# c\n'''Doc.'''\n\nimport json");
        assert_eq!(prepend_requires("x = '''a'''\n", &req), "import json\n\nx = '''a'''\n");
        assert_eq!(prepend_requires("\"\"\"never closed\n", &req), "import json\n\n\"\"\"never closed\n");
    }
}

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

//! Turning `requires` entries into import statements at the top of Python code.

/// The import statement for a `requires` entry: `numpy as np` → `import numpy as np`;
/// `from x import y` and `import x` stay as written.
pub fn import_statement(spec: &str) -> String {
    let spec = spec.trim();
    if spec.starts_with("from ") || spec.starts_with("import ") { spec.to_owned() } else { format!("import {spec}") }
}

/// Prepends the import statements the code does not already contain (as a whole line), so
/// every sample runs on its own.
pub fn prepend_requires(code: &str, requires: &[String]) -> String {
    let missing: Vec<String> =
        requires.iter().map(|r| import_statement(r)).filter(|stmt| !code.lines().any(|l| l.trim() == stmt)).collect();
    if missing.is_empty() {
        return code.to_owned();
    }
    format!("{}\n\n{code}", missing.join("\n"))
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
}

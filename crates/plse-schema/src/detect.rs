//! The artifact kind of a v2.0 file. Format 3 says it (`artifact: {kind, path}`); the Python
//! engine's files do not, and their orchestration lessons (Dockerfiles, compose files, CI
//! workflows, `pyproject.toml`, shell scripts, Makefiles) are not Python. Reading the code
//! template (with its Jinja tags removed, so every branch counts) tells them apart; the
//! pattern id and tags break ties a file's text leaves open.

use crate::jinja::without_tags;
use crate::model::{Artifact, ArtifactKind, CodeSource};

/// The artifact a v2.0 pattern's code is, judged from its code templates, id and tags.
pub fn v2_artifact(code: &CodeSource, pattern_id: &str, tags: &[String]) -> Artifact {
    let text: String = match code {
        CodeSource::Template(t) => without_tags(&t.text, false),
        CodeSource::Components(c) => c.parts.iter().map(|t| without_tags(&t.text, false)).collect::<Vec<_>>().join("\n"),
    };
    let hints: Vec<String> = std::iter::once(pattern_id).chain(tags.iter().map(String::as_str)).map(str::to_ascii_lowercase).collect();
    let hinted = |words: &[&str]| hints.iter().any(|h| words.iter().any(|w| h.contains(w)));
    let (kind, path) = detect(&text, &hinted);
    Artifact { kind, path: path.map(str::to_owned) }
}

fn detect(text: &str, hinted: &dyn Fn(&[&str]) -> bool) -> (ArtifactKind, Option<&'static str>) {
    let lines: Vec<&str> = text.lines().filter(|l| !l.trim().is_empty()).collect();
    let Some(first) = lines.first().map(|l| l.trim()) else { return (ArtifactKind::Python, None) };
    if let Some(shebang) = first.strip_prefix("#!") {
        return if shebang.contains("python") { (ArtifactKind::Python, None) } else { (ArtifactKind::Shell, Some("script.sh")) };
    }
    let significant: Vec<&str> = lines.iter().copied().filter(|l| !l.trim_start().starts_with('#')).collect();
    let Some(head) = significant.first().map(|l| l.trim()) else { return (ArtifactKind::Python, None) };
    if is_dockerfile(head, &significant) {
        return (ArtifactKind::Dockerfile, Some("Dockerfile"));
    }
    if is_makefile(&lines) {
        return (ArtifactKind::Text, Some("Makefile"));
    }
    if is_toml_table(head) && significant.iter().any(|l| l.contains('=')) {
        let pyproject = ["[project]", "[build-system]"].iter().any(|t| significant.iter().any(|l| l.trim() == *t))
            || significant.iter().any(|l| l.trim().starts_with("[tool."))
            || hinted(&["pyproject"]);
        return (ArtifactKind::Toml, Some(if pyproject { "pyproject.toml" } else { "config.toml" }));
    }
    if looks_like_python(&significant) {
        return (ArtifactKind::Python, None);
    }
    if is_yaml(&significant) {
        let top = |key: &str| significant.iter().any(|l| l.starts_with(&format!("{key}:")));
        let path = if top("services") || hinted(&["compose"]) {
            "docker-compose.yml"
        } else if (top("on") || top("\"on\"")) && top("jobs") || hinted(&["github", "workflow"]) {
            ".github/workflows/ci.yml"
        } else if top("apiVersion") && top("kind") {
            "manifest.yaml"
        } else {
            "config.yaml"
        };
        return (ArtifactKind::Yaml, Some(path));
    }
    if hinted(&["bash", "shell"]) && significant.iter().any(|l| l.contains("set -e") || l.trim_start().starts_with("echo ")) {
        return (ArtifactKind::Shell, Some("script.sh"));
    }
    (ArtifactKind::Python, None)
}

const DOCKER_INSTRUCTIONS: &[&str] =
    &["FROM", "RUN", "CMD", "COPY", "ADD", "ENV", "ARG", "WORKDIR", "EXPOSE", "ENTRYPOINT", "USER", "LABEL", "HEALTHCHECK", "VOLUME"];

/// Starts with `FROM image` (or `ARG` before it), and most lines open with an instruction.
fn is_dockerfile(head: &str, lines: &[&str]) -> bool {
    let word = |l: &str| l.split_whitespace().next().unwrap_or("").to_owned();
    let starts = word(head) == "FROM" || (word(head) == "ARG" && lines.iter().any(|l| word(l.trim()) == "FROM"));
    let instructions = lines.iter().filter(|l| DOCKER_INSTRUCTIONS.contains(&word(l.trim()).as_str())).count();
    starts && instructions * 2 >= lines.len()
}

/// A `target:` rule line followed by a tab-indented recipe.
fn is_makefile(lines: &[&str]) -> bool {
    let is_rule = |l: &str| {
        !l.starts_with([' ', '\t'])
            && l.split_once(':').is_some_and(|(targets, rest)| {
                !rest.starts_with('=')
                    && !targets.trim().is_empty()
                    && targets.split_whitespace().all(|t| t.chars().all(|c| c.is_alphanumeric() || "._-%/$()".contains(c)))
            })
    };
    lines.windows(2).any(|w| is_rule(w[0]) && w[1].starts_with('\t'))
}

/// A top-level statement only Python has: `def`, `class`, `import`, a decorator, a call or
/// an assignment at column 0.
fn looks_like_python(lines: &[&str]) -> bool {
    const STARTS: &[&str] =
        &["def ", "class ", "import ", "from ", "if __name__", "@", "async def ", "for ", "while ", "with ", "try:", "print(", "assert "];
    lines.iter().filter(|l| !l.starts_with([' ', '\t'])).any(|l| {
        STARTS.iter().any(|s| l.starts_with(s)) || {
            let ident: String = l.chars().take_while(|c| c.is_alphanumeric() || *c == '_' || *c == '.').collect();
            let rest = l[ident.len()..].trim_start();
            !ident.is_empty() && (rest.starts_with("= ") || rest.starts_with('(') || rest.starts_with(": ") && rest.contains(" = "))
        }
    })
}

/// `[table]` / `[[array.of.tables]]`.
fn is_toml_table(line: &str) -> bool {
    let inner =
        line.strip_prefix("[[").and_then(|l| l.strip_suffix("]]")).or_else(|| line.strip_prefix('[').and_then(|l| l.strip_suffix(']')));
    inner.is_some_and(|name| !name.is_empty() && name.chars().all(|c| c.is_alphanumeric() || "._-\"'".contains(c)))
}

/// Column-0 lines are `key:` / `key: value` / `- item` / `---`.
fn is_yaml(lines: &[&str]) -> bool {
    let top: Vec<&str> = lines.iter().copied().filter(|l| !l.starts_with([' ', '\t'])).collect();
    !top.is_empty()
        && top.iter().all(|l| {
            let key = l.split_once(':').map(|(k, _)| k.trim_matches('"').trim_matches('\''));
            *l == "---"
                || l.starts_with("- ")
                || key.is_some_and(|k| !k.is_empty() && k.chars().all(|c| c.is_alphanumeric() || "_-.".contains(c)))
        })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn kind(text: &str) -> (ArtifactKind, Option<&'static str>) {
        detect(&without_tags(text, false), &|_| false)
    }

    #[test]
    fn tells_the_orchestration_kinds_apart() {
        assert_eq!(
            kind("# syntax=docker/dockerfile:1\nFROM python:{{ v }}-slim\nWORKDIR /app\nCMD [\"python\"]\n").0,
            ArtifactKind::Dockerfile
        );
        assert_eq!(kind("services:\n  web:\n    image: x\n").1, Some("docker-compose.yml"));
        assert_eq!(kind("name: CI\non:\n  push:\njobs:\n  test:\n    runs-on: ubuntu-latest\n").1, Some(".github/workflows/ci.yml"));
        assert_eq!(kind("[project]\nname = \"{{ name }}\"\n").1, Some("pyproject.toml"));
        assert_eq!(kind("#!/usr/bin/env bash\nset -euo pipefail\n").0, ArtifactKind::Shell);
        assert_eq!(kind(".PHONY: test\ntest:\n\tpytest -q\n").1, Some("Makefile"));
        assert_eq!(kind("apiVersion: v1\nkind: Pod\n").1, Some("manifest.yaml"));
    }

    #[test]
    fn python_stays_python() {
        for code in [
            "import json\n\ndef f():\n    return 1\n",
            "{% if x %}\nfrom a import b\n{% endif %}\nresult = b()\n",
            "config = {\n    'a': 1,\n}\n",
            "class A:\n    pass\n",
            "x: int = 3\n",
            "#!/usr/bin/env python3\nprint(1)\n",
            "",
        ] {
            assert_eq!(kind(code).0, ArtifactKind::Python, "{code}");
        }
    }
}

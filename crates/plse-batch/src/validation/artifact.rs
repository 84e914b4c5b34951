//! Validators for artifacts that are not Python: parse the text and check its structure.
//! Host-side and pure (they read text, never execute it); shell scripts also get `sh -n`
//! inside the sandbox. Findings have the shape of ruff's (code, message, line, column) and are
//! recorded with the sample; errors fail the `artifact` stage, warnings are recorded only.

use plse_dataset::Finding;
use plse_schema::yaml::{Node, Value};
use plse_schema::{ArtifactKind, RenderStyle, SourceFile};

/// What the validator of an artifact's kind found.
#[derive(Debug, Default, PartialEq)]
pub struct Checked {
    /// What makes the artifact invalid.
    pub errors: Vec<Finding>,
    /// What a reviewer would flag (recorded, not fatal).
    pub warnings: Vec<Finding>,
    /// One line on what was checked.
    pub summary: String,
}

impl Checked {
    fn error(&mut self, code: &str, line: usize, message: impl Into<String>) {
        self.errors.push(finding(code, line, message));
    }

    fn warn(&mut self, code: &str, line: usize, message: impl Into<String>) {
        self.warnings.push(finding(code, line, message));
    }

    /// Errors then warnings.
    pub fn findings(&self) -> Vec<Finding> {
        self.errors.iter().chain(&self.warnings).cloned().collect()
    }
}

fn finding(code: &str, line: usize, message: impl Into<String>) -> Finding {
    Finding { code: code.to_owned(), message: message.into(), line: line as u32, column: u32::from(line > 0) }
}

/// Checks `text` as an artifact of `kind` written as `path`.
pub fn check(kind: ArtifactKind, path: &str, text: &str) -> Checked {
    let mut c = Checked::default();
    match kind {
        ArtifactKind::Toml => toml_check(&mut c, path, text),
        ArtifactKind::Yaml => yaml_check(&mut c, path, text),
        ArtifactKind::Dockerfile => dockerfile_check(&mut c, text),
        ArtifactKind::Shell => shell_check(&mut c, text),
        ArtifactKind::Text => text_check(&mut c, path, text),
        ArtifactKind::Python => {}
    }
    c
}

fn toml_check(c: &mut Checked, path: &str, text: &str) {
    let doc: toml::Table = match text.parse() {
        Ok(d) => d,
        Err(e) => {
            let e: toml::de::Error = e;
            let line = e.span().map_or(0, |s| text[..s.start.min(text.len())].matches('\n').count() + 1);
            return c.error("toml-syntax", line, format!("invalid TOML: {}", e.message()));
        }
    };
    c.summary = "valid TOML".into();
    if !path.ends_with("pyproject.toml") {
        return;
    }
    let line_of = |needle: &str| text.lines().position(|l| l.trim() == needle).map_or(0, |i| i + 1);
    let Some(project) = doc.get("project").and_then(|p| p.as_table()) else {
        return c.error("pyproject-no-project", 0, "pyproject.toml has no [project] table");
    };
    for key in ["name", "version"] {
        let dynamic = project.get("dynamic").and_then(|d| d.as_array()).is_some_and(|d| d.iter().any(|v| v.as_str() == Some(key)));
        if !project.contains_key(key) && !dynamic {
            c.error("pyproject-missing-field", line_of("[project]"), format!("[project] lacks `{key}` (and does not list it as dynamic)"));
        }
    }
    if !project.contains_key("requires-python") {
        c.warn("pyproject-no-requires-python", line_of("[project]"), "[project] does not state `requires-python`");
    }
    match doc.get("build-system").and_then(|b| b.as_table()) {
        None => c.error("pyproject-no-build-system", 0, "pyproject.toml has no [build-system] table"),
        Some(b) if !b.contains_key("requires") || !b.contains_key("build-backend") => {
            c.error("pyproject-build-system", line_of("[build-system]"), "[build-system] needs `requires` and `build-backend`")
        }
        Some(_) => c.summary = "valid pyproject.toml".into(),
    }
}

fn get<'a>(map: &'a [(Node, Node)], key: &str) -> Option<&'a Node> {
    map.iter().find(|(k, _)| k.as_scalar().is_some_and(|s| s.text == key)).map(|(_, v)| v)
}

fn scalar<'a>(map: &'a [(Node, Node)], key: &str) -> Option<&'a str> {
    get(map, key).and_then(|n| n.as_scalar()).map(|s| s.text.as_str())
}

/// The documents of a YAML stream (split at `---` lines), each with the line it starts on.
fn documents(text: &str) -> Vec<(usize, String)> {
    let mut docs = vec![(0usize, String::new())];
    for (i, line) in text.lines().enumerate() {
        if line.trim_end() == "---" || line.starts_with("--- ") {
            docs.push((i + 1, String::new()));
            continue;
        }
        if let Some((_, d)) = docs.last_mut() {
            d.push_str(line);
            d.push('\n');
        }
    }
    docs.retain(|(_, d)| d.lines().any(|l| !l.trim().is_empty() && !l.trim_start().starts_with('#')));
    docs
}

fn yaml_check(c: &mut Checked, path: &str, text: &str) {
    let docs = documents(text);
    if docs.is_empty() {
        return c.error("yaml-empty", 0, "empty YAML document");
    }
    let mut kinds = Vec::new();
    for (offset, doc) in &docs {
        let source = SourceFile::new(path, doc.as_str());
        let (root, diags) = plse_schema::yaml::parse(&source);
        if let Some(d) = diags.iter().find(|d| d.is_error()) {
            let line = offset + source.line_col(d.span.start).0;
            return c.error("yaml-syntax", line, d.message.clone());
        }
        let Some(root) = root else { continue };
        let Value::Map(map) = &root.value else {
            kinds.push("YAML");
            continue;
        };
        let line = |n: &Node| offset + source.line_col(n.span.start).0;
        kinds.push(if get(map, "plse_version").is_some() {
            pattern_check(c, path, doc)
        } else if get(map, "jobs").is_some() && (get(map, "on").is_some() || get(map, "true").is_some()) {
            workflow_check(c, map, &line)
        } else if get(map, "apiVersion").is_some() && get(map, "kind").is_some() {
            kubernetes_check(c, map, &line)
        } else if let Some(services) = get(map, "services") {
            compose_check(c, services, &line)
        } else if let Some(repos) = get(map, "repos") {
            precommit_check(c, repos, &line)
        } else {
            "YAML"
        });
    }
    if c.errors.is_empty() {
        c.summary = format!("valid {}", kinds.join(" + "));
    }
}

fn pattern_check(c: &mut Checked, path: &str, doc: &str) -> &'static str {
    // A pattern (what the meta-patterns emit): PLSE's own loader is the validator.
    let file = plse_schema::load(path, doc.as_bytes());
    for d in file.diagnostics.iter().filter(|d| d.is_error()) {
        let line = file.source.line_col(d.span.start).0;
        c.error(&format!("pattern-{}", d.code.as_str()), line, d.render(&file.source, RenderStyle::Plain));
    }
    "PLSE pattern"
}

fn workflow_check(c: &mut Checked, map: &[(Node, Node)], line: &dyn Fn(&Node) -> usize) -> &'static str {
    let Some(jobs) = get(map, "jobs") else { return "workflow" };
    let Value::Map(jobs) = &jobs.value else {
        c.error("workflow-jobs", line(jobs), "`jobs` must be a mapping");
        return "workflow";
    };
    if jobs.is_empty() {
        c.error("workflow-no-jobs", 0, "workflow has no jobs");
    }
    if get(map, "permissions").is_none() {
        c.warn("workflow-default-permissions", 0, "no top-level `permissions:`: jobs get the default token scope");
    }
    for (name, job) in jobs {
        let label = name.as_scalar().map_or("?", |s| s.text.as_str());
        let Value::Map(job) = &job.value else {
            c.error("workflow-job", line(name), format!("job `{label}` must be a mapping"));
            continue;
        };
        if get(job, "runs-on").is_none() && get(job, "uses").is_none() {
            c.error("workflow-no-runs-on", line(name), format!("job `{label}` has no `runs-on`"));
        }
        if get(job, "steps").is_none() && get(job, "uses").is_none() {
            c.error("workflow-no-steps", line(name), format!("job `{label}` has no `steps`"));
        }
        if get(job, "timeout-minutes").is_none() && get(job, "uses").is_none() {
            c.warn("workflow-no-timeout", line(name), format!("job `{label}` has no `timeout-minutes` (the default is 6 hours)"));
        }
    }
    "workflow"
}

fn kubernetes_check(c: &mut Checked, map: &[(Node, Node)], line: &dyn Fn(&Node) -> usize) -> &'static str {
    let kind = scalar(map, "kind").unwrap_or("");
    let named = get(map, "metadata").is_some_and(|m| matches!(&m.value, Value::Map(m) if scalar(m, "name").is_some()));
    if !named {
        c.error("k8s-no-name", 0, format!("{kind} has no metadata.name"));
    }
    if matches!(kind, "Deployment" | "StatefulSet" | "DaemonSet" | "ReplicaSet") {
        let spec = get(map, "spec").and_then(|s| if let Value::Map(m) = &s.value { Some(m) } else { None });
        let labels = |n: Option<&Node>| -> Vec<(String, String)> {
            match n.map(|n| &n.value) {
                Some(Value::Map(m)) => {
                    m.iter().filter_map(|(k, v)| Some((k.as_scalar()?.text.clone(), v.as_scalar()?.text.clone()))).collect()
                }
                _ => Vec::new(),
            }
        };
        let Some(spec) = spec else {
            c.error("k8s-no-spec", 0, format!("{kind} has no spec"));
            return "Kubernetes manifest";
        };
        let selector = get(spec, "selector").and_then(|s| if let Value::Map(m) = &s.value { get(m, "matchLabels") } else { None });
        let template_labels = get(spec, "template")
            .and_then(|t| if let Value::Map(m) = &t.value { get(m, "metadata") } else { None })
            .and_then(|m| if let Value::Map(m) = &m.value { get(m, "labels") } else { None });
        let (want, have) = (labels(selector), labels(template_labels));
        if want.is_empty() || !want.iter().all(|l| have.contains(l)) {
            let at = selector.map_or(0, line);
            c.error("k8s-selector-mismatch", at, format!("{kind}'s spec.selector.matchLabels must be among spec.template.metadata.labels"));
        }
    }
    "Kubernetes manifest"
}

fn compose_check(c: &mut Checked, services: &Node, line: &dyn Fn(&Node) -> usize) -> &'static str {
    let Value::Map(services) = &services.value else {
        c.error("compose-services", line(services), "`services` must be a mapping");
        return "Compose file";
    };
    for (name, svc) in services {
        let label = name.as_scalar().map_or("?", |s| s.text.as_str());
        let image = merged(svc, "image");
        if image.is_none() && merged(svc, "build").is_none() {
            c.error("compose-no-image", line(name), format!("service `{label}` has neither `image` nor `build`"));
        } else if image.and_then(|n| n.as_scalar()).is_some_and(|i| !i.text.contains(':') || i.text.ends_with(":latest")) {
            c.warn("compose-unpinned-image", line(name), format!("service `{label}` uses an unpinned image"));
        }
    }
    "Compose file"
}

/// The value of `key` in a mapping, or in the mappings it merges (`<<: *base`).
fn merged<'a>(node: &'a Node, key: &str) -> Option<&'a Node> {
    let Value::Map(m) = &node.value else { return None };
    get(m, key).or_else(|| match get(m, "<<").map(|n| &n.value) {
        Some(Value::Map(_)) => get(m, "<<").and_then(|n| merged(n, key)),
        Some(Value::Seq(items)) => items.iter().find_map(|n| merged(n, key)),
        _ => None,
    })
}

fn precommit_check(c: &mut Checked, repos: &Node, line: &dyn Fn(&Node) -> usize) -> &'static str {
    let Value::Seq(repos) = &repos.value else {
        c.error("pre-commit-repos", line(repos), "`repos` must be a list");
        return "pre-commit config";
    };
    for r in repos {
        let Value::Map(m) = &r.value else {
            c.error("pre-commit-repo", line(r), "each repo must be a mapping");
            continue;
        };
        let repo = scalar(m, "repo").unwrap_or("");
        if repo.is_empty() || get(m, "hooks").is_none() {
            c.error("pre-commit-repo", line(r), "a repo needs `repo` and `hooks`");
        } else if !matches!(repo, "local" | "meta") && get(m, "rev").is_none() {
            c.error("pre-commit-no-rev", line(r), format!("repo `{repo}` has no pinned `rev`"));
        }
    }
    "pre-commit config"
}

const DOCKER_INSTRUCTIONS: &[&str] = &[
    "FROM",
    "RUN",
    "CMD",
    "LABEL",
    "MAINTAINER",
    "EXPOSE",
    "ENV",
    "ADD",
    "COPY",
    "ENTRYPOINT",
    "VOLUME",
    "USER",
    "WORKDIR",
    "ARG",
    "ONBUILD",
    "STOPSIGNAL",
    "HEALTHCHECK",
    "SHELL",
];

/// Logical lines (continuations joined) with the 1-based line each starts on.
fn logical_lines(text: &str) -> Vec<(usize, String)> {
    let mut out: Vec<(usize, String)> = Vec::new();
    let mut continued = false;
    for (i, line) in text.lines().enumerate() {
        let trimmed = line.trim();
        if continued {
            if let Some((_, l)) = out.last_mut() {
                l.push(' ');
                l.push_str(trimmed.trim_end_matches('\\'));
            }
            continued = trimmed.ends_with('\\');
            continue;
        }
        if trimmed.is_empty() || trimmed.starts_with('#') {
            continue;
        }
        continued = trimmed.ends_with('\\');
        out.push((i + 1, trimmed.trim_end_matches('\\').to_owned()));
    }
    out
}

fn dockerfile_check(c: &mut Checked, text: &str) {
    let lines = logical_lines(text);
    let mut ops = Vec::new();
    for (n, line) in &lines {
        let word = line.split_whitespace().next().unwrap_or("").to_uppercase();
        if !DOCKER_INSTRUCTIONS.contains(&word.as_str()) {
            c.error("dockerfile-unknown-instruction", *n, format!("`{word}` is not a Dockerfile instruction"));
        }
        let args = line[line.find(char::is_whitespace).unwrap_or(line.len())..].trim();
        match word.as_str() {
            "FROM" => {
                let image = args.split_whitespace().next().unwrap_or("");
                let pinned = image.contains('@') || image.rsplit('/').next().is_some_and(|i| i.contains(':') && !i.ends_with(":latest"));
                if !pinned && image != "scratch" && !image.starts_with('$') {
                    c.warn("dockerfile-unpinned-base", *n, format!("base image `{image}` is not pinned to a tag"));
                }
            }
            "ADD" if !args.contains("://") && !args.contains(".tar") => {
                c.warn("dockerfile-add-instead-of-copy", *n, "ADD of local files: COPY says what it does")
            }
            "RUN" if args.contains("apt-get install") && !args.contains("--no-install-recommends") => {
                c.warn("dockerfile-apt-recommends", *n, "apt-get install without --no-install-recommends")
            }
            "RUN" if args.contains("pip install") && !args.contains("--no-cache-dir") && !args.contains("PIP_NO_CACHE_DIR") => {
                c.warn("dockerfile-pip-cache", *n, "pip install without --no-cache-dir keeps the cache in the layer")
            }
            "CMD" | "ENTRYPOINT" if !args.starts_with('[') => {
                c.warn("dockerfile-shell-form", *n, format!("{word} in shell form: signals do not reach the process"))
            }
            _ => {}
        }
        ops.push(word);
    }
    match ops.iter().find(|w| *w != "ARG") {
        Some(first) if first == "FROM" => {}
        _ => c.error("dockerfile-from-first", lines.first().map_or(0, |l| l.0), "the first instruction (after ARG) must be FROM"),
    }
    if !ops.iter().any(|w| w == "CMD" || w == "ENTRYPOINT") {
        c.error("dockerfile-no-cmd", 0, "no CMD or ENTRYPOINT");
    }
    let last_from = ops.iter().rposition(|w| w == "FROM").unwrap_or(0);
    if !ops[last_from..].iter().any(|w| w == "USER") {
        c.warn("dockerfile-runs-as-root", 0, "the final stage has no USER: the container runs as root");
    }
    if c.errors.is_empty() {
        c.summary = format!("valid Dockerfile ({} instructions)", ops.len());
    }
}

fn shell_check(c: &mut Checked, text: &str) {
    let first = text.lines().next().unwrap_or("");
    if !first.starts_with("#!") {
        c.warn("shell-no-shebang", 1, "no `#!` line: the interpreter depends on how it is started");
    }
    if !text.lines().any(|l| l.trim_start().starts_with("set -e") || l.trim_start().starts_with("set -o errexit") || l.contains("set -eu"))
    {
        c.warn("shell-no-errexit", 0, "no `set -e`: a failing command does not stop the script");
    }
    c.summary = "shell script (syntax checked with sh -n)".into();
}

fn text_check(c: &mut Checked, path: &str, text: &str) {
    let name = path.rsplit('/').next().unwrap_or(path);
    if matches!(name, "Makefile" | "makefile" | "GNUmakefile") || name.ends_with(".mk") {
        let mut in_rule = false;
        for (i, line) in text.lines().enumerate() {
            let is_rule = !line.starts_with(['\t', ' ', '#']) && line.contains(':') && !line.contains(":=") && !line.contains('=');
            if is_rule {
                in_rule = true;
            } else if in_rule && line.starts_with(' ') && !line.trim().is_empty() {
                c.error("makefile-recipe-spaces", i + 1, "recipe line indented with spaces: make needs a tab");
            } else if line.trim().is_empty() || !line.starts_with('\t') {
                in_rule = is_rule;
            }
        }
        c.summary = "Makefile".into();
    } else if name.ends_with(".json") {
        if let Err(e) = serde_json::from_str::<serde_json::Value>(text) {
            c.error("json-syntax", e.line(), format!("invalid JSON: {e}"));
        }
        c.summary = "valid JSON".into();
    } else if name.ends_with(".ini") || name.ends_with(".cfg") {
        for (i, line) in text.lines().enumerate() {
            let t = line.trim();
            let ok = t.is_empty()
                || t.starts_with(['#', ';'])
                || (t.starts_with('[') && t.ends_with(']'))
                || t.contains('=')
                || t.contains(':')
                || line.starts_with([' ', '\t']);
            if !ok {
                c.error("ini-syntax", i + 1, format!("`{t}` is neither a section, a key nor a continuation"));
            }
        }
        c.summary = "INI file".into();
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn codes(c: &Checked) -> Vec<&str> {
        c.errors.iter().chain(&c.warnings).map(|f| f.code.as_str()).collect()
    }

    #[test]
    fn validators_accept_good_and_refuse_bad() {
        let py = "[project]\nname = \"x\"\nversion = \"1\"\nrequires-python = \">=3.11\"\n[build-system]\nrequires = [\"hatchling\"]\nbuild-backend = \"hatchling.build\"\n";
        assert_eq!(
            check(ArtifactKind::Toml, "pyproject.toml", py),
            Checked { summary: "valid pyproject.toml".into(), ..Checked::default() }
        );
        assert_eq!(
            codes(&check(ArtifactKind::Toml, "pyproject.toml", "[project]\nname = \"x\"\n")),
            ["pyproject-missing-field", "pyproject-no-build-system", "pyproject-no-requires-python"]
        );
        let bad = check(ArtifactKind::Toml, "a.toml", "a = 1\nx = [");
        assert_eq!((bad.errors[0].code.as_str(), bad.errors[0].line), ("toml-syntax", 2));
        let wf = "on: [push]\npermissions: {}\njobs:\n  test:\n    runs-on: ubuntu-latest\n    timeout-minutes: 5\n    steps:\n      - run: echo\n";
        assert!(check(ArtifactKind::Yaml, "ci.yml", wf).errors.is_empty());
        let c = check(ArtifactKind::Yaml, "ci.yml", "on: [push]\njobs:\n  test:\n    steps: []\n");
        assert_eq!(codes(&c), ["workflow-no-runs-on", "workflow-default-permissions", "workflow-no-timeout"]);
        assert_eq!(c.errors[0].line, 3);
        assert!(!check(ArtifactKind::Yaml, "p.yaml", "plse_version: \"3\"\npattern_id: x\n").errors.is_empty());
        let ok = check(ArtifactKind::Dockerfile, "Dockerfile", "ARG V=3\nFROM python:3.12-slim\nRUN a \\\n  b\nUSER app\nCMD [\"x\"]\n");
        assert_eq!(ok, Checked { summary: "valid Dockerfile (5 instructions)".into(), ..Checked::default() });
        assert_eq!(
            codes(&check(ArtifactKind::Dockerfile, "Dockerfile", "RUN x\nFROM y\nCMD z\n")),
            ["dockerfile-from-first", "dockerfile-unpinned-base", "dockerfile-shell-form", "dockerfile-runs-as-root"]
        );
        assert_eq!(check(ArtifactKind::Dockerfile, "Dockerfile", "FROM y:1\nBOGUS z\nCMD [\"a\"]\n").errors[0].line, 2);
    }

    #[test]
    fn kubernetes_compose_precommit_and_text_kinds() {
        let k8s = "apiVersion: apps/v1\nkind: Deployment\nmetadata:\n  name: web\nspec:\n  selector:\n    matchLabels: {app: web}\n  template:\n    metadata:\n      labels: {app: web, tier: front}\n---\napiVersion: v1\nkind: Service\nmetadata:\n  name: web\n";
        let c = check(ArtifactKind::Yaml, "k8s.yaml", k8s);
        assert_eq!((c.errors.len(), c.summary.as_str()), (0, "valid Kubernetes manifest + Kubernetes manifest"));
        let bad = check(ArtifactKind::Yaml, "k8s.yaml", &k8s.replace("labels: {app: web, tier", "labels: {app: api, tier"));
        assert_eq!((bad.errors[0].code.as_str(), bad.errors[0].line), ("k8s-selector-mismatch", 7));
        let compose = check(ArtifactKind::Yaml, "compose.yaml", "services:\n  db:\n    image: postgres\n  app: {}\n");
        assert_eq!(codes(&compose), ["compose-no-image", "compose-unpinned-image"]);
        let merge = "x-base: &base\n  image: python:3.12\nservices:\n  a:\n    <<: *base\n  b:\n    <<: [*base]\n    command: x\n";
        assert!(
            check(ArtifactKind::Yaml, "compose.yaml", merge).errors.is_empty(),
            "{:?}",
            check(ArtifactKind::Yaml, "compose.yaml", merge)
        );
        let pc = check(ArtifactKind::Yaml, ".pre-commit-config.yaml", "repos:\n  - repo: https://x\n    hooks: [{id: a}]\n");
        assert_eq!(codes(&pc), ["pre-commit-no-rev"]);
        let make = check(ArtifactKind::Text, "Makefile", "all: test\n\ntest:\n    pytest\n");
        assert_eq!((make.errors[0].code.as_str(), make.errors[0].line), ("makefile-recipe-spaces", 4));
        assert!(check(ArtifactKind::Text, "Makefile", "all: test\n\ntest:\n\tpytest\n").errors.is_empty());
        assert_eq!(check(ArtifactKind::Text, "x.json", "{\"a\": }").errors[0].code, "json-syntax");
        assert_eq!(codes(&check(ArtifactKind::Shell, "run.sh", "echo hi\n")), ["shell-no-shebang", "shell-no-errexit"]);
    }
}

//! Validators for artifacts that are not Python: parse the text and check its structure.
//! Host-side and pure (they read text, never execute it); shell scripts are checked with
//! `sh -n` inside the sandbox by the pipeline.

use plse_schema::yaml::{Node, Value};
use plse_schema::{ArtifactKind, RenderStyle, SourceFile};

/// Checks `text` as an artifact of `kind` written as `path`. `Err` says what is wrong.
pub fn check(kind: ArtifactKind, path: &str, text: &str) -> Result<String, String> {
    match kind {
        ArtifactKind::Toml => toml_check(path, text),
        ArtifactKind::Yaml => yaml_check(path, text),
        ArtifactKind::Dockerfile => dockerfile_check(text),
        ArtifactKind::Python | ArtifactKind::Shell | ArtifactKind::Text => Ok(String::new()),
    }
}

fn toml_check(path: &str, text: &str) -> Result<String, String> {
    let doc: toml::Table = text.parse().map_err(|e: toml::de::Error| format!("invalid TOML: {}", e.message()))?;
    if path.ends_with("pyproject.toml") {
        let project = doc.get("project").and_then(|p| p.as_table()).ok_or("pyproject.toml has no [project] table")?;
        for key in ["name", "version"] {
            let dynamic = project.get("dynamic").and_then(|d| d.as_array()).is_some_and(|d| d.iter().any(|v| v.as_str() == Some(key)));
            if !project.contains_key(key) && !dynamic {
                return Err(format!("pyproject.toml [project] lacks `{key}`"));
            }
        }
        let build = doc.get("build-system").and_then(|b| b.as_table()).ok_or("pyproject.toml has no [build-system] table")?;
        if !build.contains_key("requires") || !build.contains_key("build-backend") {
            return Err("[build-system] needs `requires` and `build-backend`".into());
        }
        return Ok("valid pyproject.toml".into());
    }
    Ok("valid TOML".into())
}

fn get<'a>(map: &'a [(Node, Node)], key: &str) -> Option<&'a Node> {
    map.iter().find(|(k, _)| k.as_scalar().is_some_and(|s| s.text == key)).map(|(_, v)| v)
}

fn yaml_check(path: &str, text: &str) -> Result<String, String> {
    let source = SourceFile::new(path, text);
    let (root, diags) = plse_schema::yaml::parse(&source);
    if let Some(d) = diags.iter().find(|d| d.is_error()) {
        return Err(d.render(&source, RenderStyle::Plain));
    }
    let Some(root) = root else { return Err("empty YAML document".into()) };
    let Value::Map(map) = &root.value else { return Ok("valid YAML".into()) };
    if get(map, "plse_version").is_some() {
        // A pattern (what the meta-pattern emits): our own loader is the validator.
        let file = plse_schema::load(path, text.as_bytes());
        if file.has_errors() {
            return Err(plse_schema::render_all(&file.diagnostics, &file.source, RenderStyle::Plain));
        }
        return Ok("valid PLSE pattern".into());
    }
    if let Some(jobs) = get(map, "jobs") {
        // A CI workflow.
        if get(map, "on").is_none() && get(map, "true").is_none() {
            return Err("workflow has no `on:` trigger".into());
        }
        let Value::Map(jobs) = &jobs.value else { return Err("`jobs` must be a mapping".into()) };
        if jobs.is_empty() {
            return Err("workflow has no jobs".into());
        }
        for (name, job) in jobs {
            let name = name.as_scalar().map_or("?", |s| s.text.as_str());
            let Value::Map(job) = &job.value else { return Err(format!("job `{name}` must be a mapping")) };
            if get(job, "runs-on").is_none() && get(job, "uses").is_none() {
                return Err(format!("job `{name}` has no `runs-on`"));
            }
            if get(job, "steps").is_none() && get(job, "uses").is_none() {
                return Err(format!("job `{name}` has no `steps`"));
            }
        }
        return Ok(format!("valid workflow with {} jobs", jobs.len()));
    }
    Ok("valid YAML".into())
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

fn dockerfile_check(text: &str) -> Result<String, String> {
    let mut instructions = Vec::new();
    let mut continued = false;
    for (i, line) in text.lines().enumerate() {
        let trimmed = line.trim();
        if continued {
            continued = trimmed.ends_with('\\');
            continue;
        }
        if trimmed.is_empty() || trimmed.starts_with('#') {
            continue;
        }
        let word = trimmed.split_whitespace().next().unwrap_or("").to_uppercase();
        if !DOCKER_INSTRUCTIONS.contains(&word.as_str()) {
            return Err(format!("line {}: `{word}` is not a Dockerfile instruction", i + 1));
        }
        continued = trimmed.ends_with('\\');
        instructions.push(word);
    }
    match instructions.iter().find(|w| *w != "ARG") {
        Some(first) if first == "FROM" => {}
        _ => return Err("the first instruction (after ARG) must be FROM".into()),
    }
    if !instructions.iter().any(|w| w == "CMD" || w == "ENTRYPOINT") {
        return Err("no CMD or ENTRYPOINT".into());
    }
    Ok(format!("valid Dockerfile ({} instructions)", instructions.len()))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn validators_accept_good_and_refuse_bad() {
        let py =
            "[project]\nname = \"x\"\nversion = \"1\"\n[build-system]\nrequires = [\"hatchling\"]\nbuild-backend = \"hatchling.build\"\n";
        assert!(check(ArtifactKind::Toml, "pyproject.toml", py).is_ok());
        assert!(check(ArtifactKind::Toml, "pyproject.toml", "[project]\nname = \"x\"\n").is_err());
        assert!(check(ArtifactKind::Toml, "a.toml", "x = [").is_err());
        let wf = "on: [push]\njobs:\n  test:\n    runs-on: ubuntu-latest\n    steps:\n      - run: echo\n";
        assert!(check(ArtifactKind::Yaml, "ci.yml", wf).is_ok());
        assert!(check(ArtifactKind::Yaml, "ci.yml", "on: [push]\njobs:\n  test:\n    steps: []\n").is_err());
        assert!(check(ArtifactKind::Yaml, "p.yaml", "plse_version: \"3\"\npattern_id: x\n").is_err());
        assert!(check(ArtifactKind::Dockerfile, "Dockerfile", "ARG V=3\nFROM python:3.12\nRUN a \\\n  b\nCMD [\"x\"]\n").is_ok());
        assert!(check(ArtifactKind::Dockerfile, "Dockerfile", "RUN x\nFROM y\nCMD z\n").is_err());
        assert!(check(ArtifactKind::Dockerfile, "Dockerfile", "FROM y\nBOGUS z\n").is_err());
    }
}

//! Static checks of a pattern's templates: syntax, and variables that are not parameters.

use std::collections::BTreeSet;
use std::ops::Range;

use crate::diagnostic::{Code, Diagnostic};
use crate::fields::did_you_mean;
use crate::jinja::{ANSWER_GLOBALS, GLOBALS, TEST_GLOBALS, environment};
use crate::model::{FormatVersion, TemplateText};
use crate::schema::Collected;
use crate::source::SourceFile;
use crate::yaml::Origin;

/// Maps a byte range inside a template to a byte range in the file.
pub fn locate(source: &SourceFile, t: &TemplateText, range: Range<usize>) -> Range<usize> {
    let start = map_offset(source, t, range.start);
    let end = map_offset(source, t, range.end.max(range.start));
    // A range crossing lines maps to its first line only: the snippet shows that line.
    let (line, _) = source.line_col(start);
    start..end.min(source.line_end(line)).max(start)
}

fn map_offset(source: &SourceFile, t: &TemplateText, off: usize) -> usize {
    // YAML folding (`>`), line joining in flow scalars and escapes mean template offsets do
    // not map line-for-line to the file. Walk the template and the raw content side by side,
    // skipping what YAML removed (indentation, escapes) and letting folded spaces match line
    // breaks, and stop at `off`.
    let content = raw_content(source, t.origin);
    // Offsets come from the template engine and may point inside a multi-byte character.
    let text = &t.text[..t.text.floor_char_boundary(off.min(t.text.len()))];
    let mut src = content.iter().peekable();
    let mut last = content.first().map_or(t.span.start, |(o, _)| *o);
    for tc in text.chars() {
        loop {
            let Some(&&(o, sc)) = src.peek() else { return last };
            if sc == tc || (tc == ' ' && sc == '\n') {
                src.next();
                last = o + sc.len_utf8();
                break;
            }
            if sc == '\n' || sc == '\\' || sc == ' ' {
                src.next();
                continue;
            }
            if tc == '\n' || tc == ' ' {
                break;
            }
            src.next();
            last = o + sc.len_utf8();
            break;
        }
    }
    src.peek().map_or(last, |(o, _)| *o)
}

/// The scalar's content as written in the file, with byte offsets, indentation removed.
fn raw_content(source: &SourceFile, origin: Origin) -> Vec<(usize, char)> {
    let text = source.text();
    match origin {
        Origin::Inline(start) => text[start..].char_indices().map(|(i, c)| (start + i, c)).collect(),
        Origin::Block { first_line, indent } => {
            let mut out = Vec::new();
            let mut line = first_line;
            while source.line_start(line) < text.len() {
                let (ls, le) = (source.line_start(line), source.line_end(line));
                let body = &text[ls..le];
                let skip = body.len() - body.trim_start_matches(' ').len();
                let skip = skip.min(indent);
                if skip < indent && !body.trim().is_empty() {
                    break; // dedent: the scalar ended
                }
                out.extend(body[skip..].char_indices().map(|(i, c)| (ls + skip + i, c)));
                out.push((le, '\n'));
                line += 1;
            }
            out
        }
    }
}

/// Maps a minijinja error raised for template `t` to a diagnostic in the file.
pub fn template_error(source: &SourceFile, t: &TemplateText, err: &minijinja::Error, code: Code) -> Diagnostic {
    let range = err.range().or_else(|| {
        err.line().map(|l| {
            let start: usize = t.text.split_inclusive('\n').take(l.saturating_sub(1)).map(str::len).sum();
            start..start
        })
    });
    let span = range.map_or(t.span.clone(), |r| locate(source, t, r));
    let detail = err.detail().map_or_else(|| err.kind().to_string(), str::to_owned);
    let (message, help) = match code {
        Code::TemplateSyntax => (
            format!("template syntax error in `{}`: {detail}", t.name),
            "check the `{{ }}` / `{% %}` delimiters and that every block is closed",
        ),
        _ => (format!("rendering `{}` failed: {detail}", t.name), render_help(err)),
    };
    Diagnostic::error(code, span, message).with_label(err.kind().to_string()).with_help(help)
}

fn render_help(err: &minijinja::Error) -> &'static str {
    match err.kind() {
        minijinja::ErrorKind::OutOfFuel => {
            "the template does too much work (an endless or huge loop?); templates must render in bounded time"
        }
        minijinja::ErrorKind::InvalidOperation if err.to_string().contains("recursion") => {
            "recursion is limited; do not let macros call themselves without a bound"
        }
        minijinja::ErrorKind::UndefinedError => "every variable must be a parameter (or `loop`, `range`, ...)",
        _ => "fix the template, or the parameter values it is given",
    }
}

/// Checks every template against the declared parameter names; returns the declared names
/// some template uses (to spot unused parameters).
pub(crate) fn check(collected: &Collected, source: &SourceFile, diags: &mut Vec<Diagnostic>) -> BTreeSet<String> {
    let (templates, declared, format) = (&collected.templates, &collected.declared, collected.format);
    let env = environment(format);
    let all: Vec<&str> = declared.iter().map(String::as_str).collect();
    let mut used = BTreeSet::new();
    for t in templates {
        let derived = t.name.strip_prefix("parameters.").and_then(|n| n.strip_suffix(".constraints.expression"));
        let undeclared = match derived {
            Some(_) => env.compile_expression(&t.text).map(|e| e.undeclared_variables(false)),
            None => env.template_from_named_str(&t.name, &t.text).map(|tmpl| tmpl.undeclared_variables(false)),
        };
        let undeclared = match undeclared {
            Ok(u) => u,
            Err(e) => {
                diags.push(template_error(source, t, &e, Code::TemplateSyntax));
                continue;
            }
        };
        // A derived parameter may only read the parameters declared before it.
        let known: Vec<&str> = match derived {
            Some(name) => all.iter().copied().take_while(|n| *n != name).collect(),
            None => all.clone(),
        };
        let extra: &[&str] = if t.name.starts_with("validation.unit_test_snippets") {
            TEST_GLOBALS
        } else if t.name == "answer" {
            ANSWER_GLOBALS
        } else {
            &[]
        };
        // minijinja's analysis scopes a `{% set %}` inside `{% if %}` to the branch, while
        // rendering (like Jinja2) sees it after the block: names the template assigns itself are
        // not parameters it lacks. A real use-before-set still fails at render time (lint).
        let assigned = assigned_names(&t.text);
        let undeclared: std::collections::HashSet<String> = undeclared.into_iter().filter(|n| !assigned.contains(n.as_str())).collect();
        for name in &undeclared {
            if all.contains(&name.as_str()) {
                used.insert(name.clone());
            }
        }
        let scope = Scope { known: &known, extra, is_expression: derived.is_some(), format };
        report_undeclared(source, t, undeclared, &scope, diags);
    }
    used
}

/// What a template may name: the parameters it can see, its extra globals, and whether it is a
/// derived parameter's expression; the file's format decides error or warning.
struct Scope<'a> {
    known: &'a [&'a str],
    extra: &'a [&'a str],
    is_expression: bool,
    format: FormatVersion,
}

fn report_undeclared(
    source: &SourceFile,
    t: &TemplateText,
    undeclared: std::collections::HashSet<String>,
    scope: &Scope,
    diags: &mut Vec<Diagnostic>,
) {
    let Scope { known, extra, is_expression, format } = *scope;
    let mut names: Vec<String> = undeclared.into_iter().collect();
    names.sort();
    for name in names {
        if known.contains(&name.as_str()) {
            continue;
        }
        let global = GLOBALS.contains(&name.as_str()) && !(format == FormatVersion::V2 && name == "debug");
        if global || extra.contains(&name.as_str()) {
            continue;
        }
        let at = find_identifier(&t.text, &name, is_expression).map_or(t.span.clone(), |o| locate(source, t, o..o + name.len()));
        let message = format!("`{name}` in `{}` is not a parameter", t.name);
        let mut d = match format {
            FormatVersion::V3 => Diagnostic::error(Code::UndefinedVariable, at, message).with_label("not defined"),
            // The Python engine rendered an undefined name as nothing; so does a v2.0 file here.
            FormatVersion::V2 => Diagnostic::warning(Code::UndefinedVariable, at, message).with_label("renders as an empty string (v2.0)"),
        };
        d = match did_you_mean(&name, known.iter().copied()) {
            Some(s) => d.with_help(format!("did you mean `{s}`?")),
            None if is_expression => d.with_help("a derived parameter may only use parameters declared before it"),
            None => d.with_help(format!("declare `{name}` under `parameters`, or fix the name")),
        };
        diags.push(d);
    }
}

/// First whole-word occurrence of `name` inside a `{{ }}` or `{% %}` region (or anywhere, for
/// a bare expression), skipping attribute accesses like `x.name`.
fn find_identifier(text: &str, name: &str, is_expression: bool) -> Option<usize> {
    let is_word = |c: char| c.is_alphanumeric() || c == '_';
    text.match_indices(name).map(|(i, _)| i).find(|&i| {
        let prev = text[..i].chars().next_back();
        let next = text[i + name.len()..].chars().next();
        let whole = !prev.is_some_and(|c| is_word(c) || c == '.') && !next.is_some_and(is_word);
        whole && (is_expression || in_jinja_region(&text[..i]))
    })
}

fn in_jinja_region(before: &str) -> bool {
    let open = before.rfind("{{").max(before.rfind("{%"));
    let close = before.rfind("}}").max(before.rfind("%}"));
    match (open, close) {
        (Some(o), Some(c)) => o > c,
        (Some(_), None) => true,
        _ => false,
    }
}

/// Names a template binds itself: `{% set a, b = ... %}`, `{% for x, y in ... %}`,
/// `{% macro m(p, q=1) %}`.
fn assigned_names(text: &str) -> std::collections::HashSet<&str> {
    fn idents(s: &str) -> impl Iterator<Item = &str> {
        s.split(|c: char| !(c.is_alphanumeric() || c == '_')).filter(|w| w.chars().next().is_some_and(|c| c.is_alphabetic() || c == '_'))
    }
    let mut out = std::collections::HashSet::new();
    let mut rest = text;
    while let Some(open) = rest.find("{%") {
        let after = &rest[open + 2..];
        let close = after.find("%}").unwrap_or(after.len());
        let tag = after[..close].trim_start_matches(['-', '+']).trim();
        if let Some(body) = tag.strip_prefix("set ") {
            out.extend(idents(body.split('=').next().unwrap_or("")));
        } else if let Some(body) = tag.strip_prefix("for ") {
            out.extend(idents(body.split(" in ").next().unwrap_or("")));
        } else if let Some(body) = tag.strip_prefix("macro ") {
            let (name, params) = body.split_once('(').unwrap_or((body, ""));
            out.extend(idents(name));
            for p in params.split(')').next().unwrap_or("").split(',') {
                out.extend(idents(p.split('=').next().unwrap_or("")));
            }
        }
        rest = &after[close..];
    }
    out
}

#[cfg(test)]
mod tests {
    use super::assigned_names;

    #[test]
    fn finds_names_the_template_binds() {
        let t = "{% if x %}{% set result = 1 %}{% endif %}{%- for k, v in d.items() %}{% endfor %}{% macro m(a, b=2) %}{% endmacro %}";
        let mut names: Vec<&str> = assigned_names(t).into_iter().collect();
        names.sort_unstable();
        assert_eq!(names, ["a", "b", "k", "m", "result", "v"]);
    }
}

//! The one Jinja environment configuration shared by the checker and the renderer.

use minijinja::syntax::SyntaxConfig;
use minijinja::value::{Kwargs, Value, ValueKind};
use minijinja::{AutoEscape, Environment, Error, Output, State, UndefinedBehavior};

use crate::model::FormatVersion;

/// Instructions one render may execute: far above what a lesson needs (the largest starter
/// template uses a few thousand), low enough that an endless loop stops within milliseconds.
pub const FUEL: u64 = 250_000;

/// Nesting of macro calls and includes allowed while rendering. Well under minijinja's
/// maximum so the stack of a 2 MiB worker thread or a browser tab is never at risk.
pub const RECURSION_LIMIT: usize = 64;

/// Names every template may use without declaring them (minijinja's globals and `loop`).
pub const GLOBALS: &[&str] = &["range", "dict", "namespace", "debug", "loop", "cycler", "joiner"];

/// Names available only inside unit-test snippets.
pub const TEST_GLOBALS: &[&str] = &["__raw_code__", "SCRIPT_PATH"];

/// Names available only inside the `answer` template: the task (`write`, `fix`, `compare`),
/// the answer's code as a fenced Markdown block, the reflowed explanation of the answer's
/// side, and, for a fix, the reflowed explanation of the flaw (empty otherwise).
pub const ANSWER_GLOBALS: &[&str] = &["__task__", "__code_block__", "__explanation__", "__flaw__"];

/// A fresh environment configured like the v2.0 engine (`trim_blocks`, `lstrip_blocks`, the
/// string, list and dict methods Jinja2 lets templates call, Jinja2's `truncate`, `wordcount`,
/// `center`, `cycler` and `joiner`), without HTML escaping and with bounded work.
///
/// Undefined names differ by format. A `"3"` file is strict: a name that is not a parameter is
/// an error. A `"2.0"` file renders as Jinja2's default `Undefined` did (empty when printed,
/// false in a test, empty when iterated; an attribute of it is an error), because libraries
/// written for the Python engine rely on that; the checker reports those names as warnings.
/// `"2.0"` files also print floats as Python does (`1e-05`, `1e+20`), so a sample's text is
/// the one the Python engine produced.
pub fn environment(format: FormatVersion) -> Environment<'static> {
    let mut env = Environment::new();
    if let Ok(syntax) = SyntaxConfig::builder().trim_blocks(true).lstrip_blocks(true).build() {
        env.set_syntax(syntax);
    }
    env.set_auto_escape_callback(|_| AutoEscape::None);
    env.set_fuel(Some(FUEL));
    env.set_recursion_limit(RECURSION_LIMIT);
    // Keeps spans on runtime errors so they map back to `file:line:col`.
    env.set_debug(true);
    env.set_unknown_method_callback(crate::pycompat::unknown_method_callback);
    env.add_filter("truncate", crate::pycompat::truncate);
    env.add_filter("wordcount", minijinja_contrib::filters::wordcount);
    env.add_filter("center", center);
    env.add_function("cycler", minijinja_contrib::globals::cycler);
    env.add_function("joiner", minijinja_contrib::globals::joiner);
    match format {
        FormatVersion::V3 => env.set_undefined_behavior(UndefinedBehavior::Strict),
        FormatVersion::V2 => {
            env.set_undefined_behavior(UndefinedBehavior::Lenient);
            env.set_formatter(python_formatter);
            // Jinja2 has no `debug` global: `{% if debug %}` is an undefined name there.
            env.remove_global("debug");
            env.add_filter("int", lenient_int);
            env.add_filter("float", lenient_float);
        }
    }
    env
}

/// `text` with its Jinja tags out of the way, for reading a template as the file it renders:
/// every `{{ }}` becomes an ellipsis (a stand-in that keeps its line and is never mistaken for a
/// name), and every `{% %}` and `{# #}` a line break when `tags_break_lines` (so the statements
/// of every branch of a one-line template stand on lines of their own), else nothing.
pub fn without_tags(text: &str, tags_break_lines: bool) -> String {
    let mut out = String::with_capacity(text.len());
    let mut rest = text;
    while let Some(open) = ["{%", "{{", "{#"].iter().filter_map(|t| rest.find(t)).min() {
        out.push_str(&rest[..open]);
        let close = match rest.as_bytes()[open + 1] {
            b'%' => "%}",
            b'{' => "}}",
            _ => "#}",
        };
        match close {
            "}}" => out.push('…'),
            _ if tags_break_lines => out.push('\n'),
            _ => {}
        }
        rest = rest[open + 2..].find(close).map_or("", |c| &rest[open + 2 + c + 2..]);
    }
    out.push_str(rest);
    out
}

/// Jinja2's `center` filter: `str.center` with spaces, 80 columns unless told.
fn center(value: &str, width: Option<i64>) -> Result<Value, Error> {
    crate::pycompat::string_method(value, "center", &[Value::from(width.unwrap_or(80))])
}

/// Jinja2's `int` filter: a number, a numeric string (`"0x1A"` with `base=16`, `"3.7"` → 3),
/// else the default (0); never an error, as the Python engine rendered it.
fn lenient_int(value: &Value, default: Option<Value>, base: Option<u32>, kwargs: Kwargs) -> Result<Value, Error> {
    let default = kwargs.get::<Option<Value>>("default")?.or(default).unwrap_or(Value::from(0));
    let base = kwargs.get::<Option<u32>>("base")?.or(base);
    kwargs.assert_all_used()?;
    Ok(int_of(value, default, base))
}

fn int_of(value: &Value, default: Value, base: Option<u32>) -> Value {
    match value.kind() {
        ValueKind::Bool => Value::from(i64::from(value.is_true())),
        ValueKind::Number => i64::try_from(value.clone()).map_or_else(
            |_| f64::try_from(value.clone()).ok().filter(|f| f.is_finite()).map_or(default.clone(), |f| Value::from(f.trunc() as i64)),
            Value::from,
        ),
        ValueKind::String => {
            let text: String = value.as_str().unwrap_or("").trim().chars().filter(|c| *c != '_').collect();
            let base = base.unwrap_or(10);
            let digits = match base {
                16 => text.trim_start_matches("0x").trim_start_matches("0X"),
                8 => text.trim_start_matches("0o").trim_start_matches("0O"),
                2 => text.trim_start_matches("0b").trim_start_matches("0B"),
                _ => text.as_str(),
            };
            i64::from_str_radix(digits, base)
                .map(Value::from)
                .or_else(|_| text.parse::<f64>().ok().filter(|f| f.is_finite()).map(|f| Value::from(f.trunc() as i64)).ok_or(()))
                .unwrap_or(default)
        }
        _ => default,
    }
}

/// Jinja2's `float` filter: the number, a numeric string, else the default (0.0).
fn lenient_float(value: &Value, default: Option<Value>, kwargs: Kwargs) -> Result<Value, Error> {
    let default = kwargs.get::<Option<Value>>("default")?.or(default).unwrap_or(Value::from(0.0));
    kwargs.assert_all_used()?;
    Ok(float_of(value, default))
}

fn float_of(value: &Value, default: Value) -> Value {
    match value.kind() {
        ValueKind::Bool => Value::from(if value.is_true() { 1.0 } else { 0.0 }),
        ValueKind::Number => f64::try_from(value.clone()).map_or(default, Value::from),
        ValueKind::String => {
            let text: String = value.as_str().unwrap_or("").trim().chars().filter(|c| *c != '_').collect();
            text.parse::<f64>().map_or(default, Value::from)
        }
        _ => default,
    }
}

/// Prints a float the way Python's `str(float)` does; everything else as minijinja does.
fn python_formatter(out: &mut Output, state: &mut State, value: &Value) -> Result<(), Error> {
    if value.kind() == ValueKind::Number
        && !value.is_integer()
        && let Ok(f) = f64::try_from(value.clone())
    {
        return out.write_str(&python_float(f)).map_err(|_| Error::new(minijinja::ErrorKind::WriteFailure, "write failed"));
    }
    minijinja::escape_formatter(out, state, value)
}

/// `repr(float)`: the shortest digits that round-trip, in positional notation when the decimal
/// exponent is in `-4..16`, else scientific with a signed two-digit exponent.
pub fn python_float(f: f64) -> String {
    if f.is_nan() {
        return "nan".into();
    }
    if f.is_infinite() {
        return if f > 0.0 { "inf".into() } else { "-inf".into() };
    }
    let sci = format!("{f:e}"); // shortest round-trip digits: `-1.5e-7`, `1e20`
    let (mantissa, exp) = sci.split_once('e').unwrap_or((&sci, "0"));
    let exp: i32 = exp.parse().unwrap_or(0);
    if (-4..16).contains(&exp) {
        let s = format!("{f}");
        return if s.contains('.') { s } else { format!("{s}.0") };
    }
    let sign = if exp < 0 { '-' } else { '+' };
    format!("{mantissa}e{sign}{:02}", exp.unsigned_abs())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn floats_print_as_python_does() {
        let cases = [
            (1e-5, "1e-05"),
            (1e20, "1e+20"),
            (1.5e-7, "1.5e-07"),
            (0.0001, "0.0001"),
            (100000.0, "100000.0"),
            (12345678901234567.0, "1.2345678901234568e+16"),
            (0.1 + 0.2, "0.30000000000000004"),
            (-2.5e-10, "-2.5e-10"),
            (1e16, "1e+16"),
            (2.0, "2.0"),
        ];
        for (f, want) in cases {
            assert_eq!(python_float(f), want, "{f}");
        }
    }

    #[test]
    fn center_matches_cpython() {
        let c = |s: &str, w| center(s, Some(w)).map(|v| v.to_string()).unwrap_or_default();
        assert_eq!(c("total", 11), "   total   ");
        assert_eq!(c("ab", 5), "  ab ");
        assert_eq!(c("abc", 6), " abc  ");
        assert_eq!(c("abc", 2), "abc");
    }

    #[test]
    fn v2_numbers_filters_are_lenient_as_jinja2() {
        let env = environment(FormatVersion::V2);
        let r = |t: &str| env.render_str(t, ()).unwrap_or_else(|e| e.to_string());
        assert_eq!(r("{{ 'abc'|int }} {{ '3.7'|int }} {{ '0x1A'|int(base=16) }} {{ 'x'|int(7) }} {{ True|int }}"), "0 3 26 7 1");
        assert_eq!(r("{{ 'abc'|float }} {{ '2.5'|float }} {{ 1e-7 }} {{ missing }}|{% if missing %}y{% endif %}"), "0.0 2.5 1e-07 |");
        let strict = environment(FormatVersion::V3);
        assert!(strict.render_str("{{ missing }}", ()).is_err());
        assert_eq!(
            strict.render_str("{{ 'line_item'.title() }} {{ 'a_b_c'.rsplit('_', 1) }}", ()).ok().as_deref(),
            Some("Line_Item ['a_b', 'c']")
        );
    }
}

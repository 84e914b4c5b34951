//! Python methods on template values, as Jinja2 lets templates call them
//! (`{{ name.replace('_', ' ').title() }}`). minijinja-contrib's callback covers most of them;
//! this module fixes the ones whose result differs from CPython's (`title`, which starts a
//! word after any non-letter) and adds the string, list and dict methods it lacks. Mutating
//! methods (`append`, `pop`, `update`) stay unsupported: minijinja's values are immutable.

use minijinja::value::{Tuple, Value, ValueKind, from_args};
use minijinja::{Error, ErrorKind, State};

/// The unknown-method callback of every PLSE environment.
pub fn unknown_method_callback(state: &mut State, value: &Value, method: &str, args: &[Value]) -> Result<Value, Error> {
    let ours = match value.kind() {
        ValueKind::String => value.as_str().map(|s| string_method(s, method, args)),
        ValueKind::Seq => Some(seq_method(value, method, args)),
        ValueKind::Map => Some(map_method(value, method, args)),
        _ => None,
    };
    match ours {
        Some(Err(e)) if e.kind() == ErrorKind::UnknownMethod => {
            minijinja_contrib::pycompat::unknown_method_callback(state, value, method, args)
        }
        Some(result) => result,
        None => minijinja_contrib::pycompat::unknown_method_callback(state, value, method, args),
    }
}

fn unknown() -> Error {
    Error::from(ErrorKind::UnknownMethod)
}

pub(crate) fn string_method(s: &str, method: &str, args: &[Value]) -> Result<Value, Error> {
    let padded = |width: i64, fill: Option<&str>, left_share: fn(usize, usize) -> usize| -> Result<Value, Error> {
        let fill = fill.unwrap_or(" ");
        let mut chars = fill.chars();
        let (Some(c), None) = (chars.next(), chars.next()) else {
            return Err(Error::new(ErrorKind::InvalidOperation, "the fill character must be exactly one character long"));
        };
        let len = s.chars().count();
        let width = usize::try_from(width).unwrap_or(0);
        if width <= len {
            return Ok(Value::from(s));
        }
        let left = left_share(width - len, width);
        let pad = |n: usize| c.to_string().repeat(n);
        Ok(Value::from(format!("{}{s}{}", pad(left), pad(width - len - left))))
    };
    match method {
        "title" => {
            let () = from_args(args)?;
            Ok(Value::from(title(s)))
        }
        "swapcase" => {
            let () = from_args(args)?;
            let swapped = s.chars().flat_map(|c| -> Box<dyn Iterator<Item = char>> {
                if c.is_uppercase() {
                    Box::new(c.to_lowercase())
                } else if c.is_lowercase() {
                    Box::new(c.to_uppercase())
                } else {
                    Box::new(std::iter::once(c))
                }
            });
            Ok(Value::from(swapped.collect::<String>()))
        }
        "casefold" => {
            let () = from_args(args)?;
            Ok(Value::from(s.to_lowercase()))
        }
        "isidentifier" => {
            let () = from_args(args)?;
            let mut chars = s.chars();
            let first = chars.next().is_some_and(|c| c.is_alphabetic() || c == '_');
            Ok(Value::from(first && chars.all(|c| c.is_alphanumeric() || c == '_')))
        }
        "zfill" => {
            let (width,): (i64,) = from_args(args)?;
            let (sign, digits) = match s.strip_prefix(['-', '+']) {
                Some(rest) => (&s[..1], rest),
                None => ("", s),
            };
            let zeros = usize::try_from(width).unwrap_or(0).saturating_sub(s.chars().count());
            Ok(Value::from(format!("{sign}{}{digits}", "0".repeat(zeros))))
        }
        "ljust" => {
            let (width, fill): (i64, Option<&str>) = from_args(args)?;
            padded(width, fill, |_, _| 0)
        }
        "rjust" => {
            let (width, fill): (i64, Option<&str>) = from_args(args)?;
            padded(width, fill, |pad, _| pad)
        }
        "center" => {
            let (width, fill): (i64, Option<&str>) = from_args(args)?;
            // CPython: the odd cell goes left when the width is odd.
            padded(width, fill, |pad, width| pad / 2 + (pad & width & 1))
        }
        "partition" | "rpartition" => {
            let (sep,): (&str,) = from_args(args)?;
            let found = if method == "partition" { s.find(sep) } else { s.rfind(sep) };
            let parts = match found {
                Some(i) => [&s[..i], sep, &s[i + sep.len()..]],
                None if method == "partition" => [s, "", ""],
                None => ["", "", s],
            };
            Ok(Value::from(Tuple::from(parts.map(Value::from))))
        }
        "removeprefix" => {
            let (prefix,): (&str,) = from_args(args)?;
            Ok(Value::from(s.strip_prefix(prefix).unwrap_or(s)))
        }
        "removesuffix" => {
            let (suffix,): (&str,) = from_args(args)?;
            Ok(Value::from(s.strip_suffix(suffix).unwrap_or(s)))
        }
        "index" | "rindex" => {
            let (sub,): (&str,) = from_args(args)?;
            let found = if method == "index" { s.find(sub) } else { s.rfind(sub) };
            match found {
                Some(i) => Ok(Value::from(s[..i].chars().count())),
                None => Err(Error::new(ErrorKind::InvalidOperation, "substring not found")),
            }
        }
        "rsplit" => {
            let (sep, maxsplit): (Option<&str>, Option<i64>) = from_args(args)?;
            Ok(Value::from(rsplit(s, sep, maxsplit.unwrap_or(-1)).into_iter().map(Value::from).collect::<Vec<_>>()))
        }
        _ => Err(unknown()),
    }
}

/// CPython's `str.title`: a cased character after a cased one is lowered, any other is
/// title-cased (so `line_item` → `Line_Item`, `x1y2` → `X1Y2`).
fn title(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    let mut previous_cased = false;
    for c in s.chars() {
        let cased = c.is_lowercase() || c.is_uppercase();
        if previous_cased {
            out.extend(c.to_lowercase());
        } else {
            out.extend(c.to_uppercase());
        }
        previous_cased = cased;
    }
    out
}

/// CPython's `str.rsplit`: from the right, at most `maxsplit` splits (`-1`: all); without a
/// separator, on runs of whitespace.
fn rsplit<'a>(s: &'a str, sep: Option<&str>, maxsplit: i64) -> Vec<&'a str> {
    let limit = usize::try_from(maxsplit).ok();
    let mut out: Vec<&str> = match (sep, limit) {
        (Some(sep), Some(n)) => s.rsplitn(n + 1, sep).collect(),
        (Some(sep), None) => s.rsplit(sep).collect(),
        (None, _) => {
            let mut parts: Vec<&str> = Vec::new();
            let mut rest = s.trim_end();
            while !rest.is_empty() {
                if limit.is_some_and(|n| parts.len() == n) {
                    parts.push(rest.trim_start());
                    break;
                }
                match rest.rfind(char::is_whitespace) {
                    Some(i) => {
                        let ws = rest[i..].chars().next().map_or(1, char::len_utf8);
                        parts.push(&rest[i + ws..]);
                        rest = rest[..i].trim_end();
                    }
                    None => {
                        parts.push(rest);
                        rest = "";
                    }
                }
            }
            parts
        }
    };
    out.reverse();
    out
}

/// Jinja2's `truncate(length=255, killwords=False, end='...', leeway=5)`, positional or by
/// keyword (`leeway` by keyword only): text within `length + leeway` characters stays whole; longer text is cut at a word
/// boundary (or mid-word with `killwords`) so that it and `end` fit `length`.
pub(crate) fn truncate(
    value: String,
    length: Option<usize>,
    killwords: Option<bool>,
    end: Option<String>,
    kwargs: minijinja::value::Kwargs,
) -> Result<String, Error> {
    let length = kwargs.get::<Option<usize>>("length")?.or(length).unwrap_or(255);
    let killwords = kwargs.get::<Option<bool>>("killwords")?.or(killwords).unwrap_or(false);
    let end = kwargs.get::<Option<String>>("end")?.or(end).unwrap_or_else(|| "...".to_owned());
    let leeway = kwargs.get::<Option<usize>>("leeway")?.unwrap_or(5);
    kwargs.assert_all_used()?;
    let chars: Vec<char> = value.chars().collect();
    if chars.len() <= length + leeway {
        return Ok(value);
    }
    let keep: String = chars[..length.saturating_sub(end.chars().count())].iter().collect();
    let kept = if killwords { keep.as_str() } else { keep.rsplit_once(' ').map_or(keep.as_str(), |(head, _)| head) };
    Ok(format!("{kept}{end}"))
}

fn seq_method(value: &Value, method: &str, args: &[Value]) -> Result<Value, Error> {
    match method {
        "index" => {
            let (what,): (&Value,) = from_args(args)?;
            for (i, item) in value.try_iter()?.enumerate() {
                if item == *what {
                    return Ok(Value::from(i));
                }
            }
            Err(Error::new(ErrorKind::InvalidOperation, "value is not in the list"))
        }
        "copy" => {
            let () = from_args(args)?;
            Ok(Value::from(value.try_iter()?.collect::<Vec<_>>()))
        }
        _ => Err(unknown()),
    }
}

fn map_method(value: &Value, method: &str, args: &[Value]) -> Result<Value, Error> {
    match method {
        "copy" => {
            let () = from_args(args)?;
            Ok(value.clone())
        }
        _ => Err(unknown()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn title_and_rsplit_follow_cpython() {
        assert_eq!(title("line_item"), "Line_Item");
        assert_eq!(title("they're bill's"), "They'Re Bill'S");
        assert_eq!(title("x1y2"), "X1Y2");
        assert_eq!(rsplit("a_b_c", Some("_"), 1), ["a_b", "c"]);
        assert_eq!(rsplit("  a b  c ", None, 1), ["a b", "c"]);
        assert_eq!(rsplit("a b c", None, -1), ["a", "b", "c"]);
    }
}

//! Validation of the `parameters` block: types, constraints, defaults, names.

use serde_json::Value as Json;

use crate::diagnostic::{Code, Diagnostic};
use crate::fields::{Field, Fields, Reader, did_you_mean, ext, opt, req};
use crate::model::{FloatRange, IntRange, ParamKind, Parameter};
use crate::yaml::{Node, Value};

/// Names a parameter may not take: Jinja keywords and literals, and names the renderer
/// itself provides to templates.
pub const RESERVED_NAMES: &[&str] = &[
    "and",
    "or",
    "not",
    "in",
    "is",
    "if",
    "else",
    "elif",
    "endif",
    "for",
    "endfor",
    "set",
    "endset",
    "block",
    "endblock",
    "extends",
    "include",
    "import",
    "from",
    "as",
    "with",
    "endwith",
    "macro",
    "endmacro",
    "call",
    "endcall",
    "filter",
    "endfilter",
    "raw",
    "endraw",
    "autoescape",
    "endautoescape",
    "do",
    "break",
    "continue",
    "recursive",
    "ignore",
    "missing",
    "context",
    "true",
    "false",
    "none",
    "True",
    "False",
    "None",
    "loop",
    "self",
    "super",
    "caller",
    "varargs",
    "kwargs",
    "range",
    "dict",
    "namespace",
    "debug",
    "__raw_code__",
    "SCRIPT_PATH",
    "__task__",
    "__code_block__",
    "__explanation__",
    "__flaw__",
];

const TYPES: &[&str] = &["choice", "bool", "int", "float", "string", "list", "derived"];

const PARAM_FIELDS: &[Field] = &[req("type"), req("description"), opt("default"), opt("constraints")];

/// Reads every parameter; returns those that validated.
pub(crate) fn parameters(r: &mut Reader, node: &Node) -> Vec<Parameter> {
    let Value::Map(entries) = &node.value else {
        r.wrong_type(node, "a mapping", "parameters");
        return Vec::new();
    };
    let mut out = Vec::new();
    for (key, value) in entries {
        let name = key.as_scalar().map(|s| s.text.clone()).unwrap_or_default();
        r.declared.push(name.clone());
        let ok_name = check_name(r, &name, key);
        if let Some(p) = parameter(r, name, key, value)
            && ok_name
        {
            out.push(p);
        }
    }
    out
}

fn check_name(r: &mut Reader, name: &str, key: &Node) -> bool {
    let is_ident = name.chars().next().is_some_and(|c| c.is_ascii_alphabetic() || c == '_')
        && name.chars().all(|c| c.is_ascii_alphanumeric() || c == '_');
    if !is_ident {
        r.error(
            Diagnostic::error(Code::InvalidValue, key.span.clone(), format!("parameter name `{name}` is not an identifier"))
                .with_label("templates could not refer to it")
                .with_help("use letters, digits and `_`, not starting with a digit (e.g. `max_items`)"),
        );
        return false;
    }
    if RESERVED_NAMES.contains(&name) {
        r.error(
            Diagnostic::error(Code::ReservedName, key.span.clone(), format!("parameter name `{name}` is reserved in templates"))
                .with_label("a Jinja keyword or a name the renderer provides")
                .with_help(format!("rename it, e.g. `{}_value`", name.trim_matches('_'))),
        );
        return false;
    }
    true
}

fn parameter(r: &mut Reader, name: String, key: &Node, node: &Node) -> Option<Parameter> {
    let what = format!("parameters.{name}");
    let f = r.fields(node, &what, key.span.clone(), PARAM_FIELDS)?;
    let description = f.get("description").and_then(|n| r.string(n, &format!("{what}.description")));
    let ty_node = f.get("type")?;
    let ty = r.string(ty_node, &format!("{what}.type"))?;
    if !TYPES.contains(&ty.as_str()) {
        let mut d = Diagnostic::error(Code::InvalidValue, ty_node.span.clone(), format!("unknown parameter type `{ty}`"))
            .with_label("unknown type");
        d = match did_you_mean(&ty, TYPES.iter().copied()) {
            Some(s) => d.with_help(format!("did you mean `{s}`?")),
            None => d.with_help(format!("types are: {}", TYPES.join(", "))),
        };
        r.error(d);
        return None;
    }
    if matches!(ty.as_str(), "list" | "derived") && r.format == crate::model::FormatVersion::V2 {
        r.error(
            Diagnostic::error(Code::NeedsVersion3, ty_node.span.clone(), format!("parameter type `{ty}` is a PLSE 3 extension"))
                .with_label("not part of the v2.0 format")
                .with_help("declare `plse_version: \"3\"` to use extensions"),
        );
    }
    let default_node = f.get("default");
    let default = match (default_node, ty.as_str()) {
        (Some(n), "derived") => {
            r.error(
                Diagnostic::error(Code::InvalidValue, n.span.clone(), "a derived parameter has no default")
                    .with_label("computed from `expression`")
                    .with_help("remove `default`"),
            );
            None
        }
        (Some(n), _) => r.json(n, &format!("{what}.default")),
        (None, "derived") => Some(Json::Null),
        (None, _) => {
            r.error(
                Diagnostic::error(Code::MissingField, key.span.clone(), format!("missing field `default` in {what}"))
                    .with_label(format!("{what} needs `default`")),
            );
            None
        }
    };
    let c = Constraints::read(r, &f, &what, &ty);
    let spec = Spec { what: &what, key, c: &c, default: default.as_ref(), default_node };
    let kind = kind(r, &ty, &spec)?;
    Some(Parameter { name, span: key.span.clone(), description: description?, default: default?, kind })
}

/// The `constraints` mapping, read with the keys the type allows.
struct Constraints<'n> {
    fields: Option<Fields<'n>>,
}

impl<'n> Constraints<'n> {
    fn read(r: &mut Reader, f: &Fields<'n>, what: &str, ty: &str) -> Self {
        let allowed: &[Field] = match ty {
            "choice" => &[opt("options"), ext("weights")],
            "bool" => &[ext("probability")],
            "int" => &[opt("min"), opt("max"), ext("step")],
            "float" => &[opt("min"), opt("max"), ext("step"), ext("decimals")],
            "string" => &[opt("options")],
            "list" => &[req("options"), ext("min_items"), ext("max_items")],
            "derived" => &[req("expression")],
            _ => &[],
        };
        let fields = f
            .get("constraints")
            .and_then(|n| r.fields(n, &format!("{what}.constraints"), f.key_span("constraints").unwrap_or(n.span.clone()), allowed));
        Self { fields }
    }

    fn get(&self, name: &str) -> Option<&'n Node> {
        self.fields.as_ref().and_then(|f| f.get(name))
    }
}

/// What the per-type readers of a parameter share: its name in messages, its key, its
/// constraints and its default.
struct Spec<'a, 'n> {
    what: &'a str,
    key: &'a Node,
    c: &'a Constraints<'n>,
    default: Option<&'a Json>,
    default_node: Option<&'a Node>,
}

impl Spec<'_, '_> {
    /// A default outside the parameter's constraints.
    fn out_of(&self, msg: String, help: String) -> Diagnostic {
        let span = self.default_node.map_or(self.key.span.clone(), |n| n.span.clone());
        Diagnostic::error(Code::DefaultOutOfConstraints, span, msg).with_label("default").with_help(help)
    }

    fn field(&self, name: &str) -> String {
        format!("{}.constraints.{name}", self.what)
    }

    /// Checks the default's JSON type; a v2.0 file may give a number as a string (`1e-3`, which
    /// PyYAML reads as text), which renders as written.
    fn default_is(&self, r: &mut Reader, ok: fn(&Json) -> bool, expected: &str) -> Option<()> {
        let Some(d) = self.default else { return Some(()) };
        if ok(d) {
            return Some(());
        }
        let numeric_text = d.as_str().is_some_and(|t| t.trim().parse::<f64>().is_ok());
        if r.format == crate::model::FormatVersion::V2 && numeric_text && matches!(expected, "an integer" | "a number") {
            let node = self.default_node?;
            // A warning: `error` records any diagnostic.
            r.error(
                Diagnostic::warning(Code::WrongType, node.span.clone(), format!("{}.default is text, not {expected}", self.what))
                    .with_label("PyYAML reads this as a string; it renders as written")
                    .with_help("YAML 1.1 floats need a dot and a signed exponent: `1.0e-3`"),
            );
            return Some(());
        }
        r.wrong_type(self.default_node?, expected, &format!("{}.default", self.what));
        None
    }
}

fn kind(r: &mut Reader, ty: &str, spec: &Spec) -> Option<ParamKind> {
    match ty {
        "choice" => choice(r, spec),
        "bool" => boolean(r, spec),
        "int" => int(r, spec),
        "float" => float(r, spec),
        "string" => string(r, spec),
        "list" => list(r, spec),
        "derived" => derived(r, spec),
        _ => None,
    }
}

fn choice(r: &mut Reader, k: &Spec) -> Option<ParamKind> {
    let Some(opts_node) = k.c.get("options") else {
        r.error(
            Diagnostic::error(Code::MissingField, k.key.span.clone(), format!("{} is a choice without `constraints.options`", k.what))
                .with_label("choice needs options")
                .with_help("add `constraints: {options: [a, b]}`"),
        );
        return None;
    };
    let options = options(r, opts_node, k.what)?;
    let weights = k.c.get("weights").and_then(|n| weights(r, n, k.what, options.len()));
    if let Some(d) = k.default
        && !options.contains(d)
    {
        r.error(k.out_of(format!("default {} is not one of the options of {}", show(d), k.what), options_help(d, &options)));
    }
    Some(ParamKind::Choice { options, weights })
}

fn boolean(r: &mut Reader, k: &Spec) -> Option<ParamKind> {
    if let Some(d) = k.default
        && !d.is_boolean()
    {
        r.wrong_type(k.default_node?, "a boolean", &format!("{}.default", k.what));
    }
    let probability = match k.c.get("probability") {
        Some(n) => {
            let p = r.number(n, &k.field("probability"))?;
            if !(0.0..=1.0).contains(&p) {
                r.error(
                    Diagnostic::error(Code::BadRange, n.span.clone(), format!("probability {p} is outside 0..1"))
                        .with_label("not a probability"),
                );
                return None;
            }
            p
        }
        None => 0.5,
    };
    Some(ParamKind::Bool { probability })
}

/// A constraint that must satisfy `valid` (else `problem` is reported at it), or `default`.
fn bounded<T: Copy>(
    r: &mut Reader,
    k: &Spec,
    name: &str,
    read: fn(&mut Reader, &Node, &str) -> Option<T>,
    valid: fn(T) -> bool,
    problem: fn(T) -> String,
    default: T,
) -> Option<T> {
    let Some(n) = k.c.get(name) else { return Some(default) };
    let v = read(r, n, &k.field(name))?;
    if !valid(v) {
        r.error(Diagnostic::error(Code::BadRange, n.span.clone(), problem(v)).with_label(name.to_owned()));
        return None;
    }
    Some(v)
}

/// A bound as read (its value, when it has the right type) and where it is.
type Bound<'n, T> = Option<(Option<T>, &'n Node)>;

/// `min` and `max`, read (type errors reported) but not yet checked.
fn bounds<'n, T>(r: &mut Reader, k: &Spec<'_, 'n>, read: fn(&mut Reader, &Node, &str) -> Option<T>) -> (Bound<'n, T>, Bound<'n, T>) {
    let min = k.c.get("min").map(|n| (read(r, n, &k.field("min")), n));
    let max = k.c.get("max").map(|n| (read(r, n, &k.field("max")), n));
    (min, max)
}

/// The range of two bounds: both or neither, `min <= max`. `None` when a problem was reported.
fn range_of<T: PartialOrd + std::fmt::Display>(
    r: &mut Reader,
    what: &str,
    (min, max): (Bound<'_, T>, Bound<'_, T>),
) -> Option<Option<(T, T)>> {
    match (min, max) {
        (None, None) => Some(None),
        (Some((min, _)), Some((max, max_node))) => {
            let (min, max) = (min?, max?);
            if min > max {
                r.error(min_gt_max(max_node, min.to_string(), max.to_string()));
                return None;
            }
            Some(Some((min, max)))
        }
        (Some((_, n)), None) | (None, Some((_, n))) => {
            r.error(half_range(n, what));
            None
        }
    }
}

fn int(r: &mut Reader, k: &Spec) -> Option<ParamKind> {
    k.default_is(r, Json::is_i64, "an integer")?;
    let bounds = bounds(r, k, Reader::int);
    let step = bounded(r, k, "step", Reader::int, |s| s >= 1, |s| format!("step {s} must be at least 1"), 1)?;
    let range = range_of(r, k.what, bounds)?.map(|(min, max)| IntRange { min, max, step });
    if let (Some(range), Some(d)) = (range, k.default.and_then(Json::as_i64))
        && (d < range.min || d > range.max || (d - range.min) % range.step != 0)
    {
        r.error(k.out_of(
            format!("default {d} is outside the range of {}", k.what),
            format!("values are {}..={} in steps of {}", range.min, range.max, range.step),
        ));
    }
    Some(ParamKind::Int { range })
}

fn float(r: &mut Reader, k: &Spec) -> Option<ParamKind> {
    k.default_is(r, Json::is_number, "a number")?;
    let bounds = bounds(r, k, Reader::number);
    let step = match k.c.get("step") {
        Some(_) => Some(bounded(r, k, "step", Reader::number, |s| s > 0.0, |s| format!("step {s} must be positive"), 1.0)?),
        None => None,
    };
    let decimals = bounded(r, k, "decimals", Reader::int, |d| (0..=12).contains(&d), |d| format!("decimals {d} must be within 0..=12"), 3)?;
    let range = range_of(r, k.what, bounds)?.map(|(min, max)| FloatRange { min, max, step, decimals: decimals as u32 });
    if let (Some(range), Some(d)) = (range, k.default.and_then(Json::as_f64))
        && (d < range.min || d > range.max)
    {
        r.error(
            k.out_of(format!("default {d} is outside the range of {}", k.what), format!("values are {:?}..={:?}", range.min, range.max)),
        );
    }
    Some(ParamKind::Float { range })
}

fn string(r: &mut Reader, k: &Spec) -> Option<ParamKind> {
    k.default_is(r, Json::is_string, "a string")?;
    let Some(n) = k.c.get("options") else { return Some(ParamKind::String { options: None }) };
    let opts = options(r, n, k.what)?;
    let mut strings = Vec::new();
    for (i, o) in opts.iter().enumerate() {
        let Some(s) = o.as_str() else {
            r.error(
                Diagnostic::error(Code::WrongType, n.span.clone(), format!("option {i} of string {} is not a string", k.what))
                    .with_label("options"),
            );
            return None;
        };
        strings.push(s.to_owned());
    }
    if let Some(d) = k.default
        && !opts.contains(d)
    {
        r.error(k.out_of(format!("default {} is not one of the options of {}", show(d), k.what), options_help(d, &opts)));
    }
    Some(ParamKind::String { options: Some(strings) })
}

fn list(r: &mut Reader, k: &Spec) -> Option<ParamKind> {
    let opts = options(r, k.c.get("options")?, k.what)?;
    let size = |r: &mut Reader, name: &str, default: usize| match k.c.get(name) {
        Some(n) => usize::try_from(r.int(n, &k.field(name))?).ok(),
        None => Some(default),
    };
    let min_items = size(r, "min_items", 1)?;
    let max_items = size(r, "max_items", opts.len())?;
    if min_items > max_items || max_items > opts.len() {
        let at = k.c.get("max_items").or(k.c.get("min_items")).or(k.c.get("options"))?;
        r.error(
            Diagnostic::error(
                Code::BadRange,
                at.span.clone(),
                format!("{} asks for {min_items}..={max_items} items from {} options", k.what, opts.len()),
            )
            .with_label("impossible size")
            .with_help("need min_items <= max_items <= number of options"),
        );
        return None;
    }
    match k.default {
        Some(Json::Array(items)) => {
            if let Some(bad) = items.iter().find(|i| !opts.contains(i)) {
                r.error(k.out_of(format!("default item {} is not one of the options of {}", show(bad), k.what), options_help(bad, &opts)));
            } else if items.len() < min_items || items.len() > max_items {
                r.error(k.out_of(
                    format!("default has {} items; {} takes {min_items}..={max_items}", items.len(), k.what),
                    "adjust the default or the size limits".into(),
                ));
            }
        }
        Some(_) => r.wrong_type(k.default_node?, "a list", &format!("{}.default", k.what)),
        None => {}
    }
    Some(ParamKind::List { options: opts, min_items, max_items })
}

fn derived(r: &mut Reader, k: &Spec) -> Option<ParamKind> {
    let Some(n) = k.c.get("expression") else {
        if k.c.fields.is_none() {
            r.error(
                Diagnostic::error(Code::MissingField, k.key.span.clone(), format!("derived {} has no `constraints.expression`", k.what))
                    .with_label("derived parameters are computed")
                    .with_help("add e.g. `constraints: {expression: \"n_items * 2\"}`"),
            );
        }
        return None;
    };
    let expression = r.template(n, &k.field("expression"))?;
    Some(ParamKind::Derived { expression })
}

fn options(r: &mut Reader, node: &Node, what: &str) -> Option<Vec<Json>> {
    let items = r.list(node, &format!("{what}.constraints.options"))?;
    if items.is_empty() {
        r.error(
            Diagnostic::error(Code::EmptyOptions, node.span.clone(), format!("{what} has no options"))
                .with_label("empty list")
                .with_help("give at least one option"),
        );
        return None;
    }
    let mut out = Vec::new();
    for (i, item) in items.iter().enumerate() {
        out.push(r.json(item, &format!("{what}.constraints.options[{i}]"))?);
    }
    Some(out)
}

fn weights(r: &mut Reader, node: &Node, what: &str, n: usize) -> Option<Vec<f64>> {
    let Value::Seq(items) = &node.value else {
        r.wrong_type(node, "a list", &format!("{what}.constraints.weights"));
        return None;
    };
    let mut out = Vec::new();
    for item in items {
        let w = r.number(item, &format!("{what}.constraints.weights"))?;
        if w < 0.0 {
            r.error(Diagnostic::error(Code::BadRange, item.span.clone(), format!("weight {w} is negative")).with_label("negative weight"));
            return None;
        }
        out.push(w);
    }
    if out.len() != n {
        r.error(
            Diagnostic::error(Code::BadRange, node.span.clone(), format!("{what} has {} weights for {n} options", out.len()))
                .with_label("one weight per option"),
        );
        return None;
    }
    if out.iter().sum::<f64>() <= 0.0 {
        r.error(
            Diagnostic::error(Code::BadRange, node.span.clone(), format!("the weights of {what} are all zero"))
                .with_label("nothing could be drawn"),
        );
        return None;
    }
    Some(out)
}

fn min_gt_max(max_node: &Node, min: String, max: String) -> Diagnostic {
    Diagnostic::error(Code::BadRange, max_node.span.clone(), format!("min {min} is greater than max {max}"))
        .with_label("max is below min")
        .with_help("swap the bounds")
}

fn half_range(n: &Node, what: &str) -> Diagnostic {
    Diagnostic::error(Code::BadRange, n.span.clone(), format!("{what} gives only one bound of its range"))
        .with_label("needs both `min` and `max`")
}

fn show(v: &Json) -> String {
    match v {
        Json::String(s) => format!("`{s}`"),
        other => format!("`{other}`"),
    }
}

fn options_help(v: &Json, options: &[Json]) -> String {
    let names: Vec<String> = options.iter().map(|o| o.as_str().map_or_else(|| o.to_string(), str::to_owned)).collect();
    if let Some(s) = v.as_str()
        && let Some(best) = did_you_mean(s, names.iter().map(String::as_str))
    {
        return format!("did you mean `{best}`?");
    }
    format!("options are: {}", names.join(", "))
}

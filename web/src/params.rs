//! The parameter form: one control per drawn parameter, whose value becomes a
//! `name=value` override in the same syntax `plse-batch render --param` takes.

pub use plse_sampling::overrides::spell;
use plse_schema::{ParamKind, Pattern};
use serde::{Deserialize, Serialize};
use serde_json::Value as Json;

/// The kind of widget a parameter gets.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub enum Widget {
    /// A dropdown over these option spellings.
    Select(Vec<String>),
    /// A checkbox.
    Toggle,
    /// A slider with a number box.
    Number {
        /// Lowest value.
        min: f64,
        /// Highest value.
        max: f64,
        /// Step.
        step: f64,
    },
    /// Free text.
    Text,
    /// Checkboxes, one per option; the override is the comma-separated chosen options.
    Multi(Vec<String>),
}

/// One control of the form.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Control {
    /// Parameter name.
    pub name: String,
    /// Its description (the control's title).
    pub description: String,
    /// The widget.
    pub widget: Widget,
}

/// How a drawn value is shown in its control: lists as comma-separated options (the list
/// override syntax), everything else as [`spell`].
pub fn spell_value(v: &Json) -> String {
    match v {
        Json::Array(items) => items.iter().map(spell).collect::<Vec<_>>().join(","),
        v => spell(v),
    }
}

/// Controls for every parameter that is drawn (derived ones are computed, so they get none).
pub fn controls(pattern: &Pattern) -> Vec<Control> {
    pattern
        .parameters
        .iter()
        .filter_map(|p| {
            let widget = match &p.kind {
                ParamKind::Choice { options, .. } => Widget::Select(options.iter().map(spell).collect()),
                ParamKind::String { options: Some(options) } => Widget::Select(options.clone()),
                ParamKind::String { options: None } => Widget::Text,
                ParamKind::Bool { .. } => Widget::Toggle,
                ParamKind::Int { range: Some(r) } => Widget::Number { min: r.min as f64, max: r.max as f64, step: r.step as f64 },
                ParamKind::Float { range: Some(r) } => {
                    let step = r.step.unwrap_or_else(|| 10f64.powi(-i32::try_from(r.decimals).unwrap_or(6)));
                    Widget::Number { min: r.min, max: r.max, step }
                }
                ParamKind::Int { range: None } | ParamKind::Float { range: None } => Widget::Text,
                ParamKind::List { options, .. } => Widget::Multi(options.iter().map(spell).collect()),
                ParamKind::Derived { .. } => return None,
            };
            Some(Control { name: p.name.clone(), description: p.description.clone(), widget })
        })
        .collect()
}

/// The value of `name` in `overrides` (`name=value` strings), if overridden.
pub fn overridden<'a>(overrides: &'a [String], name: &str) -> Option<&'a str> {
    overrides.iter().rev().find_map(|o| o.split_once('=').filter(|(n, _)| *n == name).map(|(_, v)| v))
}

/// `overrides` with `name` set to `value` (or cleared with `None`), order otherwise kept.
pub fn with_override(overrides: &[String], name: &str, value: Option<&str>) -> Vec<String> {
    let mut out: Vec<String> = overrides.iter().filter(|o| o.split_once('=').is_none_or(|(n, _)| n != name)).cloned().collect();
    if let Some(v) = value {
        out.push(format!("{name}={v}"));
    }
    out
}

/// Toggles `option` in a comma-separated list value, keeping `pool` order.
pub fn toggle_item(pool: &[String], current: &str, option: &str, on: bool) -> String {
    let mut chosen: Vec<&str> = current.split(',').map(str::trim).filter(|s| !s.is_empty() && *s != option).collect();
    if on {
        chosen.push(option);
    }
    pool.iter().filter(|o| chosen.contains(&o.as_str())).cloned().collect::<Vec<_>>().join(",")
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::engine::{Input, evaluate};
    use crate::library;

    #[test]
    fn every_drawn_parameter_gets_a_control_and_its_values_are_accepted() {
        for item in library::bundled() {
            let file = plse_schema::load(&item.path, item.text.as_bytes());
            let pattern = file.pattern.unwrap();
            let drawn = pattern.parameters.iter().filter(|p| !matches!(p.kind, ParamKind::Derived { .. })).count();
            let cs = controls(&pattern);
            assert_eq!(cs.len(), drawn, "{}", item.path);
            // Each select option, set as an override, renders: the form can only offer valid values.
            for c in &cs {
                let values: Vec<String> = match &c.widget {
                    Widget::Select(o) => o.clone(),
                    Widget::Toggle => vec!["true".into(), "false".into()],
                    Widget::Number { min, .. } => vec![min.to_string()],
                    Widget::Text | Widget::Multi(_) => continue,
                };
                for v in values {
                    let params = [format!("{}={v}", c.name)];
                    let ev = evaluate(&Input {
                        name: &item.path,
                        text: &item.text,
                        category: &item.category,
                        seed: 1,
                        index: 0,
                        params: &params,
                    });
                    assert!(ev.panes.override_error.is_none(), "{}: {:?}", item.path, ev.panes.override_error);
                    assert!(ev.sample.is_some(), "{} {}: {}", item.path, params[0], ev.panes.diagnostics_text);
                }
            }
        }
    }

    #[test]
    fn override_list_editing() {
        let o = vec!["a=1".to_owned(), "b=x=y".to_owned()];
        assert_eq!(overridden(&o, "b"), Some("x=y"));
        assert_eq!(overridden(&o, "c"), None);
        assert_eq!(with_override(&o, "a", Some("2")), ["b=x=y", "a=2"]);
        assert_eq!(with_override(&o, "b", None), ["a=1"]);
        let pool = ["x".to_owned(), "y".to_owned(), "z".to_owned()];
        assert_eq!(toggle_item(&pool, "z", "x", true), "x,z");
        assert_eq!(toggle_item(&pool, "x,z", "x", false), "z");
        assert_eq!(spell_value(&serde_json::json!(["a", 2])), "a,2");
        assert_eq!(spell_value(&serde_json::json!("s")), "s");
    }
}

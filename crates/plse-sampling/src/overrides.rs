//! Explicit `name=value` overrides, checked against the parameter's type and constraints.

use serde_json::Value as Json;
use thiserror::Error;

use plse_schema::{ParamKind, Parameter, Pattern};

use crate::number::{float_json, round_to};

/// Validated overrides, by parameter name.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Overrides {
    values: Vec<(String, Json)>,
}

impl Overrides {
    /// No overrides.
    pub fn none() -> Self {
        Self::default()
    }

    /// The value given for `name`.
    pub fn get(&self, name: &str) -> Option<&Json> {
        self.values.iter().find(|(n, _)| n == name).map(|(_, v)| v)
    }

    /// Parses and validates `name=value` strings against `pattern`.
    pub fn parse<S: AsRef<str>>(pattern: &Pattern, specs: &[S]) -> Result<Self, OverrideError> {
        let mut out = Self::default();
        for spec in specs {
            let spec = spec.as_ref();
            let Some((name, raw)) = spec.split_once('=') else {
                return Err(OverrideError::Malformed { spec: spec.to_owned() });
            };
            let name = name.trim();
            let Some(p) = pattern.parameter(name) else {
                let names: Vec<&str> = pattern.parameters.iter().map(|p| p.name.as_str()).collect();
                return Err(OverrideError::UnknownParameter { name: name.to_owned(), known: names.join(", ") });
            };
            let value = parse_value(p, raw.trim())?;
            out.values.retain(|(n, _)| n != name);
            out.values.push((name.to_owned(), value));
        }
        Ok(out)
    }

    /// Sets a value directly (already validated by the caller, e.g. the paired-side switch).
    pub fn set(&mut self, name: &str, value: Json) {
        self.values.retain(|(n, _)| n != name);
        self.values.push((name.to_owned(), value));
    }
}

/// Why an override was refused.
#[derive(Debug, Clone, PartialEq, Eq, Error)]
pub enum OverrideError {
    /// Not of the form `name=value`.
    #[error("`{spec}` is not of the form name=value")]
    Malformed {
        /// What was given.
        spec: String,
    },
    /// No parameter of that name.
    #[error("no parameter `{name}` (parameters: {known})")]
    UnknownParameter {
        /// What was given.
        name: String,
        /// The pattern's parameter names.
        known: String,
    },
    /// The value does not fit the parameter.
    #[error("`{name}={value}` is not allowed: {reason}")]
    Invalid {
        /// The parameter.
        name: String,
        /// The value given.
        value: String,
        /// What was expected.
        reason: String,
    },
}

fn invalid(p: &Parameter, value: &str, reason: impl Into<String>) -> OverrideError {
    OverrideError::Invalid { name: p.name.clone(), value: value.to_owned(), reason: reason.into() }
}

/// How an option is spelled in a `name=value` override: strings bare, anything else as JSON.
/// (The browser's parameter form offers exactly these spellings.)
pub fn spell(v: &Json) -> String {
    v.as_str().map_or_else(|| v.to_string(), str::to_owned)
}

fn parse_value(p: &Parameter, raw: &str) -> Result<Json, OverrideError> {
    match &p.kind {
        ParamKind::Choice { options, .. } => options
            .iter()
            .find(|o| spell(o) == raw)
            .cloned()
            .ok_or_else(|| invalid(p, raw, format!("expected one of: {}", options.iter().map(spell).collect::<Vec<_>>().join(", ")))),
        ParamKind::Bool { .. } => match raw {
            "true" | "True" | "1" | "yes" => Ok(Json::Bool(true)),
            "false" | "False" | "0" | "no" => Ok(Json::Bool(false)),
            _ => Err(invalid(p, raw, "expected true or false")),
        },
        ParamKind::Int { range } => {
            let v: i64 = raw.parse().map_err(|_| invalid(p, raw, "expected an integer"))?;
            if let Some(r) = range
                && (v < r.min || v > r.max || (v - r.min) % r.step != 0)
            {
                return Err(invalid(p, raw, format!("expected {}..={} in steps of {}", r.min, r.max, r.step)));
            }
            Ok(Json::from(v))
        }
        ParamKind::Float { range } => {
            let v: f64 = raw.parse().ok().filter(|v: &f64| v.is_finite()).ok_or_else(|| invalid(p, raw, "expected a number"))?;
            match range {
                Some(r) if v < r.min || v > r.max => Err(invalid(p, raw, format!("expected {}..={}", r.min, r.max))),
                Some(r) => Ok(float_json(round_to(v, r.decimals))),
                None => Ok(float_json(v)),
            }
        }
        ParamKind::String { options: Some(options) } if !options.iter().any(|o| o == raw) => {
            Err(invalid(p, raw, format!("expected one of: {}", options.join(", "))))
        }
        ParamKind::String { .. } => Ok(Json::String(raw.to_owned())),
        ParamKind::List { options, min_items, max_items } => {
            let wanted: Vec<&str> = if raw.is_empty() { Vec::new() } else { raw.split(',').map(str::trim).collect() };
            if let Some(bad) = wanted.iter().find(|w| !options.iter().any(|o| spell(o) == **w)) {
                return Err(invalid(
                    p,
                    raw,
                    format!("`{bad}` is not an option (options: {})", options.iter().map(spell).collect::<Vec<_>>().join(", ")),
                ));
            }
            if wanted.len() < *min_items || wanted.len() > *max_items {
                return Err(invalid(p, raw, format!("expected {min_items}..={max_items} comma-separated items")));
            }
            // Kept in pool order, like drawn lists, so the same set renders the same way.
            Ok(Json::Array(options.iter().filter(|o| wanted.contains(&spell(o).as_str())).cloned().collect()))
        }
        ParamKind::Derived { .. } => Err(invalid(p, raw, "a derived parameter is computed; override the parameters it uses")),
    }
}

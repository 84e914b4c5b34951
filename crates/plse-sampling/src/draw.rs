//! Drawing parameter values within their constraints.

use rand::RngExt;
use rand::distr::Distribution;
use rand::distr::weighted::WeightedIndex;
use rand_chacha::ChaCha8Rng;
use serde_json::{Map, Value as Json};

use plse_schema::{FloatRange, IntRange, ParamKind, Parameter, Pattern};

use crate::number::{float_json, round_to};
use crate::overrides::Overrides;
use crate::rng::{param_key, stream_from_key};

/// Parameter values of one sample, in declaration order. Derived parameters are absent: the
/// renderer computes them.
pub type Params = Map<String, Json>;

/// Draws every non-derived parameter for sample `(seed, index)`, then applies `overrides`.
pub fn draw(pattern: &Pattern, seed: u64, index: u64, overrides: &Overrides) -> Params {
    Keys::new(pattern, seed).draw(pattern, index, overrides)
}

/// The stream keys of a pattern's parameters for one seed. Drawing many samples of a seed
/// with one `Keys` gives exactly what [`draw`] gives, without re-hashing per sample.
#[derive(Debug, Clone, PartialEq)]
pub struct Keys {
    seed: u64,
    keys: Vec<[u8; 32]>,
}

impl Keys {
    /// Keys of every parameter of `pattern` (declaration order) for `seed`.
    pub fn new(pattern: &Pattern, seed: u64) -> Self {
        Self { seed, keys: pattern.parameters.iter().map(|p| param_key(&pattern.pattern_id, &p.name, seed)).collect() }
    }

    /// The seed these keys are for.
    pub fn seed(&self) -> u64 {
        self.seed
    }

    /// Draws sample `index` (see [`draw`]).
    pub fn draw(&self, pattern: &Pattern, index: u64, overrides: &Overrides) -> Params {
        let mut out = Map::new();
        for (p, key) in pattern.parameters.iter().zip(&self.keys) {
            if matches!(p.kind, ParamKind::Derived { .. }) {
                continue;
            }
            let value = match overrides.get(&p.name) {
                Some(v) => v.clone(),
                None => draw_one(p, &mut stream_from_key(*key, index)),
            };
            out.insert(p.name.clone(), value);
        }
        out
    }
}

/// One value for `p` from its stream.
pub fn draw_one(p: &Parameter, rng: &mut ChaCha8Rng) -> Json {
    match &p.kind {
        ParamKind::Choice { options, weights } => {
            let i = match weights.as_deref().and_then(|w| WeightedIndex::new(w).ok()) {
                Some(dist) => dist.sample(rng),
                None => pick(rng, options.len()),
            };
            options[i].clone()
        }
        ParamKind::Bool { probability } => Json::Bool(rng.random_bool(*probability)),
        ParamKind::Int { range: Some(r) } => Json::from(draw_int(*r, rng)),
        ParamKind::Float { range: Some(r) } => float_json(draw_float(*r, rng)),
        ParamKind::String { options: Some(options) } => Json::String(options[pick(rng, options.len())].clone()),
        ParamKind::List { options, min_items, max_items } => {
            let n = *min_items + pick(rng, max_items - min_items + 1);
            // Selection sampling (Knuth's algorithm S): n of the pool, kept in pool order.
            let mut chosen = Vec::with_capacity(n);
            let mut needed = n;
            for (seen, option) in options.iter().enumerate() {
                let remaining = options.len() - seen;
                if pick(rng, remaining) < needed {
                    chosen.push(option.clone());
                    needed -= 1;
                }
            }
            Json::Array(chosen)
        }
        ParamKind::Int { range: None } | ParamKind::Float { range: None } | ParamKind::String { options: None } => p.default.clone(),
        ParamKind::Derived { .. } => Json::Null,
    }
}

/// Uniform index in `0..n` (n ≥ 1). Drawn as `u64` so 32-bit wasm gives the same values.
fn pick(rng: &mut ChaCha8Rng, n: usize) -> usize {
    if n <= 1 {
        return 0;
    }
    rng.random_range(0..n as u64) as usize
}

fn draw_int(r: IntRange, rng: &mut ChaCha8Rng) -> i64 {
    let span = (i128::from(r.max) - i128::from(r.min)) / i128::from(r.step);
    let k = rng.random_range(0..=span as u64);
    (i128::from(r.min) + i128::from(k) * i128::from(r.step)) as i64
}

fn draw_float(r: FloatRange, rng: &mut ChaCha8Rng) -> f64 {
    let x = match r.step {
        Some(step) => {
            let n = ((r.max - r.min) / step).floor().max(0.0) as u64;
            r.min + step * rng.random_range(0..=n) as f64
        }
        None => r.min + (r.max - r.min) * rng.random::<f64>(),
    };
    round_to(x, r.decimals).clamp(r.min, r.max)
}

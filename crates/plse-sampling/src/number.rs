//! Float values as parameters hold them: rounded to their declared decimals, as JSON floats.
//! Shared by the draw and the overrides, so an overridden float is the value a draw gives.

use serde_json::Value as Json;

/// Rounds half away from zero to `decimals` places.
pub fn round_to(x: f64, decimals: u32) -> f64 {
    let scale = 10f64.powi(decimals as i32);
    (x * scale).round() / scale
}

/// A float as JSON; whole numbers stay floats (`2.0`) so templates see a float.
pub fn float_json(x: f64) -> Json {
    serde_json::Number::from_f64(x).map_or(Json::Null, Json::Number)
}

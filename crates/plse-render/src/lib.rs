//! PLSE rendering: turns a validated pattern and `(seed, index)` into a [`Sample`] — the
//! instruction, code, tests and explanation rendered from one parameter context — and the
//! v2.0 row.
//!
//! **Invariant:** no I/O; rendering is bounded (fuel and recursion limit), so a hostile
//! template fails with an error instead of hanging.
//!
//! ```
//! let yaml = br#"
//! plse_version: "3"
//! pattern_id: demo.square
//! metadata:
//!   author: me
//!   description: squares
//!   tags: [demo]
//!   pedagogy: {concept: arithmetic, difficulty: beginner}
//! instruction: "Square {{ n }}."
//! parameters:
//!   n: {type: int, description: a number, default: 2, constraints: {min: 1, max: 9}}
//! template: "print({{ n }} ** 2)"
//! "#;
//! let file = plse_schema::load("demo.yaml", yaml);
//! let pattern = file.pattern.expect("valid");
//! let prepared = plse_render::Prepared::new(&pattern, "best_practices").unwrap();
//! let sample = prepared.render(7, 0, &plse_sampling::Overrides::none()).unwrap();
//! assert!(sample.code.starts_with("print("));
//! assert_eq!(sample, prepared.render(7, 0, &plse_sampling::Overrides::none()).unwrap());
//! ```
pub mod article;
pub mod imports;
pub mod lint;
mod prepared;
pub mod record;
pub mod text;

pub use prepared::{AnswerGlobals, Prepared, RenderError, default_file_name};
pub use record::{Pair, Row, Sample, Side};

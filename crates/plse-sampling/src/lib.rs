//! PLSE seeded sampling: the parameters of sample `(pattern, seed, index)` as a pure function
//! of that triple, identical natively and in wasm, plus validated `name=value` overrides.
//!
//! **Invariant:** no I/O, no global or OS randomness; every value comes from
//! [`rng::param_stream`].
pub mod draw;
pub mod number;
pub mod overrides;
pub mod rng;

pub use draw::{Params, draw};
pub use overrides::{OverrideError, Overrides};

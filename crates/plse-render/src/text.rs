//! The human-readable form of a sample (what `plse-batch render` prints).

use std::fmt::Write;

use crate::record::{Sample, Side};

/// Formats a sample as sections; paired samples show both sides.
pub fn sample_text(s: &Sample) -> String {
    let mut out = String::new();
    let params: Vec<String> =
        s.parameters.iter().map(|(k, v)| format!("{k}={}", v.as_str().map_or_else(|| v.to_string(), str::to_owned))).collect();
    let _ = writeln!(out, "# {} · {} (seed {}, index {})", s.pattern_id, s.id, s.seed, s.index);
    let _ = writeln!(out, "# {} · {} · {}", s.category, s.difficulty.as_str(), s.concept);
    let _ = writeln!(out, "# parameters: {}", params.join(", "));
    match &s.pair {
        None => side_text(
            &mut out,
            "",
            &Side { instruction: s.instruction.clone(), code: s.code.clone(), tests: s.tests.clone(), explanation: s.explanation.clone() },
        ),
        Some(pair) => {
            side_text(&mut out, " (flawed)", &pair.flawed);
            side_text(&mut out, " (fixed)", &pair.fixed);
        }
    }
    out
}

fn side_text(out: &mut String, suffix: &str, side: &Side) {
    let _ = writeln!(out, "\n## instruction{suffix}\n{}", side.instruction);
    let _ = writeln!(out, "\n## code{suffix}\n{}", side.code);
    for (i, t) in side.tests.iter().enumerate() {
        let _ = writeln!(out, "\n## test {}{suffix}\n{t}", i + 1);
    }
    if let Some(e) = &side.explanation {
        let _ = writeln!(out, "\n## explanation{suffix}\n{e}");
    }
}

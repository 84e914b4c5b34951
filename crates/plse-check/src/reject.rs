//! Which lint findings reject a sample: `plse-batch --reject-rules` and the browser's checks
//! share the default and the rule.

use plse_dataset::Finding;

/// Ruff rule prefixes whose findings reject a sample by default (syntax errors, undefined
/// names, misplaced statements); other findings are recorded.
pub const REJECT_RULES: &str = "E9,F63,F7,F82";

/// [`REJECT_RULES`] as a list.
pub fn default_rules() -> Vec<&'static str> {
    REJECT_RULES.split(',').collect()
}

/// Whether a ruff finding with this code rejects a sample under the rule `prefixes`: a
/// syntax error always does.
pub fn rejects<S: AsRef<str>>(prefixes: &[S], code: &str) -> bool {
    code == "invalid-syntax" || prefixes.iter().any(|p| !p.as_ref().is_empty() && code.starts_with(p.as_ref()))
}

/// Findings whose code starts with one of the `reject` prefixes.
pub fn rejecting<'a, S: AsRef<str>>(findings: &'a [Finding], reject: &[S]) -> Vec<&'a Finding> {
    findings.iter().filter(|f| rejects(reject, &f.code)).collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn syntax_errors_always_reject_and_prefixes_select() {
        let rules = default_rules();
        assert!(rejects(&rules, "invalid-syntax"));
        assert!(rejects(&[""; 0], "invalid-syntax"));
        assert!(rejects(&rules, "F821") && rejects(&rules, "E999"));
        assert!(!rejects(&rules, "E501") && !rejects(&rules, "F401"));
        assert!(!rejects(&[""], "F401"), "an empty prefix selects nothing");
    }
}

//! What the playground is working on — the text, where it came from, seed, index and
//! overrides — and its two persistent forms: the permalink fragment and the autosave.
//!
//! The playground (`web/`) reads and writes both; `plse-batch render FILE --permalink URL`
//! writes a link with [`Session::link`], so a link made on the command line (in a pull
//! request's preview, say) opens in the playground exactly as one shared from it.

use base64::Engine as _;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use serde::{Deserialize, Serialize};

/// The playground's state worth sharing.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Session {
    /// File name (library path, or the user's).
    pub name: String,
    /// Category the sample renders under.
    pub category: String,
    /// The YAML text.
    pub text: String,
    /// Seed, as a decimal string (JavaScript numbers cannot hold every u64).
    pub seed: String,
    /// Index, as a decimal string.
    pub index: String,
    /// `name=value` overrides.
    #[serde(default)]
    pub params: Vec<String>,
}

/// Fragment prefix: a format tag, so a later encoding can be told apart.
pub const PREFIX: &str = "p1.";
/// Longest fragment accepted (the encoded form), so a huge link is refused before inflating.
pub const MAX_FRAGMENT: usize = 1024 * 1024;
/// Largest decompressed payload: the pattern loader's own file limit plus room for the rest.
pub const MAX_PAYLOAD: usize = plse_schema::MAX_FILE_BYTES + 64 * 1024;

/// Why a permalink could not be opened.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum LinkError {
    /// Not a PLSE link (no `p1.` prefix).
    Unknown,
    /// Longer than [`MAX_FRAGMENT`].
    TooLong(usize),
    /// Not valid base64url.
    Encoding,
    /// The compressed data is damaged or inflates past [`MAX_PAYLOAD`].
    Compression,
    /// The payload is not a session.
    Payload(String),
}

impl std::fmt::Display for LinkError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Self::Unknown => write!(f, "this link's fragment is not a PLSE permalink (it should start with `#{PREFIX}`)"),
            Self::TooLong(n) => write!(f, "this link is {n} characters long; permalinks over {MAX_FRAGMENT} are refused"),
            Self::Encoding => write!(f, "this link is damaged (not base64url); was it cut short when copied?"),
            Self::Compression => write!(f, "this link is damaged (its data does not decompress, or decompresses past 1 MiB)"),
            Self::Payload(e) => write!(f, "this link does not hold a pattern session: {e}"),
        }
    }
}

impl Session {
    /// The URL fragment (without `#`): deflated JSON in base64url.
    pub fn to_fragment(&self) -> String {
        let json = serde_json::to_vec(self).unwrap_or_default();
        format!("{PREFIX}{}", URL_SAFE_NO_PAD.encode(miniz_oxide::deflate::compress_to_vec(&json, 9)))
    }

    /// The permalink to this session on the playground served at `base` (an `http://` or
    /// `https://` URL of the playground's page or folder, without a fragment): `base#p1.…`.
    /// Refused when `base` is not such a URL, or when the link would be longer than the
    /// playground opens ([`MAX_FRAGMENT`]).
    pub fn link(&self, base: &str) -> Result<String, String> {
        let host = base.strip_prefix("https://").or_else(|| base.strip_prefix("http://"));
        let host = host.ok_or_else(|| format!("`{base}` is not an http:// or https:// URL of the playground"))?;
        if host.is_empty() || host.starts_with('/') {
            return Err(format!("`{base}` names no host"));
        }
        if base.contains('#') || base.chars().any(char::is_whitespace) {
            return Err(format!("`{base}` holds a fragment or white space; give the playground's address alone"));
        }
        self.check()?;
        let fragment = self.to_fragment();
        if fragment.len() > MAX_FRAGMENT {
            return Err(format!(
                "the link would be {} characters long; the playground opens links of up to {MAX_FRAGMENT}",
                fragment.len()
            ));
        }
        Ok(format!("{base}#{fragment}"))
    }

    /// Parses a fragment (with or without `#`).
    pub fn from_fragment(fragment: &str) -> Result<Self, LinkError> {
        let fragment = fragment.strip_prefix('#').unwrap_or(fragment);
        if fragment.len() > MAX_FRAGMENT {
            return Err(LinkError::TooLong(fragment.len()));
        }
        let body = fragment.strip_prefix(PREFIX).ok_or(LinkError::Unknown)?;
        let packed = URL_SAFE_NO_PAD.decode(body.trim_end_matches('=')).map_err(|_| LinkError::Encoding)?;
        let json = miniz_oxide::inflate::decompress_to_vec_with_limit(&packed, MAX_PAYLOAD).map_err(|_| LinkError::Compression)?;
        let session: Self = serde_json::from_slice(&json).map_err(|e| LinkError::Payload(e.to_string()))?;
        session.check().map_err(LinkError::Payload)?;
        Ok(session)
    }

    /// The autosave form (plain JSON).
    pub fn to_json(&self) -> String {
        serde_json::to_string(self).unwrap_or_default()
    }

    /// Parses an autosave.
    pub fn from_json(json: &str) -> Result<Self, String> {
        let s: Self = serde_json::from_str(json).map_err(|e| e.to_string())?;
        s.check()?;
        Ok(s)
    }

    fn check(&self) -> Result<(), String> {
        if self.seed.parse::<u64>().is_err() || self.index.parse::<u64>().is_err() {
            return Err(format!("seed `{}` and index `{}` must be whole numbers 0..2^64", self.seed, self.index));
        }
        if self.name.is_empty() || self.name.len() > 256 {
            return Err("the file name must be 1..256 bytes".into());
        }
        Ok(())
    }

    /// Seed as a number (validated on parse; 0 if edited to nonsense since).
    pub fn seed(&self) -> u64 {
        self.seed.parse().unwrap_or(0)
    }

    /// Index as a number.
    pub fn index(&self) -> u64 {
        self.index.parse().unwrap_or(0)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn session() -> Session {
        Session {
            name: "mine.yaml".into(),
            category: "anti_patterns".into(),
            text: "pattern_id: é😀\n".repeat(200),
            seed: u64::MAX.to_string(),
            index: "3".into(),
            params: vec!["is_anti_pattern=true".into()],
        }
    }

    #[test]
    fn round_trip_is_exact_and_compressed() {
        let s = session();
        let f = s.to_fragment();
        assert!(f.starts_with(PREFIX));
        assert!(f.bytes().all(|b| b.is_ascii_alphanumeric() || b"-_.".contains(&b)), "URL-safe: {f}");
        assert!(f.len() < s.text.len() / 4, "repetitive text compresses: {} vs {}", f.len(), s.text.len());
        assert_eq!(Session::from_fragment(&format!("#{f}")).unwrap(), s);
        assert_eq!(Session::from_json(&s.to_json()).unwrap(), s);
    }

    #[test]
    fn damaged_links_are_told_apart() {
        let f = session().to_fragment();
        assert_eq!(Session::from_fragment("#section-2"), Err(LinkError::Unknown));
        assert_eq!(Session::from_fragment("p1.***"), Err(LinkError::Encoding));
        // Cut short on a base64 quantum boundary: decodes, but the deflate stream is incomplete.
        let cut = PREFIX.len() + (f.len() - PREFIX.len()) / 2 / 4 * 4;
        assert_eq!(Session::from_fragment(&f[..cut]), Err(LinkError::Compression));
        let not_session = format!("{PREFIX}{}", URL_SAFE_NO_PAD.encode(miniz_oxide::deflate::compress_to_vec(b"[1,2]", 6)));
        assert!(matches!(Session::from_fragment(&not_session), Err(LinkError::Payload(_))));
        let huge = "a".repeat(MAX_FRAGMENT + 1);
        assert_eq!(Session::from_fragment(&huge), Err(LinkError::TooLong(MAX_FRAGMENT + 1)));
        let mut bad_seed = session();
        bad_seed.seed = "-1".into();
        assert!(matches!(Session::from_fragment(&bad_seed.to_fragment()), Err(LinkError::Payload(m)) if m.contains("seed")));
    }

    #[test]
    fn links_are_made_for_http_addresses_only() {
        let s = session();
        let link = s.link("https://example.org/tools/plse/").unwrap();
        let (base, fragment) = link.split_once('#').unwrap();
        assert_eq!(base, "https://example.org/tools/plse/");
        assert_eq!(Session::from_fragment(fragment).unwrap(), s);
        assert!(s.link("http://127.0.0.1:8080/index.html").is_ok());
        for bad in
            ["example.org/plse/", "ftp://example.org/", "https://", "https:///x", "https://example.org/#old", "https://example.org/ x"]
        {
            assert!(s.link(bad).is_err(), "{bad}");
        }
        let mut bad_seed = s;
        bad_seed.seed = "x".into();
        assert!(bad_seed.link("https://example.org/").unwrap_err().contains("seed"));
    }

    #[test]
    fn a_zip_bomb_is_refused() {
        let bomb = vec![b' '; MAX_PAYLOAD + 10];
        let f = format!("{PREFIX}{}", URL_SAFE_NO_PAD.encode(miniz_oxide::deflate::compress_to_vec(&bomb, 9)));
        assert!(f.len() < 10_000);
        assert_eq!(Session::from_fragment(&f), Err(LinkError::Compression));
    }
}

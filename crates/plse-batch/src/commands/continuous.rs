//! `generate --continuous`: the run has no fixed count; it generates batch after batch (the
//! same schedule, validation and store as any run) and publishes every `--rotate-every`
//! accepted rows as a finished part (`crate::store::parts`), until `--until` (a row count, or
//! a running time) or a signal. Stopping publishes the rows left over as a last, shorter part;
//! the same command again resumes from the store and continues the parts.

use std::path::PathBuf;
use std::time::Instant;

use anyhow::Result;

use crate::cli::{GenerateArgs, Until};
use crate::store::Store;
use crate::store::parts::{self, Cut, Manifest};

/// The count an unbounded continuous run aims at: never reached (and below
/// [`crate::shards::TOPUP_BASE`], so its indices stay clear of a top-up's).
pub const UNBOUNDED: u64 = 1 << 61;

/// The rows a run aims at: `--count`, or a continuous run's `--until` count.
pub fn target_count(args: &GenerateArgs) -> u64 {
    match (args.continuous.continuous, args.continuous.until) {
        (false, _) => args.count,
        (true, Some(Until::Count(n))) => n,
        (true, _) => UNBOUNDED,
    }
}

/// The rotation of a continuous run.
pub struct Rotation {
    out: PathBuf,
    every: u64,
    manifest: Manifest,
    deadline: Option<Instant>,
    bound: Option<u64>,
}

/// How a continuous run ended.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Stop {
    /// Its `--until` count is reached.
    Reached,
    /// Its `--until` time ran out, or a signal came while it had no count to reach: done.
    Paused,
    /// A signal came before its `--until` count: resumable, worth a retry (exit 1).
    Interrupted,
}

impl Rotation {
    /// The rotation of `args`' run, when it is continuous; `started` is when this invocation
    /// began (the clock of `--until DURATION`).
    pub fn new(args: &GenerateArgs, started: Instant) -> Result<Option<Self>> {
        if !args.continuous.continuous {
            return Ok(None);
        }
        let c = &args.continuous;
        Ok(Some(Self {
            out: args.out.clone(),
            every: c.rotate_every,
            manifest: Manifest::read(&args.out)?,
            deadline: match c.until {
                Some(Until::Duration(d)) => Some(started + d),
                _ => None,
            },
            bound: match c.until {
                Some(Until::Count(n)) => Some(n),
                _ => None,
            },
        }))
    }

    /// Whether `--until DURATION` has run out.
    pub fn out_of_time(&self) -> bool {
        self.deadline.is_some_and(|d| Instant::now() >= d)
    }

    /// Publishes the full parts the store's rows fill (after each committed batch).
    pub fn rotate(&mut self, store: &Store) -> Result<()> {
        let n = parts::rotate(&self.out, store, &mut self.manifest, self.every, Cut::Full)?;
        if n > 0 {
            eprintln!("continuous: published {} ({} rows in {} parts)", self.latest(), self.manifest.rotated(), self.manifest.parts.len());
        }
        Ok(())
    }

    /// Publishes everything left (the run is stopping) and says how it ended.
    pub fn stop(&mut self, store: &Store, signalled: bool) -> Result<Stop> {
        parts::rotate(&self.out, store, &mut self.manifest, self.every, Cut::All)?;
        let total = store.accepted_count()?;
        let stop = match self.bound {
            Some(n) if total >= n => Stop::Reached,
            Some(_) if signalled => Stop::Interrupted,
            _ => Stop::Paused,
        };
        eprintln!(
            "continuous: {total} rows in {} parts under {}{}",
            self.manifest.parts.len(),
            self.out.join(parts::PARTS_DIR).display(),
            match stop {
                Stop::Reached => String::new(),
                _ => "; run the same command again to continue".to_owned(),
            }
        );
        Ok(stop)
    }

    fn latest(&self) -> String {
        self.manifest.parts.last().map_or_else(String::new, |p| p.file.clone())
    }
}

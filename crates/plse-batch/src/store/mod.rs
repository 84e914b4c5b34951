//! The run's store: an embedded SQLite database in the output directory. Every batch is one
//! transaction (WAL mode), so a `kill -9` at any moment leaves the last committed batch and
//! `--resume` continues from there: nothing lost, nothing duplicated.
//!
//! WAL needs shared memory between the processes of one host: on a network filesystem
//! (NFS, Lustre) either keep the store on node-local scratch, or set
//! `PLSE_STORE_LOCKING=exclusive` (`PRAGMA locking_mode=EXCLUSIVE` before WAL: one process
//! holds the store, and WAL then keeps its index in heap memory instead of a shared file).
//!
//! `plse-batch factory` keeps its runs in the same tables (its rows in `samples`, its scenes
//! as the pattern ids of `cursors`, `rejects` and `stages`, the repository's files in
//! `library`), plus the LLM response cache (`llm_cache`) and every exchange with the model
//! (`exchanges`): see [`factory`].

pub mod atomic;
pub mod factory;
pub mod parts;

use std::path::Path;

use anyhow::{Context, Result, bail};
use plse_dataset::Task;
use plse_release::{LibraryEntry, ReleaseError};
use rusqlite::{Connection, OptionalExtension, params};

/// File name of the store inside the output directory.
pub const DB_FILE: &str = "plse-run.sqlite";

/// An open store.
pub struct Store {
    conn: Connection,
}

/// A pattern's progress.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Cursor {
    /// Next sample index to draw.
    pub next_index: u64,
    /// Candidates tried.
    pub attempts: u64,
    /// Candidates accepted.
    pub accepted: u64,
    /// Candidates that failed validation (duplicates are not failures).
    pub failed: u64,
    /// Consecutive candidates that did not yield a new sample.
    pub streak: u64,
    /// Why the pattern was taken out of the run, if it was.
    pub quarantined: Option<String>,
}

/// An accepted row as stored.
pub struct Accepted<'a> {
    /// Sample id.
    pub id: &'a str,
    /// Pattern.
    pub pattern_id: &'a str,
    /// Category.
    pub category: &'a str,
    /// The task the row was drawn as.
    pub task: Task,
    /// Index.
    pub index: u64,
    /// The text duplicates are judged on (to rebuild the dedup index on resume).
    pub text: &'a str,
    /// The exported row (JSON).
    pub row: &'a str,
    /// The preference pair of a paired sample: (pair id, JSON). Pairs are stored once.
    pub preference: Option<(&'a str, &'a str)>,
}

fn export_sql(what: Export) -> &'static str {
    match what {
        Export::Rows => "SELECT row FROM samples ORDER BY seq",
        Export::Rejects => "SELECT record FROM rejects ORDER BY seq",
        Export::Preference => "SELECT row FROM preferences ORDER BY seq",
    }
}

/// How one stage went for one pattern over a run (the release's type: the store is its source).
pub use plse_release::StageCount;

/// What [`Store::export`] writes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Export {
    /// Accepted rows, in acceptance order.
    Rows,
    /// Rejected candidates.
    Rejects,
    /// Preference pairs, in acceptance order.
    Preference,
}

/// Version of the store's tables; a store of another version is refused, not migrated. (The
/// factory's tables, `llm_cache` and `exchanges`, were added without a new version: they are
/// created when missing, and stores without them read as before.)
const SCHEMA_VERSION: i64 = 3;

/// An accepted sample as read back (merging shards).
#[derive(Debug, Clone)]
pub struct StoredSample {
    /// Sample id.
    pub id: String,
    /// Pattern.
    pub pattern_id: String,
    /// Category.
    pub category: String,
    /// The task it was drawn as.
    pub task: Task,
    /// Its sample index.
    pub index: u64,
    /// The text duplicates are judged on.
    pub text: String,
    /// The exported row (JSON).
    pub row: String,
}

impl StoredSample {
    /// The sample as the store accepts it, with its preference pair (id, JSON) if it has one.
    pub fn accepted<'a>(&'a self, preference: Option<(&'a str, &'a str)>) -> Accepted<'a> {
        Accepted {
            id: &self.id,
            pattern_id: &self.pattern_id,
            category: &self.category,
            task: self.task,
            index: self.index,
            text: &self.text,
            row: &self.row,
            preference,
        }
    }
}

/// A rejected candidate.
pub struct Rejected<'a> {
    /// Pattern.
    pub pattern_id: &'a str,
    /// Index.
    pub index: u64,
    /// Stage that failed (`tests`, `dedup-near`, ...).
    pub stage: &'a str,
    /// Why.
    pub reason: &'a str,
    /// The full record (JSON).
    pub record: &'a str,
}

impl Store {
    /// Opens (creating if needed) the store in `dir`.
    pub fn open(dir: &Path) -> Result<Self> {
        std::fs::create_dir_all(dir).with_context(|| format!("creating {}", dir.display()))?;
        let conn = Connection::open(dir.join(DB_FILE)).context("opening the run store")?;
        if std::env::var("PLSE_STORE_LOCKING").is_ok_and(|v| v == "exclusive") {
            conn.pragma_update(None, "locking_mode", "EXCLUSIVE")?;
        }
        conn.pragma_update(None, "journal_mode", "WAL")?;
        conn.pragma_update(None, "synchronous", "FULL")?;
        let tables: i64 = conn.query_row("SELECT COUNT(*) FROM sqlite_master WHERE type = 'table'", [], |r| r.get(0))?;
        let version: i64 = conn.pragma_query_value(None, "user_version", |r| r.get(0))?;
        if tables > 0 && version != SCHEMA_VERSION {
            bail!(
                "{} was written by another version of plse-batch (store schema {version}, this one reads {SCHEMA_VERSION}); choose another --out",
                dir.join(DB_FILE).display()
            );
        }
        // One transaction (one sync of the WAL) for the whole schema, not one per statement.
        conn.execute_batch(&format!(
            "BEGIN;
             CREATE TABLE IF NOT EXISTS config (key TEXT PRIMARY KEY, value TEXT NOT NULL);
             CREATE TABLE IF NOT EXISTS samples (seq INTEGER PRIMARY KEY, id TEXT NOT NULL UNIQUE, pattern_id TEXT NOT NULL, category TEXT NOT NULL, task TEXT NOT NULL, idx INTEGER NOT NULL, text TEXT NOT NULL, row TEXT NOT NULL);
             CREATE TABLE IF NOT EXISTS preferences (seq INTEGER PRIMARY KEY, id TEXT NOT NULL UNIQUE, row TEXT NOT NULL);
             CREATE TABLE IF NOT EXISTS rejects (seq INTEGER PRIMARY KEY, pattern_id TEXT NOT NULL, idx INTEGER NOT NULL, stage TEXT NOT NULL, reason TEXT NOT NULL, record TEXT NOT NULL);
             CREATE TABLE IF NOT EXISTS cursors (pattern_id TEXT PRIMARY KEY, next_index INTEGER NOT NULL, attempts INTEGER NOT NULL, accepted INTEGER NOT NULL, failed INTEGER NOT NULL, streak INTEGER NOT NULL, quarantined TEXT);
             CREATE TABLE IF NOT EXISTS stages (pattern_id TEXT NOT NULL, stage TEXT NOT NULL, passed INTEGER NOT NULL, failed INTEGER NOT NULL, ms REAL NOT NULL DEFAULT 0, PRIMARY KEY (pattern_id, stage));
             CREATE TABLE IF NOT EXISTS library (path TEXT PRIMARY KEY, pattern_id TEXT NOT NULL, version TEXT NOT NULL, category TEXT NOT NULL, sha256 TEXT NOT NULL);
             CREATE TABLE IF NOT EXISTS llm_cache (key TEXT PRIMARY KEY, request TEXT NOT NULL, response TEXT NOT NULL);
             CREATE TABLE IF NOT EXISTS exchanges (seq INTEGER PRIMARY KEY, scene TEXT NOT NULL, idx INTEGER NOT NULL, record TEXT NOT NULL);
             PRAGMA user_version = {SCHEMA_VERSION};
             COMMIT;",
        ))?;
        Ok(Self { conn })
    }

    /// Opens the store of a finished or interrupted run; fails when `dir` holds none.
    pub fn open_existing(dir: &Path) -> Result<Self> {
        if !dir.join(DB_FILE).is_file() {
            bail!("{} holds no run ({} is missing); run `plse-batch generate --out {}` first", dir.display(), DB_FILE, dir.display());
        }
        Self::open(dir)
    }

    /// Records the library a new run renders (every pattern file with its hash).
    pub fn record_library(&mut self, entries: &[LibraryEntry]) -> Result<()> {
        let tx = self.conn.transaction()?;
        {
            let mut ins = tx.prepare_cached(
                "INSERT OR REPLACE INTO library (path, pattern_id, version, category, sha256) VALUES (?1, ?2, ?3, ?4, ?5)",
            )?;
            for e in entries {
                ins.execute(params![e.path, e.pattern_id, e.version, e.category, e.sha256])?;
            }
        }
        tx.commit()?;
        Ok(())
    }

    /// The library the run rendered.
    pub fn library(&self) -> Result<Vec<LibraryEntry>> {
        let mut stmt = self.conn.prepare("SELECT path, pattern_id, version, category, sha256 FROM library ORDER BY path")?;
        let rows = stmt.query_map([], |r| {
            Ok(LibraryEntry { path: r.get(0)?, pattern_id: r.get(1)?, version: r.get(2)?, category: r.get(3)?, sha256: r.get(4)? })
        })?;
        Ok(rows.collect::<Result<_, _>>()?)
    }

    /// Calls `f` with every line [`Store::export`] would write, one at a time.
    pub fn for_each(&self, what: Export, f: &mut dyn FnMut(&str) -> Result<(), ReleaseError>) -> Result<(), ReleaseError> {
        let db = |e: rusqlite::Error| ReleaseError::Source(e.to_string());
        let mut stmt = self.conn.prepare(export_sql(what)).map_err(db)?;
        let mut rows = stmt.query([]).map_err(db)?;
        while let Some(r) = rows.next().map_err(db)? {
            let line: String = r.get(0).map_err(db)?;
            f(&line)?;
        }
        Ok(())
    }

    /// The run's configuration, if one was recorded.
    pub fn config(&self) -> Result<Option<String>> {
        Ok(self.conn.query_row("SELECT value FROM config WHERE key = 'run'", [], |r| r.get(0)).optional()?)
    }

    /// Records the configuration of a new run; fails if the store already holds a run.
    pub fn start(&self, config: &str) -> Result<()> {
        if let Some(existing) = self.config()? {
            if existing == config {
                return Ok(());
            }
            bail!("the output directory holds a run with another configuration:\n  stored: {existing}\n  now:    {config}");
        }
        self.conn.execute("INSERT INTO config (key, value) VALUES ('run', ?1)", params![config])?;
        Ok(())
    }

    /// Accepted samples so far.
    pub fn accepted_count(&self) -> Result<u64> {
        Ok(self.conn.query_row("SELECT COUNT(*) FROM samples", [], |r| r.get::<_, i64>(0))? as u64)
    }

    /// Calls `f` with the accepted rows `first..first + n`, in acceptance order.
    pub fn for_each_row_in(&self, first: u64, n: u64, f: &mut dyn FnMut(&str) -> Result<()>) -> Result<()> {
        let mut stmt = self.conn.prepare("SELECT row FROM samples ORDER BY seq LIMIT ?1 OFFSET ?2")?;
        let mut rows = stmt.query(params![n as i64, first as i64])?;
        while let Some(r) = rows.next()? {
            f(&r.get::<_, String>(0)?)?;
        }
        Ok(())
    }

    /// The stored preference pair with `id`, if any.
    pub fn preference(&self, id: &str) -> Result<Option<String>> {
        Ok(self.conn.query_row("SELECT row FROM preferences WHERE id = ?1", params![id], |r| r.get(0)).optional()?)
    }

    /// The cursor of every pattern seen.
    pub fn cursors(&self) -> Result<Vec<(String, Cursor)>> {
        let mut stmt = self.conn.prepare("SELECT pattern_id, next_index, attempts, accepted, failed, streak, quarantined FROM cursors")?;
        let rows = stmt.query_map([], |r| {
            Ok((
                r.get::<_, String>(0)?,
                Cursor {
                    next_index: r.get::<_, i64>(1)? as u64,
                    attempts: r.get::<_, i64>(2)? as u64,
                    accepted: r.get::<_, i64>(3)? as u64,
                    failed: r.get::<_, i64>(4)? as u64,
                    streak: r.get::<_, i64>(5)? as u64,
                    quarantined: r.get(6)?,
                },
            ))
        })?;
        Ok(rows.collect::<Result<_, _>>()?)
    }

    /// Dedup texts of accepted rows with their ids and tasks, in acceptance order (to rebuild
    /// the dedup index).
    pub fn accepted_texts(&self) -> Result<Vec<(String, Task, String)>> {
        let mut stmt = self.conn.prepare("SELECT id, task, text FROM samples ORDER BY seq")?;
        let rows = stmt.query_map([], |r| Ok((r.get::<_, String>(0)?, r.get::<_, String>(1)?, r.get::<_, String>(2)?)))?;
        let mut out = Vec::new();
        for row in rows {
            let (id, task, text) = row?;
            let task = Task::parse(&task).with_context(|| format!("unknown task `{task}` in the store"))?;
            out.push((id, task, text));
        }
        Ok(out)
    }

    /// Commits one batch atomically.
    pub fn commit(
        &mut self,
        accepted: &[Accepted<'_>],
        rejected: &[Rejected<'_>],
        cursors: &[(&str, &Cursor)],
        stages: &[(&str, &str, bool, f64)],
    ) -> Result<()> {
        let tx = self.conn.transaction()?;
        {
            let mut ins = tx.prepare_cached(
                "INSERT INTO samples (id, pattern_id, category, task, idx, text, row) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7)",
            )?;
            let mut pref = tx.prepare_cached("INSERT OR IGNORE INTO preferences (id, row) VALUES (?1, ?2)")?;
            for a in accepted {
                ins.execute(params![a.id, a.pattern_id, a.category, a.task.as_str(), a.index as i64, a.text, a.row])?;
                if let Some((id, row)) = a.preference {
                    pref.execute(params![id, row])?;
                }
            }
            let mut rej = tx.prepare_cached("INSERT INTO rejects (pattern_id, idx, stage, reason, record) VALUES (?1, ?2, ?3, ?4, ?5)")?;
            for r in rejected {
                rej.execute(params![r.pattern_id, r.index as i64, r.stage, r.reason, r.record])?;
            }
            let mut cur = tx.prepare_cached(
                "INSERT INTO cursors (pattern_id, next_index, attempts, accepted, failed, streak, quarantined) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7)
                 ON CONFLICT(pattern_id) DO UPDATE SET next_index = ?2, attempts = ?3, accepted = ?4, failed = ?5, streak = ?6, quarantined = ?7",
            )?;
            for (id, c) in cursors {
                cur.execute(params![
                    id,
                    c.next_index as i64,
                    c.attempts as i64,
                    c.accepted as i64,
                    c.failed as i64,
                    c.streak as i64,
                    c.quarantined
                ])?;
            }
            let mut st = tx.prepare_cached(
                "INSERT INTO stages (pattern_id, stage, passed, failed, ms) VALUES (?1, ?2, ?3, ?4, ?5)
                 ON CONFLICT(pattern_id, stage) DO UPDATE SET passed = passed + ?3, failed = failed + ?4, ms = ms + ?5",
            )?;
            for (pattern, stage, ok, ms) in stages {
                st.execute(params![pattern, stage, i64::from(*ok), i64::from(!*ok), ms])?;
            }
        }
        tx.commit().context("committing a batch")?;
        Ok(())
    }

    /// Calls `f` with every accepted sample, in acceptance order, one at a time.
    pub fn for_each_sample(&self, f: &mut dyn FnMut(&StoredSample) -> Result<()>) -> Result<()> {
        let mut stmt = self.conn.prepare("SELECT id, pattern_id, category, task, idx, text, row FROM samples ORDER BY seq")?;
        let mut rows = stmt.query([])?;
        while let Some(r) = rows.next()? {
            let task: String = r.get(3)?;
            let sample = StoredSample {
                id: r.get(0)?,
                pattern_id: r.get(1)?,
                category: r.get(2)?,
                task: Task::parse(&task).with_context(|| format!("unknown task `{task}` in the store"))?,
                index: r.get::<_, i64>(4)? as u64,
                text: r.get(5)?,
                row: r.get(6)?,
            };
            f(&sample)?;
        }
        Ok(())
    }

    /// Adds preference pairs (id, JSON) in order; pairs already present are kept once.
    pub fn insert_preferences(&mut self, pairs: &[(String, String)]) -> Result<()> {
        let tx = self.conn.transaction()?;
        {
            let mut pref = tx.prepare_cached("INSERT OR IGNORE INTO preferences (id, row) VALUES (?1, ?2)")?;
            for (id, row) in pairs {
                pref.execute(params![id, row])?;
            }
        }
        tx.commit()?;
        Ok(())
    }

    /// Adds stage statistics (another run's, when merging shards).
    pub fn add_stage_counts(&mut self, counts: &[StageCount]) -> Result<()> {
        let tx = self.conn.transaction()?;
        {
            let mut st = tx.prepare_cached(
                "INSERT INTO stages (pattern_id, stage, passed, failed, ms) VALUES (?1, ?2, ?3, ?4, ?5)
                 ON CONFLICT(pattern_id, stage) DO UPDATE SET passed = passed + ?3, failed = failed + ?4, ms = ms + ?5",
            )?;
            for c in counts {
                st.execute(params![c.pattern_id, c.stage, c.passed as i64, c.failed as i64, c.ms])?;
            }
        }
        tx.commit()?;
        Ok(())
    }

    /// Streams accepted rows, rejected records or preference pairs as JSON lines into `w`;
    /// returns how many. One row in memory at a time.
    pub fn export(&self, what: Export, w: &mut dyn std::io::Write) -> Result<u64> {
        let mut stmt = self.conn.prepare(export_sql(what))?;
        let mut rows = stmt.query([])?;
        let mut n = 0;
        while let Some(r) = rows.next()? {
            let line: String = r.get(0)?;
            w.write_all(line.as_bytes())?;
            w.write_all(b"\n")?;
            n += 1;
        }
        Ok(n)
    }

    /// Per pattern and stage: runs passed and failed, and the time they took.
    pub fn stage_counts(&self) -> Result<Vec<StageCount>> {
        let mut stmt = self.conn.prepare("SELECT pattern_id, stage, passed, failed, ms FROM stages ORDER BY pattern_id, stage")?;
        let rows = stmt.query_map([], |r| {
            Ok(StageCount {
                pattern_id: r.get(0)?,
                stage: r.get(1)?,
                passed: r.get::<_, i64>(2)? as u64,
                failed: r.get::<_, i64>(3)? as u64,
                ms: r.get(4)?,
            })
        })?;
        Ok(rows.collect::<Result<_, _>>()?)
    }

    /// Most common rejection reasons: (stage, reason, count).
    pub fn top_reasons(&self, n: usize) -> Result<Vec<(String, String, u64)>> {
        let mut stmt = self.conn.prepare(
            "SELECT stage, substr(reason, 1, 160) AS r, COUNT(*) AS c FROM rejects GROUP BY stage, r ORDER BY c DESC, r LIMIT ?1",
        )?;
        let rows = stmt.query_map(params![n as i64], |r| Ok((r.get(0)?, r.get(1)?, r.get::<_, i64>(2)? as u64)))?;
        Ok(rows.collect::<Result<_, _>>()?)
    }
}

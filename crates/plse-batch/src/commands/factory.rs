//! `plse-batch factory qa|design|all`: the codebase data factory's command layer. The
//! repository is scanned and the exchanges planned by `plse-factory` (pure: targets, contexts,
//! prompts, parsing, checks, rows); this module owns what is not pure: files, the store, the
//! provider (`plse-llm`), the sandbox that compiles Python code blocks, progress and signals.
//!
//! A run is a sequence of exchanges per scene (qa first, then design), exchange `i` about the
//! `i`-th target of the seeded schedule. Exchanges go out in batches whose size depends only on
//! how many rows are still missing (never on `--concurrency`); the answers are checked, then
//! accepted in schedule order (exchange, then item) until the scene's count is reached, and the
//! batch — rows, rejects, exchanges, cursors, stage counts — is committed in one transaction.
//! Every answer is cached in the store as it arrives, so an interrupted run resumes without
//! asking again, and a finished one reruns with no request at all and the same bytes.

use std::collections::BTreeMap;
use std::io::Write;
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex, PoisonError};
use std::time::{Duration, Instant};

use anyhow::{Context, Result, bail};
use rayon::prelude::*;
use serde_json::{Value, json};

use plse_dedup::{Deduper, Duplicate, Params};
use plse_factory::answer::{self, Proposal, QaItem};
use plse_factory::context::{self, DesignContext, QaContext};
use plse_factory::prompt::{Prompt, Templates};
use plse_factory::repo::{self, Chunk, RepoIndex, ScanOptions};
use plse_factory::row::{self, FactoryRow, RowMeta, Think, ThinkingSource};
use plse_factory::schedule::{self, Eligibility, Scene};
use plse_factory::validate::{self, BlockCheck, BlockOutcome, Reject, Stage};
use plse_llm::{Cache, Cached, ChatRequest, Completion, DryRun, FinishReason, LlmError, MemoryCache, Message, Provider};

use crate::cli::{FactoryArgs, FactoryScene, ProviderKind, ThinkMode};
use crate::commands::generate::{DATASET, Progress, REJECTS, catch_stop_signals, stopped};
use crate::shards::code;
use crate::store::factory::{FactoryAccepted, FactoryBatch, FactoryRejected, LlmCache};
use crate::store::{Cursor, DB_FILE, Export, Store};
use crate::validation::compile::Compiler;

/// Every exchange with the model: the canonical request, the response body, the verdict.
pub const RAW: &str = "raw.jsonl";
/// The rows of `--combine-with`'s run, then the factory's.
pub const COMBINED: &str = "combined.jsonl";
/// What a dry run would send, one request a line.
pub const REQUESTS: &str = "requests.jsonl";
/// A dry run's totals.
pub const DRY_RUN: &str = "dry_run.json";
/// The scan of the repository: files with their chunk counts, and what was skipped and why.
pub const SCAN: &str = "repo_scan.json";

/// Version of the factory's row shape (recorded with a run: a store written with another is
/// not resumed).
pub const ROW_FORMAT: u32 = 1;

/// Most exchanges per batch. Fixed, so that the dataset does not depend on it... nor on
/// `--concurrency`, which only says how many of a batch's requests are in flight at once.
const BATCH_EXCHANGES: u64 = 8;

/// The stages of a scene's candidates, in the order they are checked (`dedup` stands for
/// both of its reject stages in the statistics).
fn pipeline(scene: Scene) -> [&'static str; 8] {
    let middle = match scene {
        Scene::Qa => Stage::Citation.as_str(),
        Scene::Design => Stage::AffectedFiles.as_str(),
    };
    ["request", "truncated", "parse", "empty", middle, "quote", "code", "dedup"]
}

/// What a run is about: the repository, the templates, the scenes and what each asks about.
struct Setup {
    index: RepoIndex,
    templates: Templates,
    /// The scenes of the run with their row counts, in run order.
    scenes: Vec<(Scene, u64)>,
    qa_targets: Vec<Chunk>,
    design_targets: Vec<String>,
    model: String,
    config: Value,
}

impl Setup {
    fn targets(&self, scene: Scene) -> u64 {
        match scene {
            Scene::Qa => self.qa_targets.len() as u64,
            Scene::Design => self.design_targets.len() as u64,
        }
    }
}

/// Runs `factory`. Returns the process exit code.
pub fn run(args: &FactoryArgs) -> Result<i32> {
    let dry = args.dry_run || args.provider.provider == ProviderKind::DryRun;
    let setup = match prepare(args, dry)? {
        Ok(s) => s,
        Err(template_error) => {
            eprintln!("{template_error}");
            return Ok(code::CONFIG);
        }
    };
    std::fs::create_dir_all(&args.out).with_context(|| format!("creating {}", args.out.display()))?;
    write_scan(&args.out, setup.index.repo())?;
    if dry {
        return dry_run(args, &setup);
    }
    run_exchanges(args, &setup)
}

/// Scans the repository, loads the templates, plans the scenes and checks that the
/// repository can yield the counts asked for. A broken template is the inner `Err`, rendered.
fn prepare(args: &FactoryArgs, dry: bool) -> Result<Result<Setup, String>> {
    // Canonical, so that prompts name the repository by its directory even for `--repo .`.
    let root = std::fs::canonicalize(&args.repo).with_context(|| format!("--repo {}", args.repo.display()))?;
    let repo = repo::scan(&root, &ScanOptions::default()).with_context(|| format!("scanning {}", args.repo.display()))?;
    let templates = match load_templates(args.templates.as_deref())? {
        Ok(t) => t,
        Err(e) => return Ok(Err(e)),
    };
    let scenes: Vec<(Scene, u64)> = match args.scene {
        FactoryScene::Qa => vec![(Scene::Qa, args.count)],
        FactoryScene::Design => vec![(Scene::Design, args.count)],
        FactoryScene::All => {
            let design = args.design_count.unwrap_or((args.count / 4).max(1));
            if design > args.count {
                bail!("--design-count {design} is more than --count {}", args.count);
            }
            [(Scene::Qa, args.count - design), (Scene::Design, design)].into_iter().filter(|(_, n)| *n > 0).collect()
        }
    };
    if args.design_count.is_some() && args.scene != FactoryScene::All {
        bail!("--design-count is for `factory all` (with `{}`, --count is the number of rows)", scene_name(args.scene));
    }
    let model = match (&args.provider.model, dry) {
        (Some(m), _) => m.clone(),
        (None, true) => "model".to_owned(),
        (None, false) => bail!("--model is required: the model name the server knows (e.g. --model gpt-4o-mini)"),
    };
    let eligibility = Eligibility { min_lines: args.min_lines.max(1) };
    let qa_targets: Vec<Chunk> = schedule::qa_targets(&repo, &eligibility, args.seed).into_iter().cloned().collect();
    let design_targets: Vec<String> = schedule::design_targets(&repo, args.seed).into_iter().map(str::to_owned).collect();
    let index = RepoIndex::new(repo);
    let mut setup = Setup { index, templates, scenes, qa_targets, design_targets, model, config: Value::Null };
    for &(scene, count) in &setup.scenes {
        let per = per_exchange(args, scene);
        let most = setup.targets(scene) * per;
        if count > most {
            let what = match scene {
                Scene::Qa => format!("{} chunks of at least {} lines × {per} questions", setup.targets(scene), eligibility.min_lines),
                Scene::Design => format!("{} files with code × 1 proposal", setup.targets(scene)),
            };
            bail!(
                "{} cannot yield {count} {scene} rows: it has at most {most} candidates ({what}), and some answers are always rejected; lower --count{}",
                args.repo.display(),
                if scene == Scene::Qa { " or raise --questions" } else { "" }
            );
        }
    }
    setup.config = config(args, &setup)?;
    Ok(Ok(setup))
}

fn scene_name(s: FactoryScene) -> &'static str {
    match s {
        FactoryScene::Qa => "qa",
        FactoryScene::Design => "design",
        FactoryScene::All => "all",
    }
}

fn per_exchange(args: &FactoryArgs, scene: Scene) -> u64 {
    match scene {
        Scene::Qa => args.questions,
        Scene::Design => 1,
    }
}

/// The shipped templates, or those of `--templates DIR` (a scene's file that is absent keeps
/// the shipped one). A broken template is the inner `Err`: its diagnostics, rendered.
fn load_templates(dir: Option<&Path>) -> Result<Result<Templates, String>> {
    let Some(dir) = dir else { return Ok(Ok(Templates::builtin())) };
    if !dir.is_dir() {
        bail!("--templates {}: not a directory", dir.display());
    }
    let read = |scene: Scene| -> Result<Option<(String, String)>> {
        let path = dir.join(scene.template_file());
        if !path.is_file() {
            return Ok(None);
        }
        let text = std::fs::read_to_string(&path).with_context(|| format!("reading {}", path.display()))?;
        Ok(Some((path.display().to_string(), text)))
    };
    let (qa, design) = (read(Scene::Qa)?, read(Scene::Design)?);
    if qa.is_none() && design.is_none() {
        bail!("--templates {}: holds neither qa.jinja nor design.jinja", dir.display());
    }
    let style = if std::io::IsTerminal::is_terminal(&std::io::stderr()) && std::env::var_os("NO_COLOR").is_none() {
        plse_schema::RenderStyle::Styled
    } else {
        plse_schema::RenderStyle::Plain
    };
    Ok(Templates::new(qa, design).map_err(|e| e.render(style)))
}

/// Everything the rows depend on: a store holding another configuration is not resumed.
fn config(args: &FactoryArgs, setup: &Setup) -> Result<Value> {
    let repo = setup.index.repo();
    let files: Vec<String> = repo.files.iter().map(|f| format!("{} {}", f.sha256, f.path)).collect();
    let repo_hash = plse_sampling::rng::hex_digest(files.join("\n").as_bytes(), 64);
    let template_hash = |scene| plse_sampling::rng::hex_digest(setup.templates.text(scene).as_bytes(), 16);
    let counts: serde_json::Map<String, Value> = setup.scenes.iter().map(|(s, n)| (s.as_str().to_owned(), json!(n))).collect();
    let canonical = |p: &Path| std::fs::canonicalize(p).unwrap_or_else(|_| p.to_path_buf()).display().to_string();
    let combine = args.combine_with.as_deref().map(canonical);
    let p = &args.provider;
    let mut reproduce = format!(
        "plse-batch factory {} --repo {} --count {} --seed {} --model {} --temperature {} --max-tokens {} --questions {} --context-chars {} --min-lines {} --think {} --dedup-threshold {}",
        scene_name(args.scene),
        canonical(&args.repo),
        args.count,
        args.seed,
        setup.model,
        p.temperature,
        p.max_tokens,
        args.questions,
        args.context_chars,
        args.min_lines,
        think(args).as_str(),
        args.dedup_threshold
    );
    if let Some(d) = args.design_count {
        reproduce.push_str(&format!(" --design-count {d}"));
    }
    if let Some(t) = &args.templates {
        reproduce.push_str(&format!(" --templates {}", canonical(t)));
    }
    if let Some(c) = &combine {
        reproduce.push_str(&format!(" --combine-with {c}"));
    }
    reproduce.push_str(" --base-url URL [--api-key-env NAME]");
    Ok(json!({
        "kind": "factory", "scene": scene_name(args.scene), "counts": counts, "count": args.count, "seed": args.seed,
        "repo": context::RepoSummary::of(repo).name, "repo_hash": repo_hash, "model": setup.model,
        "temperature": p.temperature, "max_tokens": p.max_tokens, "questions": args.questions, "context_chars": args.context_chars,
        "min_lines": args.min_lines, "think": think(args).as_str(), "dedup_threshold": args.dedup_threshold,
        "templates": { "qa": template_hash(Scene::Qa), "design": template_hash(Scene::Design) },
        "combine_with": combine, "decontaminate": args.release.decontaminate, "ngram": args.release.ngram,
        "row_format": ROW_FORMAT, "reproduce": reproduce,
    }))
}

fn think(args: &FactoryArgs) -> Think {
    match args.think {
        ThinkMode::Field => Think::Field,
        ThinkMode::Inline => Think::Inline,
    }
}

/// `OUT/repo_scan.json`: the files read (with their chunks' count) and what was skipped, why.
fn write_scan(out: &Path, repo: &repo::Repo) -> Result<()> {
    let files: Vec<Value> = repo
        .files
        .iter()
        .map(|f| json!({ "path": f.path, "language": f.language, "lines": f.line_count, "chunks": f.chunks.len(), "syntax_errors": f.syntax_errors.len() }))
        .collect();
    let scan = json!({ "files": files, "skipped": repo.skipped, "warnings": repo.warnings });
    crate::store::atomic::write(&out.join(SCAN), format!("{}\n", serde_json::to_string_pretty(&scan)?).as_bytes())
}

/// One planned exchange: its place in the schedule, its context and its request.
struct Planned {
    scene: Scene,
    index: u64,
    sample_seed: u64,
    /// The chunk's location (qa) or the focus file (design).
    focus: String,
    ctx: Ctx,
    request: ChatRequest,
}

enum Ctx {
    Qa(Box<QaContext>),
    Design(Box<DesignContext>),
}

/// Exchange `index` of `scene`: the context, the prompt rendered from the templates, the
/// request. A template that fails to render is an error with its located diagnostic.
fn plan(args: &FactoryArgs, setup: &Setup, scene: Scene, index: u64) -> Result<Planned> {
    let repo = setup.index.repo();
    let (ctx, prompt, focus): (Ctx, Prompt, String) = match scene {
        Scene::Qa => {
            let chunk = &setup.qa_targets[index as usize];
            let ctx = context::qa_context(repo, chunk, args.context_chars);
            let prompt = setup.templates.render_qa(&ctx, args.questions as usize).map_err(|e| anyhow::anyhow!("{e}"))?;
            (Ctx::Qa(Box::new(ctx)), prompt, chunk.location())
        }
        Scene::Design => {
            let focus = &setup.design_targets[index as usize];
            let ctx = context::design_context(repo, focus, args.seed, index, args.context_chars);
            let prompt = setup.templates.render_design(&ctx).map_err(|e| anyhow::anyhow!("{e}"))?;
            (Ctx::Design(Box::new(ctx)), prompt, focus.clone())
        }
    };
    let sample_seed = schedule::sample_seed(args.seed, scene, index);
    let mut request = ChatRequest::new(setup.model.clone(), vec![Message::system(prompt.system), Message::user(prompt.user)]);
    request.temperature = args.provider.temperature;
    request.max_tokens = args.provider.max_tokens;
    request.seed = Some(sample_seed);
    request.response_format = match &ctx {
        Ctx::Qa(c) => args.provider.response_format.format().wrap("codebase_qa", plse_factory::schema::qa(c, args.questions as usize)),
        Ctx::Design(_) => {
            let files: Vec<String> = repo.files.iter().map(|f| f.path.clone()).collect();
            args.provider.response_format.format().wrap("codebase_design", plse_factory::schema::design(&files))
        }
    };
    Ok(Planned { scene, index, sample_seed, focus, ctx, request })
}

/// How many exchanges a dry run plans per scene: what a run needs if every answer is kept.
fn dry_exchanges(args: &FactoryArgs, setup: &Setup, scene: Scene, count: u64) -> u64 {
    count.div_ceil(per_exchange(args, scene)).min(setup.targets(scene))
}

/// A `Write` into shared memory, so that the dry run's lines can be written atomically after.
#[derive(Clone, Default)]
struct Sink(Arc<Mutex<Vec<u8>>>);

impl Write for Sink {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        self.0.lock().unwrap_or_else(PoisonError::into_inner).extend_from_slice(buf);
        Ok(buf.len())
    }

    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

/// `--dry-run`: the requests a run would send (at least: every answer kept), behind the run's
/// cache when OUT already holds one, so only what would still be sent is written.
fn dry_run(args: &FactoryArgs, setup: &Setup) -> Result<i32> {
    let cache: Arc<dyn Cache> = if args.out.join(DB_FILE).is_file() {
        Arc::new(LlmCache::new(Arc::new(Mutex::new(Store::open_existing(&args.out)?))))
    } else {
        Arc::new(MemoryCache::new())
    };
    let sink = Sink::default();
    let provider = Cached::new(DryRun::new(sink.clone()), cache);
    let mut scenes = serde_json::Map::new();
    let mut cached = 0u64;
    for &(scene, count) in &setup.scenes {
        let n = dry_exchanges(args, setup, scene, count);
        let mut scene_cached = 0;
        for i in 0..n {
            let p = plan(args, setup, scene, i)?;
            if provider.complete(&p.request, p.sample_seed)?.from_cache {
                scene_cached += 1;
            }
        }
        cached += scene_cached;
        scenes.insert(
            scene.as_str().into(),
            json!({ "rows": count, "targets": setup.targets(scene), "per_exchange": per_exchange(args, scene), "exchanges": n, "cached": scene_cached }),
        );
    }
    let bytes = std::mem::take(&mut *sink.0.lock().unwrap_or_else(PoisonError::into_inner));
    crate::store::atomic::write(&args.out.join(REQUESTS), &bytes)?;
    let totals = provider.provider().totals();
    let repo = setup.index.repo();
    let summary = json!({
        "repo": { "name": context::RepoSummary::of(repo).name, "files": repo.files.len(), "skipped": repo.skipped.len(), "chunks": repo.chunks().count() },
        "model": setup.model, "scenes": scenes, "requests": totals.requests, "cached": cached,
        "estimated_prompt_tokens": totals.estimated_prompt_tokens, "max_completion_tokens": totals.max_tokens,
        "note": "a run sends at least these requests: every rejected answer is replaced by a further exchange; token estimates are characters / 4 plus 4 per message",
    });
    crate::store::atomic::write(&args.out.join(DRY_RUN), format!("{}\n", serde_json::to_string_pretty(&summary)?).as_bytes())?;
    println!(
        "dry run: {} requests would be sent ({} answered from the cache), about {} prompt tokens, at most {} completion tokens",
        totals.requests, cached, totals.estimated_prompt_tokens, totals.max_tokens
    );
    for (scene, s) in &scenes {
        println!("  {scene}: {} rows from {} exchanges of {} targets", s["rows"], s["exchanges"], s["targets"]);
    }
    println!("wrote {} and {}", args.out.join(REQUESTS).display(), args.out.join(DRY_RUN).display());
    Ok(code::OK)
}

/// The provider of a real run (`crate::llm`).
fn provider(args: &FactoryArgs, cache: LlmCache) -> Result<Box<dyn Provider>> {
    crate::llm::provider(&args.provider, args.seed, cache)
}

/// What a run knows between batches (rebuilt from the store on resume).
struct State {
    cursors: BTreeMap<Scene, Cursor>,
    dedup: BTreeMap<Scene, Deduper>,
    rejected: u64,
    /// Requests sent this session, and answers taken from the cache.
    sent: u64,
    from_cache: u64,
    llm_time: Duration,
}

fn open_store(args: &FactoryArgs, setup: &Setup) -> Result<Store> {
    let mut store = Store::open(&args.out)?;
    let config = setup.config.to_string();
    let total: u64 = setup.scenes.iter().map(|(_, n)| n).sum();
    match store.config()? {
        Some(c) if c == config && store.accepted_count()? >= total => {}
        Some(c) if !args.resume => {
            let what = if c == config { "an unfinished run" } else { "a different run" };
            bail!(
                "{} already holds {what} ({} rows accepted); pass --resume to continue it, or choose another --out",
                args.out.join(DB_FILE).display(),
                store.accepted_count()?
            );
        }
        _ => store.start(&config)?,
    }
    if store.library()?.is_empty() {
        let entries: Vec<plse_release::LibraryEntry> = setup
            .index
            .repo()
            .files
            .iter()
            .map(|f| plse_release::LibraryEntry {
                path: f.path.clone(),
                pattern_id: f.path.clone(),
                version: f.sha256.chars().take(12).collect(),
                category: f.language.name().to_owned(),
                sha256: f.sha256.clone(),
            })
            .collect();
        store.record_library(&entries)?;
    }
    if let Some(dir) = &args.cache_from {
        let added = store.import_cache(dir)?;
        eprintln!("cache: {added} answers copied from {}", dir.display());
    }
    Ok(store)
}

fn resume(args: &FactoryArgs, setup: &Setup, store: &Store) -> Result<State> {
    let mut cursors: BTreeMap<Scene, Cursor> = BTreeMap::new();
    for (name, c) in store.cursors()? {
        if let Some(scene) = Scene::parse(&name) {
            cursors.insert(scene, c);
        }
    }
    let mut dedup: BTreeMap<Scene, Deduper> = BTreeMap::new();
    for &(scene, _) in &setup.scenes {
        cursors.entry(scene).or_default();
        dedup.insert(scene, Deduper::new(Params::with_threshold(args.dedup_threshold)));
    }
    for (id, task, text) in store.texts()? {
        if let Some(d) = Scene::parse(&task).and_then(|s| dedup.get_mut(&s)) {
            let _ = d.check_and_insert(&id, &text);
        }
    }
    let resumed = store.accepted_count()?;
    if resumed > 0 {
        eprintln!("resuming: {resumed} rows already accepted");
    }
    Ok(State { cursors, dedup, rejected: 0, sent: 0, from_cache: 0, llm_time: Duration::ZERO })
}

/// How a run's loop ended.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum End {
    Complete,
    /// A scene ran out of targets before its count.
    Short(Scene),
}

fn run_exchanges(args: &FactoryArgs, setup: &Setup) -> Result<i32> {
    let combined = match &args.combine_with {
        Some(dir) => Some(check_combine(dir)?),
        None => None,
    };
    // A missing key is a configuration error: say so before a store is started.
    if let (ProviderKind::Openai, Some(var)) = (args.provider.provider, &args.provider.api_key_env) {
        plse_llm::Secret::from_env(var)?;
    }
    let store = Arc::new(Mutex::new(open_store(args, setup)?));
    let lock = || store.lock().unwrap_or_else(PoisonError::into_inner);
    let mut state = resume(args, setup, &lock())?;
    let provider = provider(args, LlmCache::new(Arc::clone(&store)))?;
    let pool = rayon::ThreadPoolBuilder::new().num_threads(args.provider.concurrency as usize).build()?;
    let mut compiler = Compiler::new(args.venv.clone(), args.unsafe_no_sandbox);
    let total: u64 = setup.scenes.iter().map(|(_, n)| n).sum();
    let progress = Progress::labelled("factory", total, lock().accepted_count()?);
    let started = Instant::now();
    catch_stop_signals();
    let mut end = End::Complete;
    'scenes: for &(scene, count) in &setup.scenes {
        loop {
            let cursor = &state.cursors[&scene];
            if cursor.accepted >= count {
                break;
            }
            if stopped() {
                progress.done();
                eprintln!(
                    "interrupted: {} of {total} rows committed; run the same command with --resume to continue",
                    lock().accepted_count()?
                );
                return Ok(code::TRANSIENT);
            }
            let remaining = count - cursor.accepted;
            let wanted = (remaining + remaining / 2).div_ceil(per_exchange(args, scene)) + 1;
            let available = setup.targets(scene).saturating_sub(cursor.next_index);
            let n = wanted.min(BATCH_EXCHANGES).min(available);
            if n == 0 {
                end = End::Short(scene);
                break 'scenes;
            }
            let planned: Vec<Planned> =
                (cursor.next_index..cursor.next_index + n).map(|i| plan(args, setup, scene, i)).collect::<Result<_>>()?;
            let answers: Vec<Result<Completion, LlmError>> =
                pool.install(|| planned.par_iter().map(|p| provider.complete(&p.request, p.sample_seed)).collect());
            let answers = match settle(answers, &mut state) {
                Ok(a) => a,
                Err(e) => {
                    progress.done();
                    eprintln!("error: {e:#}");
                    eprintln!(
                        "the answers received so far are cached in {}; run the same command with --resume to continue",
                        args.out.join(DB_FILE).display()
                    );
                    return Ok(code::TRANSIENT);
                }
            };
            let exchanges: Vec<Exchange> = planned.into_iter().zip(answers).map(|(p, a)| evaluate(args, setup, p, a)).collect();
            let exchanges = compile(&mut compiler, exchanges)?;
            let batch = accept(args, setup, &mut state, scene, count, exchanges)?;
            lock().commit_factory(&batch)?;
            let done: u64 = state.cursors.values().map(|c| c.accepted).sum();
            progress.update(done, state.rejected);
        }
    }
    progress.done();
    let store = lock();
    finish(args, setup, &store, &state, combined.as_deref(), started, end)
}

/// A `--combine-with` directory: a finished `generate` run.
fn check_combine(dir: &Path) -> Result<PathBuf> {
    let other = Store::open_existing(dir)?;
    let config: Value = serde_json::from_str(&other.config()?.context("the --combine-with store holds no run")?)?;
    if config["kind"] == "factory" {
        bail!("--combine-with {}: that is a factory run; combine with a `plse-batch generate` run", dir.display());
    }
    if other.accepted_count()? == 0 {
        bail!("--combine-with {}: the run holds no rows", dir.display());
    }
    Ok(dir.to_path_buf())
}

/// An answer, or why this exchange alone got none.
enum Answer {
    Done(Completion),
    Refused(String),
}

/// Sorts the batch's answers: a refusal of one request (400, 413, 422: the request itself is
/// at fault, e.g. too long) rejects that exchange; any other error stops the run (a rerun with
/// --resume continues, the answers received being cached).
fn settle(answers: Vec<Result<Completion, LlmError>>, state: &mut State) -> Result<Vec<Answer>> {
    let mut out = Vec::with_capacity(answers.len());
    for a in answers {
        match a {
            Ok(c) => {
                if c.from_cache {
                    state.from_cache += 1;
                } else {
                    state.sent += 1;
                }
                state.llm_time += c.elapsed;
                out.push(Answer::Done(c));
            }
            Err(LlmError::Status { status: status @ (400 | 413 | 422), snippet, .. }) => {
                state.sent += 1;
                out.push(Answer::Refused(format!("HTTP {status}: {snippet}")));
            }
            Err(e @ LlmError::ReplayMiss { .. }) => {
                return Err(anyhow::Error::new(e).context("--provider replay answers only what the run's cache holds (see --cache-from)"));
            }
            Err(e) => return Err(e.into()),
        }
    }
    Ok(out)
}

/// One exchange after its checks: the candidates it yielded, in item order.
struct Exchange {
    planned: Planned,
    answer: Answer,
    candidates: Vec<Candidate>,
}

/// One candidate row: an item of a question exchange, a proposal, or the whole exchange when
/// it yielded nothing to look at.
struct Candidate {
    /// The item's position (`None`: the exchange as a whole).
    item: Option<usize>,
    /// The question or the proposal's title, for the reject record.
    label: Option<String>,
    verdict: Result<Passed, Reject>,
}

/// A candidate that passed the checks so far.
struct Passed {
    content: Content,
    thinking: Option<(String, ThinkingSource)>,
    blocks: Vec<BlockCheck>,
}

enum Content {
    Qa(QaItem),
    Design(Proposal),
}

fn finish_reason(r: &FinishReason) -> String {
    match r {
        FinishReason::Stop => "stop".into(),
        FinishReason::Length => "length".into(),
        FinishReason::ContentFilter => "content_filter".into(),
        FinishReason::ToolCalls => "tool_calls".into(),
        FinishReason::Other(s) => s.clone(),
    }
}

/// The checks of `plse-factory` on one exchange's answer (Python blocks still to compile).
fn evaluate(args: &FactoryArgs, setup: &Setup, planned: Planned, answer: Answer) -> Exchange {
    let whole = |r: Reject| vec![Candidate { item: None, label: None, verdict: Err(r) }];
    let candidates = match &answer {
        Answer::Refused(detail) => whole(Reject::Request { detail: detail.clone() }),
        Answer::Done(c) => match validate::check_exchange(&c.response.content, c.response.is_truncated()) {
            Err(r) => whole(r),
            Ok(()) => {
                let reasoning = c.response.reasoning.as_deref();
                match &planned.ctx {
                    Ctx::Qa(ctx) => match answer::parse_qa(&c.response.content, args.questions as usize) {
                        Err(e) => whole(Reject::Unparseable { detail: e.to_string() }),
                        Ok(items) => {
                            let n = items.len();
                            items
                                .into_iter()
                                .enumerate()
                                .map(|(i, item)| match item {
                                    Err(detail) => Candidate { item: Some(i), label: None, verdict: Err(Reject::Unparseable { detail }) },
                                    Ok(item) => {
                                        let verdict = validate::check_qa(&setup.index, ctx, &item).map(|blocks| Passed {
                                            thinking: row::thinking(reasoning, item.thinking.as_deref(), n),
                                            content: Content::Qa(item.clone()),
                                            blocks,
                                        });
                                        Candidate { item: Some(i), label: Some(item.question.clone()), verdict }
                                    }
                                })
                                .collect()
                        }
                    },
                    Ctx::Design(_) => match answer::parse_design(&c.response.content) {
                        Err(e) => whole(Reject::Unparseable { detail: e.to_string() }),
                        Ok(p) => {
                            let verdict = validate::check_design(&setup.index, &p).map(|blocks| Passed {
                                thinking: row::thinking(reasoning, p.thinking.as_deref(), 1),
                                content: Content::Design(p.clone()),
                                blocks,
                            });
                            vec![Candidate { item: Some(0), label: Some(p.title.clone()), verdict }]
                        }
                    },
                }
            }
        },
    };
    Exchange { planned, answer, candidates }
}

/// CPython's `compile()` of every new Python block of the batch, in one sandbox request: a
/// block passes when it compiles as it is, or, failing only for a `return`/`await`/`yield`
/// outside a function, as the body of one.
fn compile(compiler: &mut Compiler, mut exchanges: Vec<Exchange>) -> Result<Vec<Exchange>> {
    let mut sources: Vec<(String, String)> = Vec::new();
    let mut owners: Vec<(usize, usize, usize)> = Vec::new(); // exchange, candidate, block
    for (e, ex) in exchanges.iter().enumerate() {
        for (c, cand) in ex.candidates.iter().enumerate() {
            let Ok(passed) = &cand.verdict else { continue };
            for (b, block) in passed.blocks.iter().enumerate() {
                if block.outcome == BlockOutcome::Python {
                    let file = format!("answer_block_{}.py", block.block);
                    sources.push((file.clone(), validate::python_source(&block.code)));
                    sources.push((file, validate::python_wrapped(&block.code)));
                    owners.push((e, c, b));
                }
            }
        }
    }
    let results = compiler.compile(&sources)?;
    for (k, (e, c, b)) in owners.into_iter().enumerate() {
        let (plain, wrapped) = (&results[2 * k], &results[2 * k + 1]);
        let cand = &mut exchanges[e].candidates[c];
        let Ok(passed) = &mut cand.verdict else { continue };
        let block = &mut passed.blocks[b];
        match (plain, wrapped) {
            (Ok(()), _) => block.outcome = BlockOutcome::Compiled,
            (Err(err), Ok(())) if validate::is_placement_error(err) => block.outcome = BlockOutcome::Compiled,
            (Err(err), _) => {
                let reject = Reject::CodeSyntax { block: block.block, language: block.language.clone(), detail: err.clone() };
                cand.verdict = Err(reject);
            }
        }
    }
    Ok(exchanges)
}

/// Accepts the batch's candidates in schedule order until the scene's count, and records
/// everything consumed: exchanges, rows, rejects, the cursor, stage counts. Exchanges after
/// the count is reached are not consumed (their answers stay cached).
fn accept(
    args: &FactoryArgs,
    setup: &Setup,
    state: &mut State,
    scene: Scene,
    count: u64,
    exchanges: Vec<Exchange>,
) -> Result<FactoryBatch> {
    let mut batch = FactoryBatch::default();
    let repo = setup.index.repo();
    for ex in exchanges {
        if state.cursors[&scene].accepted >= count {
            break;
        }
        let p = &ex.planned;
        let mut accepted_ids = Vec::new();
        let mut rejected = Vec::new();
        let mut unused = 0;
        {
            let cursor = state.cursors.get_mut(&scene).unwrap_or_else(|| unreachable!());
            cursor.next_index = p.index + 1;
            cursor.attempts += 1;
        }
        let meta_sha = match &p.ctx {
            Ctx::Qa(ctx) => repo.file(&ctx.focus.path).map(|f| f.sha256.clone()).unwrap_or_default(),
            Ctx::Design(ctx) => repo.file(&ctx.focus).map(|f| f.sha256.clone()).unwrap_or_default(),
        };
        let meta = RowMeta {
            seed: args.seed,
            exchange: p.index,
            model: &setup.model,
            think: think(args),
            repo: &context::RepoSummary::of(repo).name,
            file_sha256: &meta_sha,
        };
        for cand in ex.candidates {
            if state.cursors[&scene].accepted >= count {
                unused += 1;
                continue;
            }
            let outcome = cand.verdict.and_then(|passed| {
                let row = build_row(setup, p, passed, cand.item.unwrap_or(0), &meta);
                let dedup = state.dedup.get_mut(&scene).unwrap_or_else(|| unreachable!());
                match dedup.check_and_insert(&row.id, &row.dedup_text()) {
                    Ok(()) => Ok(row),
                    Err(d) => Err(duplicate(d)),
                }
            });
            let cursor = state.cursors.get_mut(&scene).unwrap_or_else(|| unreachable!());
            match outcome {
                Ok(row) => {
                    cursor.accepted += 1;
                    cursor.streak = 0;
                    stage_counts(&mut batch, scene, &row.pattern_id, None);
                    accepted_ids.push(row.id.clone());
                    batch.rows.push(FactoryAccepted {
                        id: row.id.clone(),
                        source: row.pattern_id.clone(),
                        category: row.category.to_owned(),
                        scene: scene.as_str().to_owned(),
                        index: p.index,
                        text: row.dedup_text(),
                        row: serde_json::to_string(&row)?,
                    });
                }
                Err(reject) => {
                    let stage = reject.stage();
                    if !matches!(stage, Stage::DedupExact | Stage::DedupNear) {
                        cursor.failed += 1;
                    }
                    cursor.streak += 1;
                    state.rejected += 1;
                    stage_counts(&mut batch, scene, source(p), Some(stage));
                    let reason = reject.to_string();
                    rejected.push(json!({ "item": cand.item, "stage": stage.as_str(), "reason": reason }));
                    let record = json!({
                        "scene": scene.as_str(), "exchange": p.index, "item": cand.item, "stage": stage.as_str(), "reason": reason,
                        "focus": p.focus, "label": cand.label, "seed": args.seed, "sample_seed": p.sample_seed, "cache_key": p.request.cache_key(p.sample_seed),
                    });
                    batch.rejects.push(FactoryRejected {
                        scene: scene.as_str().to_owned(),
                        index: p.index,
                        stage: stage.as_str().to_owned(),
                        reason,
                        record: record.to_string(),
                    });
                }
            }
        }
        batch.exchanges.push((
            scene.as_str().to_owned(),
            p.index,
            exchange_record(&ex.planned, &ex.answer, accepted_ids, rejected, unused),
        ));
    }
    batch.cursors.push((scene.as_str().to_owned(), state.cursors[&scene].clone()));
    Ok(batch)
}

fn duplicate(d: Duplicate) -> Reject {
    match d {
        Duplicate::Exact { of } => Reject::Duplicate { of },
        Duplicate::Near { of, similarity } => Reject::NearDuplicate { of, similarity },
    }
}

/// The stages of a candidate of `scene` about `source` (a file) that passed (`None`) or failed
/// at `failed`: every stage before it passed. Kept per source file, the rows' `pattern_id`, so
/// a release's per-file figures hold them.
fn stage_counts(batch: &mut FactoryBatch, scene: Scene, source: &str, failed: Option<Stage>) {
    let failed_name = failed.map(|s| match s {
        Stage::DedupExact | Stage::DedupNear => "dedup",
        other => other.as_str(),
    });
    for stage in pipeline(scene) {
        let ok = Some(stage) != failed_name;
        batch.stages.push((source.to_owned(), stage.to_owned(), ok));
        if !ok {
            break;
        }
    }
}

/// The file an exchange is about.
fn source(p: &Planned) -> &str {
    match &p.ctx {
        Ctx::Qa(ctx) => &ctx.focus.path,
        Ctx::Design(ctx) => &ctx.focus,
    }
}

fn build_row(setup: &Setup, p: &Planned, passed: Passed, item: usize, meta: &RowMeta<'_>) -> FactoryRow {
    match (&p.ctx, passed.content) {
        (Ctx::Qa(ctx), Content::Qa(qa)) => row::qa_row(ctx, &qa, item, passed.thinking, passed.blocks, meta),
        (Ctx::Design(ctx), Content::Design(proposal)) => {
            let language = setup.index.repo().file(&ctx.focus).map_or("text", |f| f.language.name());
            row::design_row(ctx, language, &proposal, passed.thinking, passed.blocks, meta)
        }
        // An exchange's context and its answer's shape come from the same scene.
        _ => unreachable!("scene mismatch"),
    }
}

/// A `raw.jsonl` line: the canonical request (as JSON), the response body exactly as received
/// (a string; never the key: neither holds it), and what became of it. No timings, no cache provenance: a rerun writes
/// the same line.
fn exchange_record(p: &Planned, answer: &Answer, accepted: Vec<String>, rejected: Vec<Value>, unused: usize) -> String {
    let request: Value = serde_json::from_str(&p.request.canonical_json()).unwrap_or(Value::Null);
    let (response, finish, error) = match answer {
        Answer::Done(c) => (Value::String(c.raw.clone()), Some(finish_reason(&c.response.finish_reason)), None),
        Answer::Refused(e) => (Value::Null, None, Some(e.clone())),
    };
    json!({
        "scene": p.scene.as_str(), "exchange": p.index, "focus": p.focus, "sample_seed": p.sample_seed, "cache_key": p.request.cache_key(p.sample_seed),
        "request": request, "response": response, "finish_reason": finish, "error": error,
        "verdict": { "accepted": accepted, "rejected": rejected, "unused": unused },
    })
    .to_string()
}

/// Writes the run's files, prints its summary, builds the release.
fn finish(
    args: &FactoryArgs,
    setup: &Setup,
    store: &Store,
    state: &State,
    combined: Option<&Path>,
    started: Instant,
    end: End,
) -> Result<i32> {
    let out = &args.out;
    let mut written = 0;
    crate::store::atomic::write_with(&out.join(DATASET), |w| {
        written = store.export(Export::Rows, w)?;
        Ok(())
    })?;
    crate::store::atomic::write_with(&out.join(REJECTS), |w| store.export(Export::Rejects, w).map(|_| ()))?;
    let mut exchanges = 0;
    crate::store::atomic::write_with(&out.join(RAW), |w| {
        exchanges = store.export_exchanges(w)?;
        Ok(())
    })?;
    if let Some(dir) = combined {
        let other = Store::open_existing(dir)?;
        crate::store::atomic::write_with(&out.join(COMBINED), |w| {
            other.export(Export::Rows, w)?;
            store.export(Export::Rows, w)?;
            Ok(())
        })?;
    }
    print_summary(setup, store, state, started.elapsed())?;
    println!(
        "wrote {written} rows to {} ({exchanges} exchanges: {}; rejects: {})",
        out.join(DATASET).display(),
        out.join(RAW).display(),
        out.join(REJECTS).display()
    );
    if combined.is_some() {
        println!("combined with {}: {}", args.combine_with.as_deref().unwrap_or(Path::new("")).display(), out.join(COMBINED).display());
    }
    let total: u64 = setup.scenes.iter().map(|(_, n)| n).sum();
    if let End::Short(scene) = end {
        let targets = setup.targets(scene);
        eprintln!(
            "error: reached {written} of {total} rows: every one of the {targets} {scene} targets of the repository has been asked about ({}); lower --count{}",
            match scene {
                Scene::Qa => "chunks",
                Scene::Design => "files",
            },
            if scene == Scene::Qa { ", raise --questions or lower --min-lines" } else { "" }
        );
        return Ok(code::TRANSIENT);
    }
    if !args.no_release {
        match crate::commands::export::release(out, &out.join("release"), &args.release, args.venv.as_deref()) {
            Ok(summary) => crate::commands::export::print_summary(&summary),
            Err(e) => {
                eprintln!("error: building the release in {} failed: {e:#}", out.join("release").display());
                return Ok(code::TRANSIENT);
            }
        }
    }
    Ok(code::OK)
}

fn print_summary(setup: &Setup, store: &Store, state: &State, elapsed: Duration) -> Result<()> {
    let rejects = store.reject_counts()?;
    let mut rows = Vec::new();
    for &(scene, count) in &setup.scenes {
        let c = &state.cursors[&scene];
        let mut row =
            vec![scene.as_str().to_owned(), format!("{}/{count}", c.accepted), c.attempts.to_string(), setup.targets(scene).to_string()];
        for stage in pipeline(scene) {
            let n: u64 = rejects
                .iter()
                .filter(|(s, st, _)| s == scene.as_str() && (st == stage || (stage == "dedup" && st.starts_with("dedup-"))))
                .map(|(_, _, n)| n)
                .sum();
            row.push(n.to_string());
        }
        rows.push(row);
    }
    println!(
        "\n{}",
        crate::report::table(
            &[
                "SCENE",
                "ROWS",
                "EXCHANGES",
                "TARGETS",
                "REQUEST",
                "TRUNCATED",
                "PARSE",
                "EMPTY",
                "CITATION/FILES",
                "QUOTE",
                "CODE",
                "DEDUP"
            ],
            &rows
        )
    );
    println!("(the stage columns count rejected candidates)");
    let reasons = store.top_reasons(5)?;
    if !reasons.is_empty() {
        println!("top rejection reasons:");
        for (stage, reason, n) in reasons {
            println!("  {n:>5}  {stage}: {reason}");
        }
    }
    println!(
        "requests: {} sent, {} answered from the cache ({} cached in all); LLM time {:.1}s; time {:.1}s",
        state.sent,
        state.from_cache,
        store.cache_len()?,
        state.llm_time.as_secs_f64(),
        elapsed.as_secs_f64()
    );
    Ok(())
}

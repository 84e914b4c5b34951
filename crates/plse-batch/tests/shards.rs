//! Sharded runs: shards by flag and by scheduler variable, `shards status` with its `--array`
//! list, `merge` to exactly N, reruns as no-ops, pinned settings (exit 2), a merge with a
//! missing shard (exit 3), the scheduler templates, and a real single-node Slurm cluster.
#![allow(clippy::unwrap_used)] // panics are test failures

mod common;
use common::{is_root, plse, root};

use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};
use std::process::{Command, Output};
use std::time::{Duration, Instant};

const INDEX_VARS: [&str; 5] =
    ["PLSE_SHARD_INDEX", "SLURM_ARRAY_TASK_ID", "JOB_COMPLETION_INDEX", "AWS_BATCH_JOB_ARRAY_INDEX", "PLSE_SHARD_OFFSET"];

/// `plse-batch ARGS` with no scheduler variable inherited from the test's environment.
fn cmd(args: &[&str]) -> Command {
    let mut c = plse(args);
    for v in INDEX_VARS {
        c.env_remove(v);
    }
    c
}

fn out_of<C: std::borrow::BorrowMut<Command>>(mut c: C) -> Output {
    c.borrow_mut().output().unwrap()
}

fn text(o: &Output) -> String {
    format!("{}\n{}", String::from_utf8_lossy(&o.stdout), String::from_utf8_lossy(&o.stderr))
}

/// One shard: `generate --num-shards 4` with `extra` arguments and `env` variables.
fn shard(out: &Path, settings: &[&str], extra: &[&str], env: &[(&str, &str)]) -> Output {
    let patterns = root().join("patterns");
    let mut c = cmd(&["generate", "--num-shards", "4"]);
    c.args(settings).args(extra).arg("--out").arg(out).arg("--patterns").arg(&patterns);
    if !is_root() {
        c.arg("--unsafe-no-sandbox");
    }
    for (k, v) in env {
        c.env(k, v);
    }
    out_of(&mut c)
}

fn lines(path: &Path) -> Vec<serde_json::Value> {
    std::fs::read_to_string(path).unwrap().lines().map(|l| serde_json::from_str(l).unwrap()).collect()
}

/// Every file under `dir` with its bytes (to see that a rerun changed nothing).
fn snapshot(dir: &Path) -> BTreeMap<PathBuf, Vec<u8>> {
    let mut out = BTreeMap::new();
    let mut stack = vec![dir.to_path_buf()];
    while let Some(d) = stack.pop() {
        for e in std::fs::read_dir(&d).unwrap() {
            let p = e.unwrap().path();
            if p.is_dir() {
                stack.push(p);
            } else if !p.to_string_lossy().contains(".sqlite") {
                out.insert(p.clone(), std::fs::read(&p).unwrap());
            }
        }
    }
    out
}

const SETTINGS: [&str; 6] = ["--count", "40", "--seed", "7", "--category-target", "anti_patterns=10"];

#[test]
fn four_shards_by_flag_and_scheduler_variables_merge_to_exactly_n() {
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("run");
    let status = |json: bool| {
        let mut c = cmd(&["shards", "status"]);
        c.arg(&out);
        if json {
            c.arg("--json");
        }
        out_of(&mut c)
    };

    // Before any shard: no run pinned, a configuration error.
    assert_eq!(status(false).status.code(), Some(2));

    let o = shard(&out, &SETTINGS, &["--shard-index", "0"], &[]);
    assert!(o.status.success(), "{}", text(&o));
    let o = shard(&out, &SETTINGS, &[], &[("PLSE_SHARD_INDEX", "1")]);
    assert!(o.status.success(), "{}", text(&o));
    // Slurm's variable, split array: task 0 of a second array that starts at 2.
    let o = shard(&out, &SETTINGS, &[], &[("SLURM_ARRAY_TASK_ID", "0"), ("PLSE_SHARD_OFFSET", "2")]);
    assert!(o.status.success(), "{}", text(&o));
    assert!(String::from_utf8_lossy(&o.stdout).contains("shard 2 of 4 complete"), "{}", text(&o));

    // Three of four: status says which is missing, as an --array list, and exits 3.
    let o = status(false);
    assert_eq!(o.status.code(), Some(3), "{}", text(&o));
    let s = String::from_utf8_lossy(&o.stdout);
    assert!(s.contains("3 of 4 shards complete") && s.contains("missing: 3") && s.contains("--array=3 "), "{s}");
    let v: serde_json::Value = serde_json::from_slice(&status(true).stdout).unwrap();
    assert_eq!(v["complete"], serde_json::json!([0, 1, 2]));
    assert_eq!(v["missing"], serde_json::json!([3]));
    assert_eq!(v["array"], "3");

    // A merge with a shard missing: incomplete, nothing written.
    let o = out_of(cmd(&["merge", "--no-release"]).arg(&out));
    assert_eq!(o.status.code(), Some(3), "{}", text(&o));
    assert!(text(&o).contains("missing: 3"), "{}", text(&o));
    assert!(!out.join("training_dataset.jsonl").exists());

    // A shard started with other settings: a configuration error naming the difference, and
    // no trace of it.
    let o = shard(&out, &["--count", "40", "--seed", "8", "--category-target", "anti_patterns=10"], &[], &[("JOB_COMPLETION_INDEX", "3")]);
    assert_eq!(o.status.code(), Some(2), "{}", text(&o));
    assert!(text(&o).contains("seed: pinned 7, now 8"), "{}", text(&o));
    assert!(!out.join("shards/00003").exists());
    // An index out of range, and no index at all: configuration errors too.
    assert_eq!(shard(&out, &SETTINGS, &["--shard-index", "4"], &[]).status.code(), Some(2));
    assert_eq!(shard(&out, &SETTINGS, &[], &[]).status.code(), Some(2));

    // The last shard, as pod 3 of a Kubernetes Indexed Job.
    let o = shard(&out, &SETTINGS, &[], &[("JOB_COMPLETION_INDEX", "3")]);
    assert!(o.status.success(), "{}", text(&o));
    let o = status(false);
    assert_eq!(o.status.code(), Some(0), "{}", text(&o));

    // Shards are disjoint: shard K holds only indices i % 4 == K, and no sample twice.
    let mut seen = BTreeSet::new();
    for k in 0..4u64 {
        let rows = lines(&out.join(format!("shards/{k:05}/training_dataset.jsonl")));
        assert!(rows.len() >= 10, "shard {k}: {} rows", rows.len());
        for r in rows {
            assert_eq!(r["index"].as_u64().unwrap() % 4, k, "{r}");
            assert!(seen.insert((r["pattern_id"].as_str().unwrap().to_owned(), r["index"].as_u64().unwrap())));
        }
    }

    // Rerunning every shard is a no-op.
    let before = snapshot(&out);
    for k in ["0", "1", "2", "3"] {
        let o = shard(&out, &SETTINGS, &["--shard-index", k], &[]);
        assert!(o.status.success(), "{}", text(&o));
        assert!(String::from_utf8_lossy(&o.stdout).contains("already complete"), "{}", text(&o));
    }
    assert_eq!(snapshot(&out), before, "a rerun of complete shards changed files");

    // The merge: exactly N rows, the category target exact, unique ids, and a release that
    // verifies.
    let o = out_of(cmd(&["merge"]).arg(&out));
    assert!(o.status.success(), "{}", text(&o));
    let rows = lines(&out.join("training_dataset.jsonl"));
    assert_eq!(rows.len(), 40);
    let ids: BTreeSet<&str> = rows.iter().map(|r| r["id"].as_str().unwrap()).collect();
    assert_eq!(ids.len(), 40);
    assert_eq!(rows.iter().filter(|r| r["category"] == "anti_patterns").count(), 10);
    // Every kept row of a paired pattern brings its preference pair.
    let pairs = lines(&out.join("preference.jsonl"));
    assert_eq!(pairs.is_empty(), rows.iter().all(|r| r["pair"].is_null()));
    let o = out_of(cmd(&["export", "--verify"]).arg(out.join("release")));
    assert!(o.status.success(), "{}", text(&o));
    // Merging again gives the same bytes.
    let first = std::fs::read(out.join("training_dataset.jsonl")).unwrap();
    let o = out_of(cmd(&["merge", "--no-release"]).arg(&out));
    assert!(o.status.success(), "{}", text(&o));
    assert_eq!(std::fs::read(out.join("training_dataset.jsonl")).unwrap(), first);

    // A damaged shard is refused (exit 3), named.
    let victim = out.join("shards/00001/training_dataset.jsonl");
    let mut bytes = std::fs::read(&victim).unwrap();
    bytes.push(b'\n');
    std::fs::write(&victim, bytes).unwrap();
    let o = out_of(cmd(&["merge", "--no-release"]).arg(&out));
    assert_eq!(o.status.code(), Some(3), "{}", text(&o));
    assert!(text(&o).contains("shards/00001"), "{}", text(&o));
}

/// Shards that fall short after cross-shard dedup (no margin, a small library): the merge
/// tops up exactly the missing rows from indices no shard draws (2^62 upward), judged
/// against every kept row; a rerun reuses the top-up and writes the same bytes; a merge that
/// would top up from another library exits 2.
#[test]
fn merge_tops_up_what_cross_shard_dedup_removed() {
    let dir = tempfile::tempdir().unwrap();
    let lib = dir.path().join("lib");
    for f in ["anti_patterns/eager_logging_format.yaml", "best_practices/formats/json_custom_types.yaml"] {
        let to = lib.join(f);
        std::fs::create_dir_all(to.parent().unwrap()).unwrap();
        std::fs::copy(root().join("patterns").join(f), &to).unwrap();
    }
    let out = dir.path().join("run");
    let sandbox: &[&str] = if is_root() { &[] } else { &["--unsafe-no-sandbox"] };
    for k in ["0", "1", "2", "3"] {
        let mut c = cmd(&["generate", "--num-shards", "4", "--shard-index", k, "--shard-margin", "0", "--count", "48", "--seed", "3"]);
        c.args(["--decontaminate", "none"]).args(sandbox).arg("--patterns").arg(&lib).arg("--out").arg(&out);
        let o = out_of(c);
        assert!(o.status.success(), "{}", text(&o));
    }
    let merge = |patterns: &Path| {
        let mut c = cmd(&["merge", "--no-release"]);
        c.args(sandbox).arg("--patterns").arg(patterns).arg(&out);
        out_of(c)
    };
    // Another library (the full one) cannot top up this run.
    let o = merge(&root().join("patterns"));
    assert_eq!(o.status.code(), Some(2), "{}", text(&o));
    assert!(text(&o).contains("not the library run.json pins"), "{}", text(&o));

    let o = merge(&lib);
    assert!(o.status.success(), "{}", text(&o));
    let topped: u64 = text(&o).split(" rows topped up").next().unwrap().rsplit(' ').next().unwrap().parse().unwrap();
    assert!(topped > 0, "the shards were expected to fall short: {}", text(&o));
    let rows = lines(&out.join("training_dataset.jsonl"));
    assert_eq!(rows.len(), 48);
    let ids: BTreeSet<&str> = rows.iter().map(|r| r["id"].as_str().unwrap()).collect();
    assert_eq!(ids.len(), 48, "duplicate rows after the top-up");
    let high = rows.iter().filter(|r| r["index"].as_u64().unwrap() >= 1 << 62).count() as u64;
    assert_eq!(high, topped, "top-up rows come from the top-up's index space");
    assert!(rows.iter().all(|r| r["seed"] == 3), "top-up rows keep the run's seed");
    // Every preference pair belongs to a kept row.
    for p in lines(&out.join("preference.jsonl")) {
        assert!(p["id"].is_string());
    }

    // A rerun resumes the finished top-up: same bytes, no new validation.
    let before = snapshot(&out);
    let o = merge(&lib);
    assert!(o.status.success() && text(&o).contains("resuming: "), "{}", text(&o));
    let after = snapshot(&out);
    for name in ["training_dataset.jsonl", "preference.jsonl", "rejects.jsonl"] {
        assert_eq!(before[&out.join(name)], after[&out.join(name)], "{name} changed on a rerun");
    }
}

/// A YAML mapping's value.
fn get<'a>(y: &'a yaml_rust2::Yaml, key: &str) -> &'a yaml_rust2::Yaml {
    &y[key]
}

/// The fields of a `batch/v1` Indexed Job this project relies on, checked as the API server
/// would (types, required fields, the constraints between them).
fn check_indexed_job(doc: &yaml_rust2::Yaml, shards: i64) {
    use yaml_rust2::Yaml;
    assert_eq!(get(doc, "apiVersion").as_str(), Some("batch/v1"));
    assert_eq!(get(doc, "kind").as_str(), Some("Job"));
    let name = get(get(doc, "metadata"), "name").as_str().unwrap();
    // A DNS-1123 label (Indexed Jobs use the name in pod hostnames).
    assert!(name.len() <= 63 && name.chars().all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '-'), "{name}");
    let spec = get(doc, "spec");
    let keys: BTreeSet<&str> = spec.as_hash().unwrap().keys().map(|k| k.as_str().unwrap()).collect();
    let known: BTreeSet<&str> = [
        "completionMode",
        "completions",
        "parallelism",
        "backoffLimitPerIndex",
        "maxFailedIndexes",
        "podFailurePolicy",
        "template",
        "backoffLimit",
        "activeDeadlineSeconds",
        "ttlSecondsAfterFinished",
    ]
    .into();
    assert!(keys.is_subset(&known), "unknown JobSpec fields: {:?}", keys.difference(&known).collect::<Vec<_>>());
    assert_eq!(get(spec, "completionMode").as_str(), Some("Indexed"));
    assert_eq!(get(spec, "completions").as_i64(), Some(shards));
    let parallelism = get(spec, "parallelism").as_i64().unwrap();
    assert!((1..=shards).contains(&parallelism));
    let backoff = get(spec, "backoffLimitPerIndex").as_i64().unwrap();
    assert!(backoff >= 0);
    let max_failed = get(spec, "maxFailedIndexes").as_i64().unwrap();
    assert!((0..=shards).contains(&max_failed), "maxFailedIndexes must not exceed completions");
    // podFailurePolicy: FailIndex on exit code 2 (configuration: do not retry).
    let rules = get(get(spec, "podFailurePolicy"), "rules").as_vec().unwrap();
    assert!(rules.len() <= 20);
    let mut fail_index_on_2 = false;
    for r in rules {
        let action = get(r, "action").as_str().unwrap();
        assert!(["FailJob", "FailIndex", "Ignore", "Count"].contains(&action), "{action}");
        let on_codes = get(r, "onExitCodes");
        let on_conditions = get(r, "onPodConditions");
        assert!(on_codes.is_badvalue() != on_conditions.is_badvalue(), "a rule has exactly one of onExitCodes, onPodConditions");
        if let Some(codes) = on_codes.as_hash() {
            let op = codes[&Yaml::String("operator".into())].as_str().unwrap();
            assert!(["In", "NotIn"].contains(&op));
            let values: Vec<i64> = get(on_codes, "values").as_vec().unwrap().iter().map(|v| v.as_i64().unwrap()).collect();
            assert!(!values.is_empty() && values.len() <= 255);
            assert!(!(op == "In" && values.contains(&0)), "exit code 0 cannot be In");
            fail_index_on_2 |= action == "FailIndex" && op == "In" && values == [2];
        }
    }
    assert!(fail_index_on_2, "no FailIndex rule on exit code 2");
    let pod = get(get(spec, "template"), "spec");
    // podFailurePolicy requires restartPolicy Never.
    assert_eq!(get(pod, "restartPolicy").as_str(), Some("Never"));
    let containers = get(pod, "containers").as_vec().unwrap();
    assert_eq!(containers.len(), 1);
    let c = &containers[0];
    let cname = get(c, "name").as_str().unwrap();
    for r in rules {
        if let Some(n) = get(get(r, "onExitCodes"), "containerName").as_str() {
            assert_eq!(n, cname, "containerName of a rule names no container");
        }
    }
    assert!(get(c, "image").as_str().is_some_and(|i| !i.is_empty()));
    let command: Vec<&str> = get(c, "command").as_vec().unwrap().iter().map(|a| a.as_str().unwrap()).collect();
    assert_eq!(command[1], "generate");
    let pos = command.iter().position(|a| *a == "--num-shards").unwrap();
    assert_eq!(command[pos + 1], shards.to_string());
    // No shard index in the command: each pod reads JOB_COMPLETION_INDEX.
    assert!(!command.contains(&"--shard-index"));
    let volumes: BTreeSet<&str> = get(pod, "volumes").as_vec().unwrap().iter().map(|v| get(v, "name").as_str().unwrap()).collect();
    for m in get(c, "volumeMounts").as_vec().unwrap() {
        assert!(volumes.contains(get(m, "name").as_str().unwrap()));
        assert!(get(m, "mountPath").as_str().unwrap().starts_with('/'));
    }
}

#[test]
fn k8s_template_is_an_indexed_job_and_deploy_files_are_current() {
    for (shards, parallelism) in [("4", "2"), ("1", "8"), ("1000", "50")] {
        let o =
            out_of(cmd(&["shards", "template", "k8s", "/data/run", "--num-shards", shards, "--count", "40", "--parallelism", parallelism]));
        assert!(o.status.success(), "{}", text(&o));
        let docs = yaml_rust2::YamlLoader::load_from_str(&String::from_utf8(o.stdout).unwrap()).unwrap();
        assert_eq!(docs.len(), 1);
        check_indexed_job(&docs[0], shards.parse().unwrap());
    }
    // The examples in deploy/ are what the templates print (README's commands).
    let k8s = out_of(cmd(&[
        "shards",
        "template",
        "k8s",
        "/data/plse-run",
        "--num-shards",
        "16",
        "--count",
        "100000",
        "--parallelism",
        "8",
        "--patterns",
        "/opt/plse/patterns",
    ]));
    let deployed = std::fs::read_to_string(root().join("deploy/k8s/plse-generate-job.yaml")).unwrap();
    assert_eq!(String::from_utf8_lossy(&k8s.stdout), deployed, "deploy/k8s is stale");
    check_indexed_job(&yaml_rust2::YamlLoader::load_from_str(&deployed).unwrap()[0], 16);
    let slurm =
        out_of(cmd(&["shards", "template", "slurm", "/scratch/plse-run", "--num-shards", "16", "--count", "100000", "--parallelism", "8"]));
    let deployed = std::fs::read_to_string(root().join("deploy/slurm/plse-generate.sbatch")).unwrap();
    assert_eq!(String::from_utf8_lossy(&slurm.stdout), deployed, "deploy/slurm is stale");
    assert!(deployed.contains("#SBATCH --array=0-15%8"));
    let o = Command::new("bash").arg("-n").arg(root().join("deploy/slurm/plse-generate.sbatch")).output().unwrap();
    assert!(o.status.success(), "{}", text(&o));
    // Without run.json and flags there is nothing to template.
    let o = out_of(cmd(&["shards", "template", "slurm", "/nonexistent"]));
    assert_eq!(o.status.code(), Some(2));
}

// ---- A real single-node Slurm cluster (scale.md's recipe) ----

fn sh(program: &str, args: &[&str]) -> Output {
    Command::new(program).args(args).output().unwrap_or_else(|e| panic!("{program}: {e}"))
}

fn have(program: &str) -> bool {
    Command::new("sh").arg("-c").arg(format!("command -v {program}")).output().is_ok_and(|o| o.status.success())
}

/// Installs slurm-wlm and munge once (skipped when present).
fn ensure_slurm_installed() {
    if have("slurmctld") && have("slurmd") && have("munged") && have("sbatch") {
        return;
    }
    let install = || {
        Command::new("apt-get")
            .args(["install", "-y", "--no-install-recommends", "slurm-wlm", "munge"])
            .env("DEBIAN_FRONTEND", "noninteractive")
            .output()
            .unwrap()
    };
    let mut o = install();
    if !o.status.success() {
        assert!(sh("apt-get", &["update"]).status.success());
        o = install();
    }
    assert!(o.status.success(), "apt-get install slurm-wlm munge: {}", text(&o));
}

/// Daemons this test started, stopped by pid when it ends (even on failure).
struct Daemons {
    pid_files: Vec<PathBuf>,
}

impl Drop for Daemons {
    fn drop(&mut self) {
        for f in self.pid_files.iter().rev() {
            if let Some(pid) = std::fs::read_to_string(f).ok().and_then(|s| s.trim().parse::<i32>().ok()) {
                let _ = Command::new("kill").arg(pid.to_string()).status();
            }
        }
    }
}

fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0").unwrap().local_addr().unwrap().port()
}

fn wait_for(what: &str, secs: u64, mut ok: impl FnMut() -> bool) {
    let start = Instant::now();
    while !ok() {
        assert!(start.elapsed() < Duration::from_secs(secs), "timed out waiting for {what}");
        std::thread::sleep(Duration::from_millis(250));
    }
}

/// Starts munged (unless one answers already), slurmctld and slurmd on this host.
fn start_cluster(state: &Path, daemons: &mut Daemons) -> PathBuf {
    if !sh("sh", &["-c", "munge -n | unmunge"]).status.success() {
        if !Path::new("/etc/munge/munge.key").exists() {
            assert!(sh("runuser", &["-u", "munge", "--", "mungekey", "--create"]).status.success());
        }
        assert!(sh("install", &["-d", "-o", "munge", "-g", "munge", "/run/munge"]).status.success());
        let o = sh("runuser", &["-u", "munge", "--", "munged"]);
        assert!(o.status.success(), "munged: {}", text(&o));
        daemons.pid_files.push(PathBuf::from("/run/munge/munged.pid"));
        wait_for("munge", 10, || sh("sh", &["-c", "munge -n | unmunge"]).status.success());
    }
    let host = String::from_utf8(sh("hostname", &["-s"]).stdout).unwrap().trim().to_owned();
    let s = state.display();
    let conf = state.join("slurm.conf");
    std::fs::create_dir_all(state.join("spool")).unwrap();
    std::fs::write(
        &conf,
        format!(
            "ClusterName=plse-test\nSlurmctldHost={host}\nSlurmUser=root\nAuthType=auth/munge\nSlurmctldPort={}\nSlurmdPort={}\n\
             ProctrackType=proctrack/linuxproc\nTaskPlugin=task/none\nJobAcctGatherType=jobacct_gather/none\n\
             AccountingStorageType=accounting_storage/none\nSelectType=select/cons_tres\nSelectTypeParameters=CR_CPU\n\
             ReturnToService=2\nMpiDefault=none\nStateSaveLocation={s}\nSlurmdSpoolDir={s}/spool\n\
             SlurmctldPidFile={s}/slurmctld.pid\nSlurmdPidFile={s}/slurmd.pid\nSlurmctldLogFile={s}/slurmctld.log\n\
             SlurmdLogFile={s}/slurmd.log\nNodeName={host} NodeAddr=127.0.0.1 CPUs=2 RealMemory=1000 State=UNKNOWN\n\
             PartitionName=debug Nodes=ALL Default=YES MaxTime=INFINITE State=UP\n",
            free_port(),
            free_port()
        ),
    )
    .unwrap();
    let c = conf.to_string_lossy().into_owned();
    daemons.pid_files.push(state.join("slurmctld.pid"));
    let o = sh("slurmctld", &["-f", &c]);
    assert!(o.status.success(), "slurmctld: {}", text(&o));
    daemons.pid_files.push(state.join("slurmd.pid"));
    let o = Command::new("slurmd").args(["-f", &c]).env("SLURM_CONF", &conf).output().unwrap();
    assert!(o.status.success(), "slurmd: {}", text(&o));
    wait_for("the node to be idle", 60, || {
        let o = Command::new("sinfo").args(["-h", "-o", "%t"]).env("SLURM_CONF", &conf).output().unwrap();
        String::from_utf8_lossy(&o.stdout).trim() == "idle"
    });
    conf
}

fn job_state(conf: &Path, id: &str) -> String {
    let o = Command::new("scontrol").args(["show", "job", id]).env("SLURM_CONF", conf).output().unwrap();
    let s = String::from_utf8_lossy(&o.stdout);
    s.split_whitespace().find_map(|w| w.strip_prefix("JobState=")).unwrap_or("UNKNOWN").to_owned()
}

#[test]
#[ignore = "needs root and apt (cargo xtask ci runs it)"]
fn slurm_array_and_dependent_merge_equal_a_local_sequential_run() {
    assert!(is_root(), "this test starts Slurm daemons and installs packages: run it as root");
    ensure_slurm_installed();
    let dir = tempfile::tempdir().unwrap();
    let mut daemons = Daemons { pid_files: Vec::new() };
    let conf = start_cluster(&dir.path().join("slurm"), &mut daemons);
    let bin = env!("CARGO_BIN_EXE_plse-batch");
    let patterns = root().join("patterns");
    let out = dir.path().join("run");
    std::fs::create_dir_all(out.join("logs")).unwrap();

    // The script `shards template slurm` prints, submitted as it is: --array=0-3%2.
    let o = out_of(
        cmd(&["shards", "template", "slurm", "--num-shards", "4", "--count", "40", "--seed", "9", "--parallelism", "2", "--bin", bin])
            .arg(&out)
            .arg("--patterns")
            .arg(&patterns),
    );
    assert!(o.status.success(), "{}", text(&o));
    let script = dir.path().join("plse-generate.sbatch");
    std::fs::write(&script, &o.stdout).unwrap();
    assert!(String::from_utf8_lossy(&o.stdout).contains("#SBATCH --array=0-3%2"));
    let sbatch = |args: &[&str]| {
        let o = Command::new("sbatch").arg("--parsable").args(args).env("SLURM_CONF", &conf).current_dir(dir.path()).output().unwrap();
        assert!(o.status.success(), "sbatch: {}", text(&o));
        String::from_utf8_lossy(&o.stdout).trim().split(';').next().unwrap().to_owned()
    };
    let array = sbatch(&[&script.to_string_lossy()]);
    let merge_cmd = format!("{bin} merge {} --no-release", out.display());
    let merge = sbatch(&[
        &format!("--dependency=afterok:{array}"),
        "--kill-on-invalid-dep=yes",
        &format!("--output={}/logs/merge.log", out.display()),
        "--wrap",
        &merge_cmd,
    ]);
    wait_for("the merge job", 300, || ["COMPLETED", "FAILED", "CANCELLED", "TIMEOUT"].contains(&job_state(&conf, &merge).as_str()));
    let log = |name: &str| std::fs::read_to_string(out.join("logs").join(name)).unwrap_or_default();
    let logs = format!("{}\n{}", log("shard-0.log"), log("merge.log"));
    assert_eq!(job_state(&conf, &merge), "COMPLETED", "{logs}");
    drop(daemons);

    // Trust our markers, not the scheduler: every shard complete, exactly N merged rows.
    let o = out_of(cmd(&["shards", "status"]).arg(&out));
    assert_eq!(o.status.code(), Some(0), "{}\n{logs}", text(&o));
    let merged = std::fs::read(out.join("training_dataset.jsonl")).unwrap();
    assert_eq!(merged.iter().filter(|b| **b == b'\n').count(), 40, "{logs}");

    // The same four shards run here one after another, in reverse order, merged: the same bytes.
    let local = dir.path().join("local");
    for k in ["3", "2", "1", "0"] {
        let o = shard(&local, &["--count", "40", "--seed", "9"], &["--shard-index", k], &[]);
        assert!(o.status.success(), "{}", text(&o));
    }
    let o = out_of(cmd(&["merge", "--no-release"]).arg(&local));
    assert!(o.status.success(), "{}", text(&o));
    assert_eq!(std::fs::read(local.join("training_dataset.jsonl")).unwrap(), merged, "Slurm's merge differs from the local one");
    assert_eq!(std::fs::read(local.join("preference.jsonl")).unwrap(), std::fs::read(out.join("preference.jsonl")).unwrap());
}

fn accepted(db: &Path) -> u64 {
    let Ok(conn) = rusqlite::Connection::open_with_flags(db, rusqlite::OpenFlags::SQLITE_OPEN_READ_ONLY) else { return 0 };
    conn.query_row("SELECT COUNT(*) FROM samples", [], |r| r.get::<_, i64>(0)).unwrap_or(0) as u64
}

#[test]
fn sigterm_commits_the_batch_exits_1_and_a_rerun_resumes_to_the_same_shard() {
    // Shard 0 of 2 of 300 rows aims at 165: three batches of at most 64, so a SIGTERM after
    // the first commit lands mid-run.
    let settings = ["--count", "300", "--seed", "12"];
    let dir = tempfile::tempdir().unwrap();
    let reference = dir.path().join("reference");
    let o = shard_of(&reference, 2, &settings, "0");
    assert!(o.status.success(), "{}", text(&o));

    let out = dir.path().join("run");
    let db = out.join("shards/00000/plse-run.sqlite");
    let mut c = cmd(&["generate", "--num-shards", "2", "--shard-index", "0"]);
    c.args(settings).arg("--out").arg(&out).arg("--patterns").arg(root().join("patterns"));
    if !is_root() {
        c.arg("--unsafe-no-sandbox");
    }
    let mut child = c.stdout(std::process::Stdio::null()).stderr(std::process::Stdio::piped()).spawn().unwrap();
    let start = Instant::now();
    while accepted(&db) == 0 {
        assert!(child.try_wait().unwrap().is_none(), "finished before the signal");
        assert!(start.elapsed() < Duration::from_secs(300), "no progress");
        std::thread::sleep(Duration::from_millis(20));
    }
    assert!(Command::new("kill").args(["-TERM", &child.id().to_string()]).status().unwrap().success());
    let o = child.wait_with_output().unwrap();
    assert_eq!(o.status.code(), Some(1), "{}", text(&o));
    assert!(text(&o).contains("interrupted"), "{}", text(&o));
    let committed = accepted(&db);
    assert!(committed > 0 && committed < 165, "{committed}");
    assert!(!out.join("shards/00000/COMPLETE.json").exists());
    // The same command again resumes and ends with the uninterrupted shard's rows.
    let o = shard_of(&out, 2, &settings, "0");
    assert!(o.status.success(), "{}", text(&o));
    let file = "shards/00000/training_dataset.jsonl";
    assert_eq!(std::fs::read(out.join(file)).unwrap(), std::fs::read(reference.join(file)).unwrap());
}

/// Shard `k` of `total`.
fn shard_of(out: &Path, total: u64, settings: &[&str], k: &str) -> Output {
    let mut c = cmd(&["generate", "--num-shards", &total.to_string(), "--shard-index", k]);
    c.args(settings).arg("--out").arg(out).arg("--patterns").arg(root().join("patterns"));
    if !is_root() {
        c.arg("--unsafe-no-sandbox");
    }
    out_of(c)
}

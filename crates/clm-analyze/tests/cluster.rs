//! `--cluster` (issue 12 §2): the same query files on a Ballista cluster give byte-identical
//! outputs. The cluster is Ballista's standalone mode inside this process (a scheduler and
//! two executors on ports of their own, `clm_cluster::session::InProcess`): every plan is
//! serialized by the client, decoded by the scheduler, cut into tasks, serialized again and
//! decoded by the executors, exactly as across machines. scripts/cluster.sh does the same
//! with separate processes.

use std::ffi::OsString;
use std::path::{Path, PathBuf};
use std::sync::{mpsc, OnceLock};

use clap::Parser;
use clm_analyze::cli::{Cli, Command, Fail};
use clm_analyze::portfolio;
use clm_cluster::session::{connect, InProcess};
use clm_core::bundle::Bundle;
use clm_core::keys::DataKey;
use clm_query::bundle_table::{BundleTable, KeyHex};
use clm_query::engine::Limits;

const CLUBS: [&str; 3] = ["north", "south", "west"];

/// The in-process cluster's address; it runs on a runtime of its own for the whole test
/// binary (each command below makes and drops its own runtime, as the binary does).
/// `CLM_CLUSTER_LOG=info` prints Ballista's messages.
fn cluster() -> &'static str {
    static URL: OnceLock<String> = OnceLock::new();
    URL.get_or_init(|| {
        if let Ok(level) = std::env::var("CLM_CLUSTER_LOG") {
            clm_cluster::process::init_logging(&level);
        }
        let (tx, rx) = mpsc::channel();
        std::thread::spawn(move || {
            let rt = clm_cluster::session::runtime().unwrap();
            rt.block_on(async {
                let c = InProcess::start(2, 2).await.unwrap();
                tx.send(c.url().to_string()).unwrap();
                std::future::pending::<()>().await;
            });
        });
        rx.recv().unwrap()
    })
}

struct Clubs {
    tmp: tempfile::TempDir,
    kd: PathBuf,
}

impl Clubs {
    fn shared() -> &'static Clubs {
        static CLUBS_: OnceLock<Clubs> = OnceLock::new();
        CLUBS_.get_or_init(|| {
            let tmp = tempfile::tempdir().unwrap();
            let (_, kd) = clm_core::keys::keygen(&tmp.path().join("keys")).unwrap();
            let as_of = chrono::NaiveDate::from_ymd_opt(2026, 11, 1).unwrap();
            for (i, name) in CLUBS.iter().enumerate() {
                let work = tmp.path().join("work").join(name);
                let src = work.join("src");
                clm_synth::generate(&clm_synth::Config {
                    clients: 300,
                    seed: 40 + i as u64,
                    as_of,
                    out: src.clone(),
                    encoding: clm_synth::Encoding::Utf8,
                })
                .unwrap();
                let (kp, _) = clm_core::keys::keygen(&work.join("keys")).unwrap();
                let mut o = clm_pseudonymize::ExportOptions::new(
                    src.join(clm_synth::MAPPING_FILE),
                    tmp.path().join("exports").join(name),
                );
                o.pseudonym_key = Some(kp);
                o.data_key = Some(kd.clone());
                o.as_of = Some(as_of);
                clm_pseudonymize::export(&o).unwrap();
            }
            Clubs { tmp, kd }
        })
    }

    fn bundle(&self, name: &str) -> PathBuf {
        self.tmp.path().join("exports").join(name)
    }
}

/// `clm-analyze ARGS` through the binary's entry points; Err: its message.
fn clm(args: &[&str]) -> Result<(), String> {
    let argv = std::iter::once("clm-analyze").chain(args.iter().copied());
    let cli = Cli::try_parse_from(argv.map(OsString::from)).map_err(|e| e.to_string())?;
    match cli.command {
        Command::Portfolio(a) => big_stack(move || {
            clm_cluster::session::runtime()
                .unwrap()
                .block_on(portfolio::run_cli(a))
                .map_err(|f: Fail| format!("{:#}", f.error()))
        }),
        command => {
            let code = clm_analyze::cli::main_with(Cli { command });
            if format!("{code:?}") == format!("{:?}", std::process::ExitCode::SUCCESS) {
                Ok(())
            } else {
                Err(format!("{args:?} failed (see stderr)"))
            }
        }
    }
}

/// `f` on a thread with the stack the binary gives its command (plans nest deeply).
fn big_stack<T: Send + 'static>(f: impl FnOnce() -> T + Send + 'static) -> T {
    std::thread::Builder::new()
        .stack_size(clm_cluster::session::STACK_BYTES)
        .spawn(f)
        .unwrap()
        .join()
        .unwrap()
}

/// Runs `args` locally into DIR/local/ and on the cluster into DIR/cluster/ (`out` names the
/// output inside: `x/` for a directory, `x.csv` for a file), and checks every file written is
/// byte-identical.
fn same_on_cluster(args: &[&str], out: &str) {
    let dir = tempfile::tempdir().unwrap();
    let local = dir.path().join("local").join(out);
    let remote = dir.path().join("cluster").join(out);
    std::fs::create_dir_all(dir.path().join("local")).unwrap();
    std::fs::create_dir_all(dir.path().join("cluster")).unwrap();
    let mut a: Vec<&str> = args.to_vec();
    let local_s = local.to_string_lossy().into_owned();
    a.extend(["--out", &local_s]);
    clm(&a).unwrap();
    let mut b: Vec<&str> = args.to_vec();
    let remote_s = remote.to_string_lossy().into_owned();
    b.extend(["--out", &remote_s, "--cluster", cluster()]);
    clm(&b).unwrap();
    let files = compare_dirs(&dir.path().join("local"), &dir.path().join("cluster"));
    assert!(files > 0, "{args:?} wrote nothing");
}

fn compare_dirs(a: &Path, b: &Path) -> usize {
    let mut n = 0;
    let mut names: Vec<_> = std::fs::read_dir(a)
        .unwrap()
        .map(|e| e.unwrap().file_name())
        .collect();
    names.sort();
    let mut other: Vec<_> = std::fs::read_dir(b)
        .unwrap()
        .map(|e| e.unwrap().file_name())
        .collect();
    other.sort();
    assert_eq!(
        names,
        other,
        "{} and {} hold different files",
        a.display(),
        b.display()
    );
    for name in names {
        let (pa, pb) = (a.join(&name), b.join(&name));
        if pa.is_dir() {
            n += compare_dirs(&pa, &pb);
        } else {
            let (ta, tb) = (std::fs::read(&pa).unwrap(), std::fs::read(&pb).unwrap());
            assert!(
                ta == tb,
                "{} differs on the cluster:\n--- local\n{}\n--- cluster\n{}",
                name.to_string_lossy(),
                String::from_utf8_lossy(&ta),
                String::from_utf8_lossy(&tb)
            );
            n += 1;
        }
    }
    n
}

fn club_args<'a>(clubs: &'a Clubs, bundle: &'a str, rest: &[&'a str]) -> Vec<String> {
    let mut v: Vec<String> = rest.iter().map(|s| s.to_string()).collect();
    v.extend([
        "--bundle".into(),
        bundle.into(),
        "--data-key".into(),
        clubs.kd.to_string_lossy().into_owned(),
        "--format".into(),
        "csv".into(),
    ]);
    v
}

fn same(rest: &[&str], out: &str) {
    let c = Clubs::shared();
    let b = c.bundle("north").to_string_lossy().into_owned();
    let args = club_args(c, &b, rest);
    let args: Vec<&str> = args.iter().map(String::as_str).collect();
    same_on_cluster(&args, out);
}

#[test]
fn segmentation_is_the_same_on_the_cluster() {
    same(&["run", "segmentation"], "seg/");
}

#[test]
fn metrics_are_the_same_on_the_cluster() {
    same(&["run", "metrics", "--grain", "month"], "metrics/");
}

#[test]
fn ad_hoc_sql_is_the_same_on_the_cluster() {
    same(
        &[
            "sql",
            "SELECT age_band, count(*) AS n FROM clients GROUP BY age_band ORDER BY age_band",
        ],
        "sql.csv",
    );
}

#[test]
fn portfolio_is_the_same_on_the_cluster() {
    let c = Clubs::shared();
    let dir = c.tmp.path().join("exports").to_string_lossy().into_owned();
    let kd = c.kd.to_string_lossy().into_owned();
    same_on_cluster(
        &[
            "portfolio",
            "--bundles-dir",
            &dir,
            "--data-key",
            &kd,
            "--format",
            "csv",
        ],
        "network.csv",
    );
}

/// The executors decrypt: a table whose key is wrong fails there, with the reason, and
/// does not come back empty.
#[test]
fn a_wrong_data_key_fails_on_the_executors() {
    let c = Clubs::shared();
    let url = cluster().to_string();
    let rt = clm_cluster::session::runtime().unwrap();
    let err = rt.block_on(async {
        let engine = connect(&url, Limits::default()).await.unwrap();
        let bundle = Bundle::open(&c.bundle("north"), &DataKey::load(&c.kd).unwrap()).unwrap();
        let paths: Vec<String> = bundle
            .table_files("visits")
            .iter()
            .map(|p| p.to_string_lossy().into_owned())
            .collect();
        let state = engine.context().state();
        // the schema with the right key (the client checks the key); then a wrong one
        let right = BundleTable::open(&state, paths.clone(), KeyHex(bundle.dek().to_hex()))
            .await
            .unwrap();
        use datafusion::catalog::TableProvider;
        let wrong_hex: String = bundle
            .dek()
            .to_hex()
            .chars()
            .map(|ch| if ch == '0' { '1' } else { '0' })
            .collect();
        let wrong =
            BundleTable::with_schema(paths, right.schema(), KeyHex(wrong_hex), state.config())
                .unwrap();
        engine
            .context()
            .register_table("visits_wrong", std::sync::Arc::new(wrong))
            .unwrap();
        let df = engine
            .context()
            .sql("SELECT count(*) FROM visits_wrong")
            .await
            .unwrap();
        engine.collect(df).await.map(|b| format!("{b:?}"))
    });
    let msg = err.expect_err("a wrong key returned rows").to_string();
    assert!(msg.contains("decrypt"), "{msg}");
    assert!(msg.contains("Job"), "not an executor's failure: {msg}");
}

#[test]
fn a_cluster_nobody_listens_on_is_a_clear_error() {
    let rt = tokio::runtime::Runtime::new().unwrap();
    let e = rt
        .block_on(connect("df://127.0.0.1:9", Limits::default()))
        .err()
        .expect("connected to nothing")
        .to_string();
    assert!(e.contains("no scheduler answers at 127.0.0.1:9"), "{e}");
    let e = rt
        .block_on(connect("http://x:1", Limits::default()))
        .err()
        .unwrap()
        .to_string();
    assert!(e.contains("df://HOST:PORT"), "{e}");
}

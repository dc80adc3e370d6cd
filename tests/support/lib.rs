//! Helpers for the end-to-end tests: locating the workspace binaries, making a synthetic
//! club with keys, and reading bundles back.

use std::path::{Path, PathBuf};
use std::process::{Command, Output};
use std::sync::OnceLock;

use arrow_array::cast::AsArray;
use arrow_array::{Array, RecordBatch};
use chrono::NaiveDate;
use clm_core::bundle::Bundle;
use clm_core::keys::DataKey;

/// The directory holding the workspace binaries (next to this test executable's `deps/`).
pub fn bin_dir() -> PathBuf {
    let exe = std::env::current_exe().expect("test executable path");
    exe.parent()
        .and_then(Path::parent)
        .expect("target/<profile>")
        .to_path_buf()
}

/// A workspace binary, built on demand if `cargo test` did not build it already.
pub fn bin(name: &str) -> Command {
    static BUILT: OnceLock<()> = OnceLock::new();
    let path = bin_dir().join(name);
    if !path.exists() {
        BUILT.get_or_init(|| {
            let cargo = std::env::var("CARGO").unwrap_or_else(|_| "cargo".into());
            let st = Command::new(cargo)
                .args(["build", "--workspace", "--bins"])
                .current_dir(env!("CARGO_MANIFEST_DIR"))
                .status()
                .expect("run cargo build");
            assert!(st.success(), "cargo build --workspace --bins failed");
        });
    }
    assert!(path.exists(), "{} was not built", path.display());
    let mut c = Command::new(path);
    c.env_remove("CLM_PSEUDONYM_KEY").env_remove("CLM_DATA_KEY");
    c
}

/// Runs a command, returning the exit code and stdout + stderr.
pub fn run(cmd: &mut Command) -> (i32, String) {
    let o: Output = cmd.output().expect("spawn");
    (
        o.status.code().unwrap_or(-1),
        String::from_utf8_lossy(&o.stdout).to_string() + &String::from_utf8_lossy(&o.stderr),
    )
}

pub fn as_of() -> NaiveDate {
    NaiveDate::from_ymd_opt(2026, 11, 1).unwrap()
}

/// A synthetic club export and a pair of keys in a temporary directory.
pub struct Club {
    pub tmp: tempfile::TempDir,
    pub src: PathBuf,
    pub keys: PathBuf,
}

impl Club {
    pub fn new(clients: u64, seed: u64, encoding: clm_synth::Encoding) -> Club {
        Club::of(clm_synth::Profile::Fitness, clients, seed, encoding)
    }

    /// A synthetic export of the business `profile` imitates (`clm-synth --profile`).
    pub fn of(
        profile: clm_synth::Profile,
        clients: u64,
        seed: u64,
        encoding: clm_synth::Encoding,
    ) -> Club {
        let tmp = tempfile::tempdir().unwrap();
        let src = tmp.path().join("src");
        let cfg = clm_synth::Config {
            clients,
            seed,
            as_of: as_of(),
            out: src.clone(),
            encoding,
        };
        clm_synth::generate_with(&cfg, profile).unwrap();
        let keys = tmp.path().join("keys");
        clm_core::keys::keygen(&keys).unwrap();
        Club { tmp, src, keys }
    }

    pub fn mapping(&self) -> PathBuf {
        self.src.join("mapping.toml")
    }

    pub fn pseudonym_key(&self) -> PathBuf {
        self.keys.join("pseudonym.key")
    }

    pub fn data_key(&self) -> PathBuf {
        self.keys.join("data.key")
    }

    pub fn path(&self, name: &str) -> PathBuf {
        self.tmp.path().join(name)
    }

    /// `clm-pseudonymize export` into `out` (under the club's directory).
    pub fn export_cmd(&self, out: &str) -> Command {
        let mut c = bin("clm-pseudonymize");
        c.arg("export")
            .arg("--mapping")
            .arg(self.mapping())
            .arg("--pseudonym-key")
            .arg(self.pseudonym_key())
            .arg("--data-key")
            .arg(self.data_key())
            .arg("--as-of")
            .arg(as_of().to_string())
            .arg("--out")
            .arg(self.path(out));
        c
    }

    pub fn export(&self, out: &str) -> PathBuf {
        let (code, msg) = run(&mut self.export_cmd(out));
        assert_eq!(code, 0, "export failed: {msg}");
        self.path(out)
    }

    pub fn open(&self, bundle: &Path) -> Bundle {
        Bundle::open(bundle, &DataKey::load(&self.data_key()).unwrap()).unwrap()
    }
}

/// Every batch of a table.
pub fn table(b: &Bundle, name: &str) -> Vec<RecordBatch> {
    b.read_table(name).map(|r| r.unwrap()).collect()
}

/// Every non-null value of every string column of every table, with table and column.
pub fn string_values(b: &Bundle) -> Vec<(String, String, String)> {
    let mut out = Vec::new();
    for t in b.tables() {
        for batch in table(b, &t) {
            for (i, f) in batch.schema().fields().iter().enumerate() {
                if let Some(a) = batch.column(i).as_string_opt::<i32>() {
                    for v in a.iter().flatten() {
                        out.push((t.clone(), f.name().clone(), v.to_string()));
                    }
                }
            }
        }
    }
    out
}

/// The values of one string column of a table.
pub fn column_strings(b: &Bundle, t: &str, col: &str) -> Vec<Option<String>> {
    let mut out = Vec::new();
    for batch in table(b, t) {
        let a = batch.column_by_name(col).unwrap();
        let a = a.as_string::<i32>();
        for i in 0..a.len() {
            out.push(a.is_valid(i).then(|| a.value(i).to_string()));
        }
    }
    out
}

/// Reads a `;`-separated UTF-8 source CSV: header and rows.
pub fn read_csv(path: &Path) -> (Vec<String>, Vec<Vec<String>>) {
    let mut r = csv::ReaderBuilder::new()
        .delimiter(b';')
        .from_path(path)
        .unwrap();
    let h = r.headers().unwrap().iter().map(String::from).collect();
    let rows = r
        .records()
        .map(|x| x.unwrap().iter().map(String::from).collect())
        .collect();
    (h, rows)
}

/// The values of one source column.
pub fn source_column(path: &Path, header: &str) -> Vec<String> {
    let (h, rows) = read_csv(path);
    let i = h
        .iter()
        .position(|x| x == header)
        .unwrap_or_else(|| panic!("no column {header}"));
    rows.into_iter().map(|mut r| r.swap_remove(i)).collect()
}

/// Whether python3 can import duckdb (installed by .ci/run). Locally a missing DuckDB skips
/// the interop checks with a notice; in CI (CI=true) it fails them.
pub fn duckdb_available() -> bool {
    let ok = Command::new("python3")
        .args(["-c", "import duckdb"])
        .status()
        .map(|s| s.success())
        .unwrap_or(false);
    if !ok {
        assert!(
            std::env::var("CI").is_err(),
            "DuckDB (python3 -m pip install duckdb) is required in CI"
        );
        eprintln!(
            "NOTE: python3 duckdb missing; DuckDB interop checks skipped (pip install duckdb)"
        );
    }
    ok
}

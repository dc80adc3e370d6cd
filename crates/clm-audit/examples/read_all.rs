//! The baseline of the audit's timing: decrypt and read every column of every file of a
//! bundle, and nothing else.
//!
//! ```text
//! cargo run --release -p clm-audit --example read_all -- BUNDLE DATA_KEY_FILE [THREADS]
//! ```
//! With THREADS (default 1) above 1, row groups are spread over threads as the audit's
//! scan does; with 1, the core's own reader (`Bundle::read_table`) reads file after file.

use std::fs::File;
use std::path::PathBuf;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::Instant;

use arrow_array::Array;
use clm_core::bundle::Bundle;
use clm_core::keys::DataKey;
use parquet::arrow::arrow_reader::{ArrowReaderMetadata, ParquetRecordBatchReaderBuilder};

fn main() {
    let args: Vec<String> = std::env::args().skip(1).collect();
    if args.len() < 2 {
        eprintln!("usage: read_all BUNDLE DATA_KEY_FILE [THREADS]");
        std::process::exit(2);
    }
    let dir = PathBuf::from(&args[0]);
    let kd = DataKey::load(&PathBuf::from(&args[1])).expect("data key");
    let threads: usize = args
        .get(2)
        .map(|s| s.parse().expect("threads"))
        .unwrap_or(1);
    let t = Instant::now();
    let b = Bundle::open_manifest(&dir, &kd).expect("bundle");
    let (rows, bytes) = if threads <= 1 {
        let mut rows = 0u64;
        let mut bytes = 0u64;
        for table in b.tables() {
            for batch in b.read_table(&table) {
                let batch = batch.expect("batch");
                rows += batch.num_rows() as u64;
                bytes += batch
                    .columns()
                    .iter()
                    .map(|c| c.get_array_memory_size() as u64)
                    .sum::<u64>();
            }
        }
        (rows, bytes)
    } else {
        parallel(&b, threads)
    };
    println!(
        "read {rows} rows, {:.1} MiB of Arrow arrays, in {:.2} s ({threads} thread{})",
        bytes as f64 / (1 << 20) as f64,
        t.elapsed().as_secs_f64(),
        if threads == 1 { "" } else { "s" }
    );
}

fn parallel(b: &Bundle, threads: usize) -> (u64, u64) {
    let props = b.decryption_properties().expect("decryption properties");
    let opts = || {
        parquet::arrow::arrow_reader::ArrowReaderOptions::new()
            .with_file_decryption_properties(props.clone())
    };
    let metas: Vec<(PathBuf, ArrowReaderMetadata)> = b
        .manifest()
        .files
        .iter()
        .map(|e| {
            let p = b.dir().join(&e.path);
            let m = ArrowReaderMetadata::load(&File::open(&p).unwrap(), opts()).unwrap();
            (p, m)
        })
        .collect();
    let units: Vec<(usize, usize)> = metas
        .iter()
        .enumerate()
        .flat_map(|(i, (_, m))| (0..m.metadata().num_row_groups()).map(move |rg| (i, rg)))
        .collect();
    let next = AtomicUsize::new(0);
    std::thread::scope(|s| {
        let hs: Vec<_> = (0..threads)
            .map(|_| {
                s.spawn(|| {
                    let (mut rows, mut bytes) = (0u64, 0u64);
                    loop {
                        let i = next.fetch_add(1, Ordering::Relaxed);
                        let Some(&(fi, rg)) = units.get(i) else { break };
                        let (p, m) = &metas[fi];
                        let r = ParquetRecordBatchReaderBuilder::new_with_metadata(
                            File::open(p).unwrap(),
                            m.clone(),
                        )
                        .with_row_groups(vec![rg])
                        .with_batch_size(32 * 1024)
                        .build()
                        .unwrap();
                        for batch in r {
                            let batch = batch.unwrap();
                            rows += batch.num_rows() as u64;
                            bytes += batch
                                .columns()
                                .iter()
                                .map(|c| c.get_array_memory_size() as u64)
                                .sum::<u64>();
                        }
                    }
                    (rows, bytes)
                })
            })
            .collect();
        hs.into_iter()
            .map(|h| h.join().unwrap())
            .fold((0, 0), |a, b| (a.0 + b.0, a.1 + b.1))
    })
}

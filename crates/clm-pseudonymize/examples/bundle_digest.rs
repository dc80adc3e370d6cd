//! Prints, per table of a bundle, its rows and a SHA-256 of every value in row order, so
//! that two exports of the same sources can be compared although their files differ
//! (each export encrypts under a new data encryption key).
//!
//! `cargo run --release --example bundle_digest -p clm-pseudonymize -- BUNDLE DATA_KEY`

use arrow_cast::display::{ArrayFormatter, FormatOptions};
use clm_core::bundle::Bundle;
use clm_core::keys::DataKey;
use sha2::{Digest, Sha256};

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let args: Vec<String> = std::env::args().collect();
    let [_, bundle, key] = args.as_slice() else {
        return Err("usage: bundle_digest BUNDLE DATA_KEY".into());
    };
    let kd = DataKey::resolve(Some(std::path::Path::new(key)))?;
    let b = Bundle::open(std::path::Path::new(bundle), &kd)?;
    let opts = FormatOptions::default().with_null("\u{0}NULL");
    for t in b.tables() {
        let mut h = Sha256::new();
        let mut rows = 0u64;
        for batch in b.read_table(&t) {
            let batch = batch?;
            let fmts: Vec<ArrayFormatter> = batch
                .columns()
                .iter()
                .map(|c| ArrayFormatter::try_new(c.as_ref(), &opts))
                .collect::<Result<_, _>>()?;
            for i in 0..batch.num_rows() {
                for f in &fmts {
                    h.update(f.value(i).to_string().as_bytes());
                    h.update([0x1f]);
                }
                h.update([0x1e]);
            }
            rows += batch.num_rows() as u64;
        }
        println!("{t}\t{rows}\t{}", hex::encode(h.finalize()));
    }
    Ok(())
}

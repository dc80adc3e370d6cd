//! A bundle written by BundleWriter opens, reads back, and refuses every alteration.

use std::sync::Arc;

use arrow_array::{ArrayRef, Date32Array, RecordBatch, StringArray};
use chrono::NaiveDate;
use clm_core::bundle::{Bundle, BundleWriter};
use clm_core::keys::DataKey;
use clm_core::schema;

fn clients_batch(n: usize) -> RecordBatch {
    let s = schema::canonical().table("clients").unwrap().arrow_schema();
    let cols: Vec<ArrayRef> = s
        .fields()
        .iter()
        .map(|f| -> ArrayRef {
            match f.name().as_str() {
                "client_pid" => Arc::new(StringArray::from_iter_values(
                    (0..n).map(|i| format!("{i:032x}")),
                )),
                "registered_on" => Arc::new(Date32Array::from_iter_values(
                    (0..n).map(|i| 19_000 + i as i32),
                )),
                _ => arrow_array::new_null_array(f.data_type(), n),
            }
        })
        .collect();
    RecordBatch::try_new(s, cols).unwrap()
}

fn write_bundle(dir: &std::path::Path, kd: &DataKey) {
    let mut w = BundleWriter::create(dir, kd, NaiveDate::from_ymd_opt(2026, 11, 1).unwrap())
        .unwrap()
        .with_row_group_rows(100);
    w.write_batch("clients", &clients_batch(250)).unwrap();
    w.finish(Default::default()).unwrap();
}

#[test]
fn round_trip() {
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path().join("b");
    let kd = DataKey::generate();
    write_bundle(&dir, &kd);
    assert!(!tmp.path().join(".b.clm-partial").exists());
    let b = Bundle::open(&dir, &kd).unwrap();
    assert_eq!(b.tables(), ["clients"]);
    assert_eq!(b.manifest().table_rows("clients"), 250);
    let rows: usize = b.read_table("clients").map(|r| r.unwrap().num_rows()).sum();
    assert_eq!(rows, 250);
    // Plain Parquet readers cannot read it without the key.
    let f = std::fs::File::open(dir.join("clients.parquet")).unwrap();
    assert!(parquet::arrow::arrow_reader::ParquetRecordBatchReaderBuilder::try_new(f).is_err());
    // A second bundle into the same directory is refused.
    let e = BundleWriter::create(&dir, &kd, NaiveDate::from_ymd_opt(2026, 11, 1).unwrap())
        .err()
        .unwrap()
        .to_string();
    assert!(e.contains("not an empty directory"), "{e}");
}

#[test]
fn wrong_key_is_refused_by_fingerprint() {
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path().join("b");
    let kd = DataKey::generate();
    write_bundle(&dir, &kd);
    let e = Bundle::open(&dir, &DataKey::generate())
        .unwrap_err()
        .to_string();
    assert!(e.contains("wrong data key"), "{e}");
}

#[test]
fn flipping_any_byte_of_any_file_is_refused() {
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path().join("b");
    let kd = DataKey::generate();
    write_bundle(&dir, &kd);
    for name in ["clients.parquet", "manifest.json"] {
        let p = dir.join(name);
        let orig = std::fs::read(&p).unwrap();
        for pos in [0, orig.len() / 3, orig.len() / 2, orig.len() - 2] {
            let mut bytes = orig.clone();
            bytes[pos] ^= 0x01;
            std::fs::write(&p, &bytes).unwrap();
            let r = Bundle::open(&dir, &kd);
            assert!(r.is_err(), "{name} byte {pos} flipped yet accepted");
        }
        std::fs::write(&p, &orig).unwrap();
    }
    Bundle::open(&dir, &kd).unwrap();
}

#[test]
fn missing_and_extra_files_are_refused() {
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path().join("b");
    let kd = DataKey::generate();
    write_bundle(&dir, &kd);
    std::fs::write(dir.join("extra.parquet"), b"x").unwrap();
    let e = Bundle::open(&dir, &kd).unwrap_err().to_string();
    assert!(e.contains("extra.parquet is not listed"), "{e}");
    std::fs::remove_file(dir.join("extra.parquet")).unwrap();
    std::fs::rename(dir.join("clients.parquet"), tmp.path().join("c")).unwrap();
    let e = Bundle::open(&dir, &kd).unwrap_err().to_string();
    assert!(e.contains("missing"), "{e}");
}

#[test]
fn no_manifest_is_not_a_bundle() {
    let tmp = tempfile::tempdir().unwrap();
    let e = Bundle::open(tmp.path(), &DataKey::generate())
        .unwrap_err()
        .to_string();
    assert!(e.contains("no manifest.json"), "{e}");
}

#[test]
fn dropped_writer_leaves_nothing() {
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path().join("b");
    let kd = DataKey::generate();
    {
        let mut w =
            BundleWriter::create(&dir, &kd, NaiveDate::from_ymd_opt(2026, 11, 1).unwrap()).unwrap();
        w.write_batch("clients", &clients_batch(10)).unwrap();
    }
    assert!(!dir.exists());
    assert_eq!(std::fs::read_dir(tmp.path()).unwrap().count(), 0);
}

/// Row-group sizes of a bundle file, read with the bundle's DEK.
fn row_groups(b: &Bundle, table: &str) -> Vec<i64> {
    let f = std::fs::File::open(&b.table_files(table)[0]).unwrap();
    let opts = parquet::arrow::arrow_reader::ArrowReaderOptions::new()
        .with_file_decryption_properties(b.decryption_properties().unwrap());
    let r = parquet::arrow::arrow_reader::ParquetRecordBatchReaderBuilder::try_new_with_options(
        f, opts,
    )
    .unwrap();
    r.metadata()
        .row_groups()
        .iter()
        .map(|g| g.num_rows())
        .collect()
}

#[test]
fn rotate_re_encrypts_with_the_same_rows_and_row_groups() {
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path().join("b");
    let kd = DataKey::generate();
    write_bundle(&dir, &kd);
    let new = DataKey::generate();
    let out = tmp.path().join("r");
    // The old key as the new one is refused, and so is an existing file as --out.
    assert!(clm_core::bundle::rotate(&dir, &kd, &kd, &out).is_err());
    std::fs::write(&out, "x").unwrap();
    let e = clm_core::bundle::rotate(&dir, &kd, &new, &out)
        .unwrap_err()
        .to_string();
    assert!(e.contains("is a file, not a directory"), "{e}");
    std::fs::remove_file(&out).unwrap();
    let m = clm_core::bundle::rotate(&dir, &kd, &new, &out).unwrap();
    assert!(!tmp.path().join(".r.clm-partial").exists());
    assert_eq!(m.data_key_fingerprint, new.fingerprint());
    assert!(
        Bundle::open(&out, &kd).is_err(),
        "the old key opens nothing"
    );
    let a = Bundle::open(&dir, &kd).unwrap();
    let b = Bundle::open(&out, &new).unwrap();
    assert_eq!(row_groups(&a, "clients"), [100, 100, 50]);
    assert_eq!(row_groups(&b, "clients"), [100, 100, 50]);
    let rows =
        |x: &Bundle| -> Vec<RecordBatch> { x.read_table("clients").map(|r| r.unwrap()).collect() };
    assert_eq!(rows(&a), rows(&b));
    assert_eq!(a.manifest().export_id, b.manifest().export_id);
}

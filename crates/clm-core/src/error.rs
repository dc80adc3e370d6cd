//! One error type for the core, whose messages a club manager or consultant can act on.
//!
//! Messages name files, tables, columns and line numbers, never a source value: an error
//! may be pasted into an e-mail that leaves the site.

use std::path::PathBuf;

pub type Result<T, E = Error> = std::result::Result<T, E>;

#[derive(Debug, thiserror::Error)]
pub enum Error {
    #[error("{path}: {source}")]
    Io {
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },
    #[error("key file {path}: {msg}")]
    Key { path: PathBuf, msg: String },
    #[error("{0}")]
    KeyEnv(String),
    #[error("mapping {path}: {msg}")]
    Mapping { path: PathBuf, msg: String },
    #[error("schema: {0}")]
    Schema(String),
    #[error("source {path}: {msg}")]
    Source { path: PathBuf, msg: String },
    #[error("bundle {path}: {msg}")]
    Bundle { path: PathBuf, msg: String },
    #[error("parquet: {0}")]
    Parquet(#[from] parquet::errors::ParquetError),
    #[error("arrow: {0}")]
    Arrow(#[from] arrow_schema::ArrowError),
    #[error("{0}")]
    Other(String),
}

impl Error {
    pub fn io(path: impl Into<PathBuf>, source: std::io::Error) -> Self {
        Error::Io {
            path: path.into(),
            source,
        }
    }

    pub fn bundle(path: impl Into<PathBuf>, msg: impl Into<String>) -> Self {
        Error::Bundle {
            path: path.into(),
            msg: msg.into(),
        }
    }

    pub fn source(path: impl Into<PathBuf>, msg: impl Into<String>) -> Self {
        Error::Source {
            path: path.into(),
            msg: msg.into(),
        }
    }

    pub fn mapping(path: impl Into<PathBuf>, msg: impl Into<String>) -> Self {
        Error::Mapping {
            path: path.into(),
            msg: msg.into(),
        }
    }
}

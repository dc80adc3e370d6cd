//! How the on-site tool reports an error: `clm-pseudonymize: error: MESSAGE`, the one style
//! of every clm binary, with a word on what to do when a write ran into a limit of the
//! machine (a file size limit, a full disk).

use std::fmt::Write as _;

/// The first line of every error message of a binary: `clm-NAME: error: `.
pub fn prefix(tool: &str) -> String {
    format!("{tool}: error: ")
}

/// Errno values of the write limits that get a hint (Linux and the BSDs agree on them).
const EFBIG: i32 = 27;
const ENOSPC: i32 = 28;

/// The operating system error behind `e`, if any (also inside a Parquet error).
fn os_error(e: &anyhow::Error) -> Option<i32> {
    for cause in e.chain() {
        if let Some(io) = cause.downcast_ref::<std::io::Error>() {
            if let Some(n) = io.raw_os_error() {
                return Some(n);
            }
        }
    }
    // The Parquet writer keeps the I/O error as text only.
    let text = e.to_string();
    [EFBIG, ENOSPC]
        .into_iter()
        .find(|n| text.contains(&format!("(os error {n})")))
}

/// The message for `e`, as printed on stderr (without the prefix).
pub fn describe(e: &anyhow::Error) -> String {
    let mut out = e.to_string();
    match os_error(e) {
        Some(EFBIG) => {
            let _ = write!(
                out,
                "\nA file grew past the size limit of this session (`ulimit -f`). Nothing was \
                 kept: an unfinished bundle is removed (or, if the program was killed, removed by \
                 the next export to the same --out). Raise the limit (`ulimit -f unlimited`) and \
                 run again"
            );
        }
        Some(ENOSPC) => {
            let _ = write!(
                out,
                "\nThe disk is full. Nothing was kept: an unfinished bundle is removed. Free some \
                 space or give an --out on another disk, and run again"
            );
        }
        _ => {}
    }
    out
}

/// Lets a file size limit reach the program as a write error (EFBIG) with a message, rather
/// than as SIGXFSZ, which kills it without a word and leaves its staging directory behind.
pub fn ignore_file_size_signal() {
    #[cfg(unix)]
    // SAFETY: setting a signal's disposition to SIG_IGN at start-up, before any thread.
    unsafe {
        libc::signal(libc::SIGXFSZ, libc::SIG_IGN);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_file_size_limit_gets_a_hint() {
        let e = anyhow::Error::new(std::io::Error::from_raw_os_error(EFBIG));
        assert!(describe(&e).contains("ulimit -f"), "{}", describe(&e));
        let e = anyhow::anyhow!("parquet: External: File too large (os error 27)");
        assert!(describe(&e).contains("ulimit -f"));
        let e = anyhow::anyhow!("mapping m.toml: no such table");
        assert_eq!(describe(&e), "mapping m.toml: no such table");
    }
}

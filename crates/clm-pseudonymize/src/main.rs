//! `clm-pseudonymize`: the on-site tool. See `clm-pseudonymize --help`; the command line is
//! in the library's `cli` module.

use clap::Parser;

fn main() -> std::process::ExitCode {
    tune_malloc();
    clm_pseudonymize::cli::main_with(clm_pseudonymize::cli::Cli::parse())
}

/// glibc's allocator, left alone, keeps the large buffers of a batch or a Parquet page once
/// freed (its mmap threshold rises to the largest buffer freed) and gives each thread an
/// arena of its own: the export's peak RSS grew by half again over its live memory. A fixed
/// threshold returns large buffers to the system when freed, and two arenas serve the
/// export's threads. (Other platforms' allocators need no such tuning.)
fn tune_malloc() {
    #[cfg(all(target_os = "linux", target_env = "gnu"))]
    // SAFETY: mallopt only sets allocator parameters; called before any other thread exists.
    unsafe {
        libc::mallopt(libc::M_MMAP_THRESHOLD, 256 * 1024);
        libc::mallopt(libc::M_ARENA_MAX, 2);
    }
}

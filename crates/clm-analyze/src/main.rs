//! `clm-analyze`: the consultant's tool (SPEC §5). See `clm-analyze --help`.

use clap::Parser;

// mimalloc rather than the system allocator: the analyses allocate and free many short-lived
// buffers (hash tables, batches), where glibc's malloc is markedly slower.
#[global_allocator]
static GLOBAL: mimalloc::MiMalloc = mimalloc::MiMalloc;

fn main() -> std::process::ExitCode {
    clm_analyze::cli::main_with(clm_analyze::cli::Cli::parse())
}

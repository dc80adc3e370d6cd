//! `clm-analyze`: the consultant's tool (SPEC §5). See `clm-analyze --help`.

use clap::Parser;

fn main() -> std::process::ExitCode {
    clm_analyze::cli::main_with(clm_analyze::cli::Cli::parse())
}

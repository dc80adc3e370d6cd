//! `clm-pseudonymize`: the on-site tool. See `clm-pseudonymize --help`; the command line is
//! in the library's `cli` module.

use clap::Parser;

fn main() -> std::process::ExitCode {
    clm_pseudonymize::cli::main_with(clm_pseudonymize::cli::Cli::parse())
}

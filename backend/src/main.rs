//! `sealnet-backend`: see `sealnet-backend --help` and backend/README.md.

mod cli;

use std::process::ExitCode;

use clap::Parser;

fn main() -> ExitCode {
    match cli::run(cli::Cli::parse()) {
        Ok(()) => ExitCode::SUCCESS,
        Err(message) => {
            eprintln!("sealnet-backend: {message}");
            ExitCode::FAILURE
        }
    }
}

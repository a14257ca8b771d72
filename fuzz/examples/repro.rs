//! Runs one fuzz target on input files, without libFuzzer: `cargo run --example repro -- TARGET FILE...`
//! (`scripts/fuzz.sh repro TARGET FILE...`). A file named `-` is read from standard input; `--hex`
//! before the files takes each argument as the input itself, in hex.

use std::io::Read;
use std::process::ExitCode;

fn main() -> ExitCode {
    let mut args = std::env::args().skip(1);
    let Some(name) = args.next() else {
        eprintln!("usage: repro TARGET [--hex] FILE|HEX...");
        return ExitCode::from(2);
    };
    let Some(target) = sealnet_fuzz::target(&name) else {
        let names: Vec<_> = sealnet_fuzz::TARGETS.iter().map(|target| target.name).collect();
        eprintln!("unknown target {name}; the targets are {}", names.join(", "));
        return ExitCode::from(2);
    };
    let mut hex = false;
    let mut failed = false;
    for arg in args {
        if arg == "--hex" {
            hex = true;
            continue;
        }
        let data = if hex {
            match (0..arg.len())
                .step_by(2)
                .map(|at| u8::from_str_radix(arg.get(at..at + 2).unwrap_or("x"), 16))
                .collect()
            {
                Ok(data) => data,
                Err(_) => {
                    eprintln!("not hex: {arg}");
                    return ExitCode::from(2);
                }
            }
        } else if arg == "-" {
            let mut data = Vec::new();
            std::io::stdin().read_to_end(&mut data).expect("reading standard input");
            data
        } else {
            std::fs::read(&arg).unwrap_or_else(|error| panic!("reading {arg}: {error}"))
        };
        let outcome = std::panic::catch_unwind(|| (target.run)(&data));
        println!("{name} {arg}: {} bytes, {}", data.len(), if outcome.is_ok() { "ok" } else { "FAILED" });
        failed |= outcome.is_err();
    }
    if failed {
        ExitCode::FAILURE
    } else {
        ExitCode::SUCCESS
    }
}

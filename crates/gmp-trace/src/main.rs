//! `gmp-trace <trace.json> [-o out.html] [--summary] [--top N]`
//!
//! Reads a gmp execution trace, writes the HTML timeline and/or prints the
//! summary. Exit status: 0 on success, 1 when the trace is bad or a file
//! cannot be read or written (the message says which and why), 2 on a usage
//! error.

#![forbid(unsafe_code)]

use std::io::{self, Write};
use std::path::{Path, PathBuf};
use std::process::ExitCode;

const USAGE: &str = "\
usage: gmp-trace <trace.json | -> [-o out.html] [--summary] [--top N]

Reads a gmp execution trace (Chrome trace-event JSON) and writes a
self-contained HTML timeline of its Ps.

  -o, --output FILE   write the HTML page to FILE (default: the input's name
                      with .html, unless --summary alone is asked for)
  -s, --summary       print busiest Gs, longest polls, the steal matrix and
                      event counts to stdout
      --top N         rows in the busiest-G and longest-poll tables (default 10)
  -h, --help          this text
  -V, --version       the version

Exit status: 0 ok, 1 bad trace or I/O error, 2 usage error.";

struct Args {
    input: String,
    output: Option<PathBuf>,
    summary: bool,
    top: usize,
}

enum Parsed {
    Run(Args),
    Exit(&'static str),
}

fn parse_args(mut args: impl Iterator<Item = String>) -> Result<Parsed, String> {
    let mut input = None;
    let mut output = None;
    let mut summary = false;
    let mut top = 10;
    while let Some(arg) = args.next() {
        match arg.as_str() {
            "-h" | "--help" => return Ok(Parsed::Exit(USAGE)),
            "-V" | "--version" => {
                return Ok(Parsed::Exit(concat!(
                    "gmp-trace ",
                    env!("CARGO_PKG_VERSION")
                )))
            }
            "-s" | "--summary" => summary = true,
            "-o" | "--output" => {
                let path = args.next().ok_or("-o needs a file name")?;
                output = Some(PathBuf::from(path));
            }
            "--top" => {
                let n = args.next().ok_or("--top needs a number")?;
                top = n
                    .parse()
                    .ok()
                    .filter(|&top: &usize| top > 0)
                    .ok_or_else(|| format!("--top needs a positive number, got {n:?}"))?;
            }
            "-" => input = Some(arg),
            flag if flag.starts_with('-') => return Err(format!("unknown option {flag:?}")),
            _ if input.is_some() => return Err(format!("a second input {arg:?}: give one trace")),
            _ => input = Some(arg),
        }
    }
    let input = input.ok_or("no trace file given")?;
    Ok(Parsed::Run(Args {
        input,
        output,
        summary,
        top,
    }))
}

/// `trace.json` → `trace.html`; `trace` → `trace.html`.
fn default_output(input: &str) -> PathBuf {
    Path::new(input).with_extension("html")
}

fn run(args: Args) -> io::Result<()> {
    let trace = if args.input == "-" {
        gmp_trace::read(io::stdin().lock())
            .map_err(|e| io::Error::new(e.kind(), format!("<stdin>: {e}")))?
    } else {
        gmp_trace::load(&args.input)?
    };
    let output = match args.output {
        Some(path) => Some(path),
        None if args.summary => None,
        None if args.input == "-" => {
            return Err(io::Error::new(
                io::ErrorKind::InvalidInput,
                "reading stdin: give -o for the HTML page, or --summary",
            ))
        }
        None => Some(default_output(&args.input)),
    };
    if let Some(path) = output {
        let file = std::fs::File::create(&path)
            .map_err(|e| io::Error::new(e.kind(), format!("{}: {e}", path.display())))?;
        gmp_trace::html::write_html(&trace, file)
            .map_err(|e| io::Error::new(e.kind(), format!("{}: {e}", path.display())))?;
        let bytes = std::fs::metadata(&path).map(|m| m.len()).unwrap_or(0);
        eprintln!(
            "gmp-trace: wrote {} ({} bytes; {} tracks, {} slices, {} events)",
            path.display(),
            bytes,
            trace.tracks.len(),
            trace.slice_count(),
            trace.events
        );
    }
    if args.summary {
        let mut out = io::stdout().lock();
        let printed =
            write!(out, "{}", gmp_trace::Summary::new(&trace, args.top)).and_then(|()| out.flush());
        match printed {
            // `gmp-trace t.json -s | head`: the reader has what it wanted.
            Err(e) if e.kind() == io::ErrorKind::BrokenPipe => {}
            other => other?,
        }
    }
    Ok(())
}

fn main() -> ExitCode {
    match parse_args(std::env::args().skip(1)) {
        Ok(Parsed::Exit(text)) => {
            println!("{text}");
            ExitCode::SUCCESS
        }
        Ok(Parsed::Run(args)) => match run(args) {
            Ok(()) => ExitCode::SUCCESS,
            Err(err) => {
                eprintln!("gmp-trace: {err}");
                ExitCode::from(1)
            }
        },
        Err(msg) => {
            eprintln!("gmp-trace: {msg}\n\n{USAGE}");
            ExitCode::from(2)
        }
    }
}

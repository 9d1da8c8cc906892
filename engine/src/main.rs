//! The `tocsin` binary: parse the command line and run it.

fn main() -> std::process::ExitCode {
    tocsin::cli::main()
}

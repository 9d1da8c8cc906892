//! The `tocsin` binary: parse the command line and run it.

/// mimalloc instead of glibc's malloc: the ingest path allocates per request on many threads,
/// and glibc's arenas spent a quarter of the server's CPU there (see BENCHMARKS.md).
#[global_allocator]
static ALLOCATOR: mimalloc::MiMalloc = mimalloc::MiMalloc;

fn main() -> std::process::ExitCode {
    tocsin::cli::main()
}

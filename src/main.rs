//! The `tessera` binary: everything lives in the library.

// Every request allocates a little (headers, JSON, futures); mimalloc's per-thread
// free lists make that several times cheaper than glibc's malloc under load.
#[global_allocator]
static ALLOCATOR: mimalloc::MiMalloc = mimalloc::MiMalloc;

fn main() -> std::process::ExitCode {
    tessera::cli::main()
}

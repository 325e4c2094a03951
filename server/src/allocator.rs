//! The memory allocator: mimalloc for Rust's allocations, glibc (tuned) for the C code's (SQLite).
//!
//! Under `get_project` glibc's malloc/free and its arena locks took ~13 % of the server's samples; with
//! mimalloc the scenario served +33 % (bench/analysis.md). Defined in the library so that the test
//! suite runs on the allocator that ships.

#[global_allocator]
static ALLOCATOR: mimalloc::MiMalloc = mimalloc::MiMalloc;

/// Gives back to the system the memory this thread freed, now rather than on a later allocation.
///
/// mimalloc purges freed memory lazily, when the allocator is next entered on that arena, so the 19 MiB
/// block of an Argon2 hash freed on a blocking thread that then idles would stay resident. Called after
/// each password hash; the cost is the next hash's page faults, which glibc paid too (its large blocks
/// are their own mappings). (Most of the idle excess first measured, 36–75 MiB against 20, was
/// transparent huge pages on mimalloc's arena: the `no_thp` feature in Cargo.toml.)
pub fn release_freed() {
    // SAFETY: mi_collect only walks this thread's heap and purges freed arena memory; it is thread-safe.
    unsafe { libmimalloc_sys::mi_collect(true) }
}

/// glibc raises its mmap threshold to the largest block freed (up to 32 MiB), after which a large C
/// allocation freed once stays resident in a thread's heap arena (before mimalloc, Argon2's blocks made
/// the server grow to ~500 MiB under a login load). A fixed threshold keeps large blocks in their own
/// mappings, returned to the system when freed.
#[cfg(all(target_os = "linux", target_env = "gnu"))]
pub fn tune() {
    // SAFETY: mallopt only sets an allocator parameter; it runs before any other thread exists.
    unsafe {
        libc::mallopt(libc::M_MMAP_THRESHOLD, 1 << 20);
    }
}

#[cfg(not(all(target_os = "linux", target_env = "gnu")))]
pub fn tune() {}

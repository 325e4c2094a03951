//! Makes sure `web/dist` exists before `rust-embed` looks at it. In debug builds rust-embed serves the
//! folder from disk, but it resolves the folder's canonical path at compile time: when the folder is
//! missing then (a fresh clone's first build, before `make web`), the path keeps its `server/../` and every
//! file requested later fails its "inside the folder" check, so the binary serves the placeholder even
//! after the app is built. An empty folder is harmless: `/` then shows the placeholder until `make web`.
//! No `rerun-if-changed` line: this reruns whenever the package changes, so a deleted folder comes back.

fn main() {
    let dist = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../web/dist");
    if let Err(e) = std::fs::create_dir_all(&dist) {
        println!("cargo:warning=cannot create {}: {e}", dist.display());
    }
}

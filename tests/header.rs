//! The committed header must equal what build.rs generates from src/ffi.

#[test]
fn committed_header_is_current() {
    let generated = include_str!(concat!(env!("OUT_DIR"), "/redis_sentinel.h"));
    let committed = include_str!("../include/redis_sentinel.h");
    assert!(
        generated == committed,
        "include/redis_sentinel.h is stale: run `make header` and commit it"
    );
}

//! Integration tests of retention and cleanup: keep/delete decisions over generated histories,
//! invariants over arbitrary ones, and cleanup of real backup directories.

mod retention {
    mod cleanup;
    mod decisions;
    mod files;
    mod history;
    mod invariants;
}

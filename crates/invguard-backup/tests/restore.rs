//! Integration tests of restore with real files, real SQLite, real encryption and the real
//! `gpg`, `zstd` and `sqlite3` binaries.

mod restore {
    mod existing_target;
    mod in_place;
    mod legacy;
    mod new_target;
    mod support;
}

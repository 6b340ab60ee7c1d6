//! Integration tests of backups against real SQLite databases, real files and the real `gpg`
//! and `zstd` binaries.

mod backup {
    mod cancel;
    mod concurrent;
    mod corruption;
    mod disk_full;
    mod interop;
    mod lock;
    mod manifest;
    mod source;
    mod support;
}

//! Decrypts and decompresses one backup into a plaintext file and does nothing else.
//!
//! These are the decoding stages that `verify` and `restore` run before their SQLite checks:
//! read and hash the backup file, decrypt, decompress, hash and write the plaintext.
//! `cargo xtask bench` times this program against `gpg -d FILE | zstd -d`.
//!
//! Usage: `decode CONFIG BACKUP OUTPUT`. CONFIG supplies the keys; OUTPUT must not exist and
//! is written with mode 0600 in its directory.

use std::collections::HashMap;
use std::path::PathBuf;

use invguard_backup::{BackupFormat, CancelToken, decode_backup, decryption_keys};
use invguard_config::{Config, LoadOptions};

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let mut args = std::env::args_os().skip(1).map(PathBuf::from);
    let (Some(config), Some(backup), Some(output)) = (args.next(), args.next(), args.next()) else {
        return Err("usage: decode CONFIG BACKUP OUTPUT".into());
    };

    let options = LoadOptions { file: Some(config), env: Some(HashMap::new()) };
    let config = Config::load(&options)?.config;
    let keys = decryption_keys(&config)?;
    let name = backup.file_name().unwrap_or_default().to_string_lossy();
    let format = BackupFormat::from_file_name(&name).ok_or("BACKUP is not a backup file name")?;
    let dest_dir = output.parent().filter(|dir| !dir.as_os_str().is_empty());
    let dest_dir = dest_dir.unwrap_or_else(|| std::path::Path::new("."));

    let decoded = decode_backup(&backup, format, Some(&keys), dest_dir, &CancelToken::new(), None)?;
    decoded.file.persist_noclobber(&output)?;
    Ok(())
}

//! A GnuPG home of its own for each test, driving the real `gpg` binary.
//!
//! Every command runs with `--batch --pinentry-mode loopback --no-symkey-cache`. Passphrases
//! reach gpg through `--passphrase-file` with a 0600 file, never through the command line or
//! the environment. Dropping the home runs `gpgconf --kill all` so no agent outlives the test.

use std::{
    fs,
    io::Write,
    os::unix::fs::{OpenOptionsExt, PermissionsExt},
    path::{Path, PathBuf},
    process::{Command, Output, Stdio},
};

use tempfile::TempDir;

/// A temporary GnuPG home directory.
pub struct GpgHome {
    dir: TempDir,
}

impl GpgHome {
    pub fn new() -> Self {
        let dir = tempfile::Builder::new().prefix("gpg-").tempdir().expect("create GNUPGHOME");
        fs_err::set_permissions(dir.path(), fs::Permissions::from_mode(0o700))
            .expect("restrict GNUPGHOME");
        Self { dir }
    }

    pub fn path(&self) -> &Path {
        self.dir.path()
    }

    /// Returns a path for a scratch file inside the home.
    pub fn file(&self, name: &str) -> PathBuf {
        self.dir.path().join(name)
    }

    /// Writes `passphrase` to a fresh 0600 file for `--passphrase-file`.
    pub fn passphrase_file(&self, passphrase: &str) -> PathBuf {
        let path = self.file(&format!("passphrase-{}", rand_suffix()));
        let mut file = fs::OpenOptions::new()
            .write(true)
            .create_new(true)
            .mode(0o600)
            .open(&path)
            .expect("create passphrase file");
        file.write_all(passphrase.as_bytes()).expect("write passphrase file");
        path
    }

    fn command(&self) -> Command {
        let mut command = Command::new("gpg");
        command
            .env_clear()
            .env("PATH", std::env::var_os("PATH").unwrap_or_default())
            .env("GNUPGHOME", self.path())
            .env("LC_ALL", "C")
            .args(["--batch", "--pinentry-mode", "loopback", "--no-symkey-cache", "--no-tty"]);
        command
    }

    /// Runs gpg with `args`, an optional passphrase and optional standard input.
    pub fn run(&self, args: &[&str], passphrase: Option<&str>, stdin: Option<&[u8]>) -> Output {
        let mut command = self.command();
        if let Some(passphrase) = passphrase {
            let file = self.passphrase_file(passphrase);
            command.arg("--passphrase-file").arg(file);
        }
        command.args(args);
        command.stdin(if stdin.is_some() { Stdio::piped() } else { Stdio::null() });
        command.stdout(Stdio::piped()).stderr(Stdio::piped());

        let mut child = command.spawn().expect("gpg must be installed to run these tests");
        if let Some(input) = stdin {
            child.stdin.take().expect("stdin").write_all(input).expect("write gpg stdin");
        }
        child.wait_with_output().expect("wait for gpg")
    }

    /// Runs gpg and panics with its stderr unless it succeeds.
    pub fn run_ok(&self, args: &[&str], passphrase: Option<&str>, stdin: Option<&[u8]>) -> Vec<u8> {
        let output = self.run(args, passphrase, stdin);
        assert!(
            output.status.success(),
            "gpg {args:?} failed: {}",
            String::from_utf8_lossy(&output.stderr)
        );
        output.stdout
    }

    /// Generates a key and returns its primary fingerprint. `passphrase` None leaves the
    /// secret key unprotected. `extra` goes before the command (for `--faked-system-time`).
    pub fn generate_key(
        &self,
        user_id: &str,
        algorithm: &str,
        usage: &str,
        expire: &str,
        passphrase: Option<&str>,
        extra: &[&str],
    ) -> String {
        let mut args: Vec<&str> = extra.to_vec();
        args.extend(["--quick-gen-key", user_id, algorithm, usage, expire]);
        self.run_ok(&args, Some(passphrase.unwrap_or("")), None);
        self.fingerprint(user_id)
    }

    /// Adds a subkey to the key `fingerprint`.
    pub fn add_subkey(
        &self,
        fingerprint: &str,
        algorithm: &str,
        usage: &str,
        passphrase: Option<&str>,
    ) {
        self.run_ok(
            &["--quick-add-key", fingerprint, algorithm, usage, "never"],
            Some(passphrase.unwrap_or("")),
            None,
        );
    }

    /// Generates an ed25519 signing key with a cv25519 encryption subkey.
    pub fn generate_cv25519(&self, user_id: &str, passphrase: Option<&str>) -> String {
        self.generate_key(user_id, "future-default", "default", "never", passphrase, &[])
    }

    /// Generates an RSA-2048 signing key with an RSA-2048 encryption subkey.
    pub fn generate_rsa(&self, user_id: &str, passphrase: Option<&str>) -> String {
        let fingerprint =
            self.generate_key(user_id, "rsa2048", "cert,sign", "never", passphrase, &[]);
        self.add_subkey(&fingerprint, "rsa2048", "encr", passphrase);
        fingerprint
    }

    /// Returns the primary fingerprint of the key with `user_id`.
    pub fn fingerprint(&self, user_id: &str) -> String {
        let listing = self.run_ok(&["--with-colons", "--list-keys", user_id], None, None);
        let listing = String::from_utf8(listing).expect("utf-8 listing");
        listing
            .lines()
            .find(|line| line.starts_with("fpr:"))
            .and_then(|line| line.split(':').nth(9))
            .expect("fingerprint in listing")
            .to_owned()
    }

    /// Returns the key ids of the encryption subkeys of `fingerprint`.
    pub fn encryption_key_ids(&self, fingerprint: &str) -> Vec<String> {
        let listing = self.run_ok(&["--with-colons", "--list-keys", fingerprint], None, None);
        String::from_utf8(listing)
            .expect("utf-8 listing")
            .lines()
            .filter(|line| line.starts_with("sub:") || line.starts_with("pub:"))
            .filter(|line| line.split(':').nth(11).is_some_and(|caps| caps.contains('e')))
            .map(|line| line.split(':').nth(4).expect("key id").to_owned())
            .collect()
    }

    /// Exports the public key to a file and returns its path.
    pub fn export_public(&self, fingerprint: &str, armor: bool) -> PathBuf {
        let path = self.file(&format!("public-{fingerprint}-{armor}.key"));
        let mut args = vec!["--export"];
        if armor {
            args.push("--armor");
        }
        args.push(fingerprint);
        let key = self.run_ok(&args, None, None);
        assert!(!key.is_empty(), "gpg exported nothing for {fingerprint}");
        fs_err::write(&path, key).expect("write exported key");
        path
    }

    /// Exports the secret key to a file and returns its path.
    pub fn export_secret(
        &self,
        fingerprint: &str,
        armor: bool,
        passphrase: Option<&str>,
    ) -> PathBuf {
        let path = self.file(&format!("secret-{fingerprint}-{armor}.key"));
        let mut args = vec!["--export-secret-keys"];
        if armor {
            args.push("--armor");
        }
        args.push(fingerprint);
        let key = self.run_ok(&args, Some(passphrase.unwrap_or("")), None);
        assert!(!key.is_empty(), "gpg exported no secret key for {fingerprint}");
        fs_err::write(&path, key).expect("write exported secret key");
        path
    }

    /// Revokes the whole key with the revocation certificate gpg wrote at creation.
    pub fn revoke(&self, fingerprint: &str) {
        let certificate = self.path().join("openpgp-revocs.d").join(format!("{fingerprint}.rev"));
        let text = fs_err::read_to_string(&certificate).expect("read revocation certificate");
        // gpg prefixes the armor line with a colon so the certificate is not imported by
        // accident; removing it arms the certificate.
        let armed = text.replace(
            ":-----BEGIN PGP PUBLIC KEY BLOCK-----",
            "-----BEGIN PGP PUBLIC KEY BLOCK-----",
        );
        let path = self.file("revocation.asc");
        fs_err::write(&path, armed).expect("write armed revocation");
        self.run_ok(&["--import", path.to_str().expect("utf-8 path")], None, None);
    }

    /// Decrypts `ciphertext` with `gpg --decrypt`, returning the full output.
    pub fn decrypt(&self, ciphertext: &[u8], passphrase: Option<&str>) -> Output {
        let input = self.file(&format!("ciphertext-{}", rand_suffix()));
        fs_err::write(&input, ciphertext).expect("write ciphertext");
        self.run(&["--decrypt", input.to_str().expect("utf-8 path")], passphrase, None)
    }

    /// Encrypts `plaintext` with `gpg` and the given mode arguments.
    pub fn encrypt(&self, plaintext: &[u8], args: &[&str], passphrase: Option<&str>) -> Vec<u8> {
        let input = self.file(&format!("plaintext-{}", rand_suffix()));
        fs_err::write(&input, plaintext).expect("write plaintext");
        let mut all = vec!["--output", "-", "--trust-model", "always"];
        all.extend(args);
        all.push(input.to_str().expect("utf-8 path"));
        self.run_ok(&all, passphrase, None)
    }
}

impl Drop for GpgHome {
    fn drop(&mut self) {
        let _ = Command::new("gpgconf")
            .env("GNUPGHOME", self.path())
            .args(["--kill", "all"])
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .status();
    }
}

fn rand_suffix() -> String {
    use std::sync::atomic::{AtomicU64, Ordering};
    static NEXT: AtomicU64 = AtomicU64::new(0);
    format!("{}-{}", std::process::id(), NEXT.fetch_add(1, Ordering::Relaxed))
}

//! Integration tests of invguard-crypto against the real `gpg` binary.

#[path = "crypto/errors.rs"]
mod errors;
#[path = "crypto/gpg.rs"]
mod gpg;
#[path = "crypto/inspect.rs"]
mod inspect;
#[path = "crypto/logging.rs"]
mod logging;
#[path = "crypto/passphrase.rs"]
mod passphrase;
#[path = "crypto/public_key.rs"]
mod public_key;
#[path = "crypto/roundtrip.rs"]
mod roundtrip;

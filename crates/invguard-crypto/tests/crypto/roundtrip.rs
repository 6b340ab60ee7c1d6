//! Round trips through `encrypt` and `decrypt` for arbitrary data, sizes and read patterns.

use std::io::Read;

use invguard_crypto::{DecryptionKeys, EncryptOptions, EncryptionKeys, decrypt, encrypt_with};
use proptest::prelude::*;

use crate::passphrase::{PASSPHRASE, passphrase};

/// Sizes around rPGP's buffers: 512-byte minimum partial chunk, 8 KiB reader buffers, the
/// 64 KiB input buffer of `decrypt`, and rPGP's 512 KiB partial chunk size.
const BOUNDARY_SIZES: [usize; 17] = [
    0, 1, 15, 16, 17, 511, 512, 513, 8191, 8192, 8193, 65535, 65536, 65537, 524287, 524288, 1048577,
];

/// Hands out at most `chunk` bytes per read, like a pipe or a slow disk.
struct ChunkedReader<'a> {
    data: &'a [u8],
    chunk: usize,
}

impl Read for ChunkedReader<'_> {
    fn read(&mut self, buf: &mut [u8]) -> std::io::Result<usize> {
        let len = self.chunk.min(buf.len()).min(self.data.len());
        buf[..len].copy_from_slice(&self.data[..len]);
        self.data = &self.data[len..];
        Ok(len)
    }
}

fn round_trip(plaintext: &[u8], chunk: usize) -> (u64, u64, Vec<u8>) {
    let keys = EncryptionKeys::passphrase(passphrase(PASSPHRASE));
    let options = EncryptOptions::insecure_for_tests();
    let mut ciphertext = Vec::new();
    let read =
        encrypt_with(ChunkedReader { data: plaintext, chunk }, &mut ciphertext, &keys, &options)
            .expect("encrypt");

    let mut decrypted = Vec::new();
    let reader = ChunkedReader { data: &ciphertext, chunk };
    let written =
        decrypt(reader, &mut decrypted, &DecryptionKeys::passphrase(passphrase(PASSPHRASE)))
            .expect("decrypt");
    (read, written, decrypted)
}

#[test]
fn round_trip_boundary_sizes() {
    for size in BOUNDARY_SIZES {
        let plaintext: Vec<u8> = (0..size).map(|index| (index % 253) as u8 ^ 0x5a).collect();

        let (read, written, decrypted) = round_trip(&plaintext, usize::MAX);

        assert_eq!(read, size as u64, "size {size}: bytes read");
        assert_eq!(written, size as u64, "size {size}: bytes written");
        assert!(decrypted == plaintext, "size {size}: decrypted data differs");
    }
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 16, ..ProptestConfig::default() })]

    #[test]
    fn round_trip_arbitrary_data(
        plaintext in prop_oneof![
            proptest::sample::select(&BOUNDARY_SIZES[..14])
                .prop_flat_map(|size| proptest::collection::vec(any::<u8>(), size)),
            proptest::collection::vec(any::<u8>(), 0..200_000),
        ],
        chunk in 1usize..4096,
    ) {
        let (read, written, decrypted) = round_trip(&plaintext, chunk);

        prop_assert_eq!(read, plaintext.len() as u64);
        prop_assert_eq!(written, plaintext.len() as u64);
        prop_assert!(decrypted == plaintext, "decrypted data differs");
    }
}

//! Property tests for TR-31: wrap then unwrap gives the key back, changing any single
//! character of a block makes unwrap fail, and no input string makes the parser panic.

mod common;

use common::{FixedRng, h};
use paycrypt_keyblock::tr31::{
    self, Algorithm, Exportability, Header, KeyUsage, ModeOfUse, OptionalBlock, Version,
    WrapOptions,
};
use proptest::prelude::*;

fn version() -> impl Strategy<Value = Version> {
    prop_oneof![
        Just(Version::A),
        Just(Version::B),
        Just(Version::C),
        Just(Version::D)
    ]
}

fn kbpk_for(version: Version) -> impl Strategy<Value = Vec<u8>> {
    let lens: Vec<usize> = match version {
        Version::D => vec![16, 24, 32],
        _ => vec![16, 24],
    };
    prop::sample::select(lens).prop_flat_map(|len| prop::collection::vec(any::<u8>(), len))
}

fn algorithm() -> impl Strategy<Value = Algorithm> {
    prop_oneof![
        Just(Algorithm::Tdes),
        Just(Algorithm::Aes),
        Just(Algorithm::Hmac),
        Just(Algorithm::Rsa)
    ]
}

fn optional_blocks() -> impl Strategy<Value = Vec<OptionalBlock>> {
    prop::collection::vec(("[A-Z0-9]{2}", "[ -~]{0,40}"), 0..4).prop_map(|blocks| {
        blocks
            .into_iter()
            .filter(|(id, _)| id != "PB")
            .map(|(id, data)| OptionalBlock::new(&id, data).unwrap())
            .collect()
    })
}

/// A header, a KBPK that fits it, a key, the masking flag and padding bytes.
fn case() -> impl Strategy<Value = (Header, Vec<u8>, Vec<u8>, bool, Vec<u8>)> {
    version().prop_flat_map(|v| {
        (
            Just(v),
            kbpk_for(v),
            algorithm(),
            optional_blocks(),
            prop::collection::vec(any::<u8>(), 1..=64),
            any::<bool>(),
            prop::collection::vec(any::<u8>(), 48),
        )
            .prop_map(|(v, kbpk, alg, blocks, key, mask, pad)| {
                let mut header = Header::new(
                    v,
                    KeyUsage::new("K0").unwrap(),
                    alg,
                    ModeOfUse::EncryptDecrypt,
                    Exportability::Exportable,
                );
                header.optional_blocks = blocks;
                (header, kbpk, key, mask, pad)
            })
    })
}

fn wrap_case(header: &Header, kbpk: &[u8], key: &[u8], mask: bool, pad: &[u8]) -> String {
    let mut rng = FixedRng::new(&hex::encode(pad));
    tr31::wrap(
        kbpk,
        header,
        key,
        WrapOptions {
            mask_key_length: mask,
        },
        &mut rng,
    )
    .unwrap()
}

proptest! {
    #[test]
    fn wrap_then_unwrap_returns_the_key((header, kbpk, key, mask, pad) in case()) {
        let block = wrap_case(&header, &kbpk, &key, mask, &pad);
        let (back, unwrapped) = tr31::unwrap(&kbpk, &block).unwrap();
        prop_assert_eq!(back, header);
        prop_assert_eq!(unwrapped.expose(), key.as_slice());
        prop_assert!(block.bytes().all(|b| (0x20..=0x7E).contains(&b)));
    }

    #[test]
    fn any_single_character_change_is_rejected(
        (header, kbpk, key, mask, pad) in case(),
        position in any::<prop::sample::Index>(),
        replacement in any::<char>(),
    ) {
        let block = wrap_case(&header, &kbpk, &key, mask, &pad);
        let i = position.index(block.len());
        prop_assume!(block.as_bytes()[i] as char != replacement);
        let mut changed = String::with_capacity(block.len() + 4);
        changed.push_str(&block[..i]);
        changed.push(replacement);
        changed.push_str(&block[i + 1..]);
        prop_assert!(tr31::unwrap(&kbpk, &changed).is_err());
    }

    #[test]
    fn arbitrary_strings_never_panic(s in any::<String>(), kbpk_len in 0usize..40) {
        let kbpk = vec![0x5A; kbpk_len];
        let _ = tr31::unwrap(&kbpk, &s);
        let _ = Header::parse(&s);
    }

    /// Strings shaped like key blocks (valid length field, plausible header) reach deeper
    /// into the parser than random text does.
    #[test]
    fn block_shaped_strings_never_panic(
        version in "[ABCDE]",
        fields in "[A-Z0-9]{2}[ADEHRST][BCDEGNSTVXY][0-9A-Z]{2}[ENS][0-9]{2}[0-2]0",
        rest in "([A-Z0-9]{2}(00[0-9A-F]{2}|[0-9A-F]{2}))?[0-9A-F ~a-z]{0,300}",
        kbpk_len in prop::sample::select(vec![16usize, 24, 32]),
    ) {
        let body = format!("{fields}{rest}");
        let block = format!("{version}{:04}{body}", body.len() + 5);
        let _ = tr31::unwrap(&vec![0x33; kbpk_len], &block);
    }
}

/// Key length masking sizes, after psec's `test_kb_masking_key_length`.
#[test]
fn masking_sets_block_lengths() {
    let cases = [
        (Version::B, Algorithm::Tdes, 24, 16, true, 96),
        (Version::B, Algorithm::Tdes, 24, 16, false, 80),
        (Version::B, Algorithm::Tdes, 24, 24, true, 96),
        (Version::A, Algorithm::Tdes, 16, 16, true, 88),
        (Version::A, Algorithm::Tdes, 16, 16, false, 72),
        (Version::C, Algorithm::Tdes, 24, 8, true, 88),
        (Version::D, Algorithm::Aes, 32, 16, true, 144),
        (Version::D, Algorithm::Aes, 32, 16, false, 112),
        (Version::D, Algorithm::Tdes, 32, 16, true, 112),
        (Version::D, Algorithm::Hmac, 32, 64, true, 208),
    ];
    for (version, algorithm, kbpk_len, key_len, mask, expected) in cases {
        let header = Header::new(
            version,
            KeyUsage::new("K0").unwrap(),
            algorithm,
            ModeOfUse::EncryptDecrypt,
            Exportability::Exportable,
        );
        let block = wrap_case(
            &header,
            &vec![7; kbpk_len],
            &vec![9; key_len],
            mask,
            &h("00"),
        );
        assert_eq!(
            block.len(),
            expected,
            "{version:?} {algorithm:?} {key_len} {mask}"
        );
        assert_eq!(&block[1..5], format!("{expected:04}"));
    }
}

#[test]
fn wrap_rejects_bad_inputs() {
    let header = Header::new(
        Version::B,
        KeyUsage::new("K0").unwrap(),
        Algorithm::Tdes,
        ModeOfUse::EncryptDecrypt,
        Exportability::Exportable,
    );
    let mut rng = FixedRng::new("");
    assert_eq!(
        tr31::wrap(
            &[1; 32],
            &header,
            &[2; 16],
            WrapOptions::default(),
            &mut rng
        ),
        Err(paycrypt_keyblock::Error::WrongKbpkLength {
            version: 'B',
            len: 32
        })
    );
    assert!(tr31::wrap(&[1; 16], &header, &[], WrapOptions::default(), &mut rng).is_err());
    let mut big = header.clone();
    big.optional_blocks = vec![OptionalBlock::new("CT", "x".repeat(9990)).unwrap()];
    assert_eq!(
        tr31::wrap(&[1; 16], &big, &[2; 16], WrapOptions::default(), &mut rng),
        Err(paycrypt_keyblock::Error::CannotEncode(
            "key block would exceed 9999 characters"
        ))
    );
    assert!(rng.exhausted());
}

/// Every version with every KBPK size it allows, wrapping TDES, AES and HMAC keys of every
/// standard size, with and without masking.
#[test]
fn round_trip_every_version_kbpk_and_key_size() {
    let kbpks: [(Version, &[usize]); 4] = [
        (Version::A, &[16, 24]),
        (Version::B, &[16, 24]),
        (Version::C, &[16, 24]),
        (Version::D, &[16, 24, 32]),
    ];
    let keys: [(Algorithm, &[usize]); 3] = [
        (Algorithm::Tdes, &[16, 24]),
        (Algorithm::Aes, &[16, 24, 32]),
        (Algorithm::Hmac, &[28, 32, 48, 64]),
    ];
    for (version, kbpk_lens) in kbpks {
        for &kbpk_len in kbpk_lens {
            let kbpk: Vec<u8> = (0..kbpk_len as u8).collect();
            for (algorithm, key_lens) in keys {
                for &key_len in key_lens {
                    for mask in [false, true] {
                        let header = Header::new(
                            version,
                            KeyUsage::new("D0").unwrap(),
                            algorithm,
                            ModeOfUse::EncryptDecrypt,
                            Exportability::Exportable,
                        );
                        let key: Vec<u8> = (100..100 + key_len as u8).collect();
                        let block = wrap_case(&header, &kbpk, &key, mask, &[0x5A; 48]);
                        let (back, unwrapped) = tr31::unwrap(&kbpk, &block).unwrap();
                        assert_eq!(back, header);
                        assert_eq!(
                            unwrapped.expose(),
                            key.as_slice(),
                            "{version:?} {kbpk_len} {algorithm:?} {key_len} {mask}"
                        );
                    }
                }
            }
        }
    }
}

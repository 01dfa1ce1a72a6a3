//! PIN blocks (ISO 9564-1 formats 0, 1, 3, 4), the Visa PVV and IBM 3624 against published
//! vectors and values computed by independent implementations, plus property tests.
//!
//! Vectors marked "psec 1.3.0" were computed with the PyPI package psec 1.3.0
//! (`psec.pinblock`, `psec.pin`); those marked "psec tests" are the package's own published
//! test values.

use paycrypt_cardcrypto::Error;
use paycrypt_cardcrypto::pin_verification::{
    Ibm3624Params, ibm3624_natural_pin, ibm3624_offset, ibm3624_pin_from_offset,
    ibm3624_random_pin, verify_ibm3624, verify_visa_pvv, visa_pvv,
};
use paycrypt_cardcrypto::pinblock::{
    Pin, decipher_iso4, decode_iso0, decode_iso1, decode_iso3, encipher_iso4, encode_iso0,
    encode_iso1, encode_iso3, legacy_pan,
};
use paycrypt_keyblock::SystemRng;
use proptest::prelude::*;

fn h(s: &str) -> Vec<u8> {
    hex::decode(s).expect("test vector is hex")
}

fn pin(s: &str) -> Pin {
    Pin::new(s).expect("test PIN")
}

/// `0123456789ABCDEFFEDCBA9876543210`, the PVK of the psec tests.
const PVK: &str = "0123456789ABCDEFFEDCBA9876543210";

#[test]
fn iso0_vectors() {
    // psec tests: PIN 1234, PAN 5555555551234567.
    // The others: psec 1.3.0 `encode_pinblock_iso_0(pin, pan)`.
    let cases = [
        ("1234", "5555555551234567", "041261AAAAEDCBA9"),
        ("0000", "4111111111111111", "040011EEEEEEEEEE"),
        ("123456789012", "1234567890123456789", "0C124CC66AA44487"),
        ("98765", "4000000000006", "0598365FFFFFFFFF"),
        ("4321", "5432109876543", "044375CDEF6789AB"),
    ];
    for (p, pan, block) in cases {
        assert_eq!(
            hex::encode_upper(*encode_iso0(&pin(p), pan).unwrap()),
            block
        );
        assert_eq!(decode_iso0(&h(block), pan).unwrap().expose(), p);
    }
}

#[test]
fn iso3_blocks_from_psec_decode() {
    // psec 1.3.0 `encode_pinblock_iso_3(pin, pan)` (random fill, so decoded, not re-encoded).
    let cases = [
        ("1234", "5555555551234567", "34126189AFC9DABC"),
        ("987654", "4111111111111111", "36986745AACBCFBD"),
        ("123456789012", "1234567890123456789", "3C124CC66AA444C7"),
    ];
    for (p, pan, block) in cases {
        assert_eq!(decode_iso3(&h(block), pan).unwrap().expose(), p);
        // The same block is not a valid format 0 block.
        assert!(decode_iso0(&h(block), pan).is_err());
    }
}

#[test]
fn iso1_block_written_from_the_standard() {
    // ISO 9564-1 format 1: control 1, length, PIN, fill of any value (psec has no format 1).
    assert_eq!(
        decode_iso1(&h("141234ABCDEF0123")).unwrap().expose(),
        "1234"
    );
    assert_eq!(
        decode_iso1(&h("1C12345678901200")).unwrap().expose(),
        "123456789012"
    );
    let block = encode_iso1(&pin("87654"), &mut SystemRng);
    assert_eq!(block[0], 0x15);
    assert_eq!(&block[1..3], &[0x87, 0x65]);
    assert_eq!(block[3] >> 4, 4);
}

#[test]
fn iso3_fill_is_a_to_f() {
    let pan = "4111111111111111";
    for _ in 0..50 {
        let block = encode_iso3(&pin("1234"), pan, &mut SystemRng).unwrap();
        // Undo the PAN field to look at the fill.
        let pan_field = h("0000111111111111");
        let clear: Vec<u8> = block.iter().zip(&pan_field).map(|(b, p)| b ^ p).collect();
        assert_eq!(&clear[..3], &h("341234")[..]);
        let fill = hex::encode_upper(&clear[3..]);
        assert!(
            fill.chars().all(|c| ('A'..='F').contains(&c)),
            "fill {fill}"
        );
    }
}

#[test]
fn iso4_blocks_from_psec_decipher() {
    // psec 1.3.0 `encipher_pinblock_iso_4(key, pin, pan)` (random fill, so deciphered).
    let k128 = "00112233445566778899AABBCCDDEEFF";
    let k256 = "000102030405060708090A0B0C0D0E0F101112131415161718191A1B1C1D1E1F";
    let cases = [
        (
            k128,
            "1234",
            "5555555551234567",
            "CE291D44D8734E6414DA8369EB234B83",
        ),
        (
            k128,
            "987654321098",
            "1234567890123456789",
            "9B1205FE7AA9809B776E9DC2EDDB76C6",
        ),
        (
            k128,
            "4321",
            "12345678901",
            "4AD008937A2CC6982799BFFA1C8A927C",
        ),
        (
            k128,
            "55555",
            "432198765432",
            "4889FD39054F391B9CB14C29CA9A4917",
        ),
        (
            k256,
            "1234",
            "5555555551234567",
            "376ECC50A52B6551BDCEA119FDEF8E3E",
        ),
        (
            k256,
            "987654321098",
            "1234567890123456789",
            "2944B6FBE0E9B4198C63456E7093DC49",
        ),
        (
            k256,
            "4321",
            "12345678901",
            "7C58D2751A0212AA6852CB405DEDD91E",
        ),
        (
            k256,
            "55555",
            "432198765432",
            "344F192D726C923E2A663A11E46EF84D",
        ),
    ];
    for (key, p, pan, block) in cases {
        assert_eq!(decipher_iso4(&h(key), &h(block), pan).unwrap().expose(), p);
        // Bound to the PAN: another PAN does not give a well-formed block back.
        assert!(decipher_iso4(&h(key), &h(block), "5555555551234568").is_err());
    }
}

#[test]
fn iso4_round_trip_and_legacy_pan() {
    let key = h("00112233445566778899AABBCCDDEEFF");
    let pan = "1234567890123456789";
    let legacy = legacy_pan(pan).unwrap();
    assert_eq!(legacy, "789012345678");
    assert_eq!(legacy_pan("400000000006").unwrap(), "040000000000");
    let block = encipher_iso4(&key, &pin("2468"), &legacy, &mut SystemRng).unwrap();
    assert_eq!(
        decipher_iso4(&key, &block, &legacy).unwrap().expose(),
        "2468"
    );
    assert!(decipher_iso4(&key, &block, pan).is_err());
    // Two encipherments of the same PIN differ (random fill).
    let again = encipher_iso4(&key, &pin("2468"), &legacy, &mut SystemRng).unwrap();
    assert_ne!(block, again);
}

#[test]
fn malformed_blocks_are_refused_without_detail() {
    let pan = "5555555551234567";
    // Control field 1 under format 0.
    let err = decode_iso0(&h("141261AAAAEDCBA9"), pan).unwrap_err();
    assert!(matches!(err, Error::InvalidPinBlock(_)));
    // Length 3 and length 13.
    assert!(decode_iso1(&h("13123FFFFFFFFFFF")).is_err());
    assert!(decode_iso1(&h("1D12345678901234")).is_err());
    // A non-decimal PIN position.
    assert!(decode_iso1(&h("1412A4FFFFFFFFFF")).is_err());
    // Format 0 fill that is not F.
    let mut block = encode_iso0(&pin("1234"), pan).unwrap();
    block[7] ^= 0x01;
    let err = decode_iso0(&*block, pan).unwrap_err();
    assert!(!err.to_string().contains("1234"));
    // Wrong sizes.
    assert!(decode_iso0(&[0u8; 7], pan).is_err());
    assert!(decipher_iso4(&[0u8; 16], &[0u8; 8], pan).is_err());
    assert!(matches!(
        decipher_iso4(&[0u8; 15], &[0u8; 16], pan),
        Err(Error::InvalidKeyLength { .. })
    ));
}

#[test]
fn pin_never_prints_its_digits() {
    let p = pin("987612");
    let shown = format!("{p:?} {p:#?}");
    assert!(!shown.contains("9876"));
    assert_eq!(format!("{p:?}"), "Pin(<redacted; 6 digits>)");
    assert!(Pin::new("123").is_err());
    assert!(Pin::new("1234567890123").is_err());
    assert!(Pin::new("12a4").is_err());
    let err = Pin::new("12a4").unwrap_err().to_string();
    assert!(!err.contains("12a4"));
}

#[test]
fn random_pins_have_the_length_asked() {
    for len in 4..=12 {
        let p = Pin::random(len, &mut SystemRng).unwrap();
        assert_eq!(p.len(), len);
        assert!(p.expose().bytes().all(|b| b.is_ascii_digit()));
    }
    assert!(Pin::random(3, &mut SystemRng).is_err());
    assert!(Pin::random(13, &mut SystemRng).is_err());
}

#[test]
fn visa_pvv_vectors() {
    // psec tests: PVKI 1, PIN 4524 -> 8523; PVKI 2, PIN 1912 -> 3244; PVKI 3 -> 4021 (the
    // docstring example). The others: psec 1.3.0 `generate_visa_pvv(pvk, pvki, pin, pan)`.
    let cases = [
        (PVK, 1, "4524", "1122334455667788", "8523"),
        (PVK, 2, "1912", "1122334455667788", "3244"),
        (PVK, 3, "4524", "1122334455667788", "4021"),
        (PVK, 0, "0000", "4111111111111111", "2273"),
        (PVK, 6, "9999", "5500000000000004", "6738"),
        (PVK, 5, "2468", "1234567890123456789", "5048"),
        (PVK, 4, "1357", "400000000006", "2541"),
        (
            "1A2B3C4D5E6F70811A2B3C4D5E6F7081",
            1,
            "1234",
            "4012345678909",
            "7949",
        ),
    ];
    for (pvk, pvki, p, pan, pvv) in cases {
        let pvk = h(pvk);
        assert_eq!(visa_pvv(&pvk, pvki, &pin(p), pan).unwrap().as_str(), pvv);
        assert!(verify_visa_pvv(&pvk, pvki, &pin(p), pan, pvv).unwrap());
        let wrong = format!("{}{}", &pvv[..3], (pvv.as_bytes()[3] - b'0' + 1) % 10);
        assert!(!verify_visa_pvv(&pvk, pvki, &pin(p), pan, &wrong).unwrap());
        assert!(!verify_visa_pvv(&pvk, (pvki + 1) % 10, &pin(p), pan, pvv).unwrap());
    }
    // A three-key PVK: psec 1.3.0 `generate_visa_pvv` with the 24-byte key.
    let k3 = h("0123456789ABCDEFFEDCBA987654321089ABCDEF01234567");
    assert_eq!(
        visa_pvv(&k3, 1, &pin("4524"), "1122334455667788")
            .unwrap()
            .as_str(),
        "4401"
    );
    // Longer PINs contribute their four leftmost digits.
    let pvk = h(PVK);
    assert_eq!(
        visa_pvv(&pvk, 1, &pin("452499"), "1122334455667788")
            .unwrap()
            .as_str(),
        "8523"
    );
    assert!(visa_pvv(&pvk, 10, &pin("4524"), "1122334455667788").is_err());
    assert!(visa_pvv(&pvk, 1, &pin("4524"), "11223344556").is_err());
    assert!(verify_visa_pvv(&pvk, 1, &pin("4524"), "1122334455667788", "852").is_err());
}

#[test]
fn ibm3624_vectors() {
    // psec tests: table 1234567890123456, data 1122334455667788, pad F: offset 0000 ->
    // natural PIN 4524; PIN 1234 -> offset 7710. The others: psec 1.3.0
    // `generate_ibm3624_offset` and `generate_ibm3624_pin` (validation data = the whole
    // "pan" argument, offset 0).
    let cases = [
        (
            "1234567890123456",
            "1122334455667788",
            'F',
            "4524",
            "0000",
            "4524",
        ),
        (
            "1234567890123456",
            "1122334455667788",
            'F',
            "1234",
            "7710",
            "4524",
        ),
        (
            "0123456789012345",
            "12345678",
            'F',
            "123456",
            "080031",
            "143425",
        ),
        (
            "9876543210123456",
            "4000001234",
            '0',
            "12345678",
            "78192520",
            "44253158",
        ),
        ("0123456789012345", "5555", 'A', "0000", "3859", "7251"),
        (
            "8351296477461538",
            "123456789012",
            'D',
            "987654321098",
            "414027848740",
            "573637583358",
        ),
    ];
    let pvk = h(PVK);
    for (table, data, pad, p, offset, natural) in cases {
        let params = Ibm3624Params {
            decimalization_table: table,
            validation_data: data,
            pad_character: pad,
        };
        assert_eq!(
            ibm3624_offset(&pvk, &params, &pin(p)).unwrap().as_str(),
            offset
        );
        let nat = ibm3624_natural_pin(&pvk, &params, natural.len()).unwrap();
        assert_eq!(nat.expose(), natural);
        assert_eq!(
            ibm3624_pin_from_offset(&pvk, &params, offset)
                .unwrap()
                .expose(),
            p
        );
        assert!(verify_ibm3624(&pvk, &params, &pin(p), offset).unwrap());
        let wrong = format!("{}{}", &offset[..offset.len() - 1], {
            let last = offset.as_bytes()[offset.len() - 1] - b'0';
            (last + 1) % 10
        });
        assert!(!verify_ibm3624(&pvk, &params, &pin(p), &wrong).unwrap());
    }
}

#[test]
fn ibm3624_three_key_pvk() {
    // psec 1.3.0 `generate_ibm3624_offset` / `generate_ibm3624_pin` with a 24-byte PVK.
    let k3 = h("0123456789ABCDEFFEDCBA987654321089ABCDEF01234567");
    let params = Ibm3624Params {
        decimalization_table: "0123456789012345",
        validation_data: "4000001234",
        pad_character: 'F',
    };
    assert_eq!(
        ibm3624_offset(&k3, &params, &pin("1234")).unwrap().as_str(),
        "1479"
    );
    assert_eq!(
        ibm3624_natural_pin(&k3, &params, 4).unwrap().expose(),
        "0865"
    );
}

#[test]
fn ibm3624_random_pin_and_checks() {
    let pvk = h(PVK);
    let params = Ibm3624Params {
        decimalization_table: "0123456789012345",
        validation_data: "4000001234",
        pad_character: 'F',
    };
    let (p, offset) = ibm3624_random_pin(&pvk, &params, 6, &mut SystemRng).unwrap();
    assert_eq!(p.len(), 6);
    assert_eq!(offset.len(), 6);
    assert!(verify_ibm3624(&pvk, &params, &p, &offset).unwrap());
    // A PIN of another length than the offset does not verify.
    assert!(!verify_ibm3624(&pvk, &params, &pin("12345"), "0000").unwrap());
    // Malformed parameters are refused, not panicked on.
    for (table, data, pad) in [
        ("012345678901234", "4000001234", 'F'),
        ("0123456789012345", "", 'F'),
        ("0123456789012345", "12345678901234567", 'F'),
        ("0123456789012345", "4000001234", 'G'),
        ("012345678901234X", "4000001234", 'F'),
    ] {
        let params = Ibm3624Params {
            decimalization_table: table,
            validation_data: data,
            pad_character: pad,
        };
        assert!(ibm3624_offset(&pvk, &params, &pin("1234")).is_err());
    }
    assert!(ibm3624_natural_pin(&pvk, &params, 3).is_err());
    assert!(ibm3624_pin_from_offset(&pvk, &params, "123").is_err());
    assert!(ibm3624_offset(&pvk[..8], &params, &pin("1234")).is_err());
    assert!(!format!("{params:?}").contains("4000001234"));
}

fn arb_pin() -> impl Strategy<Value = String> {
    proptest::string::string_regex("[0-9]{4,12}").expect("regex")
}

fn arb_pan() -> impl Strategy<Value = String> {
    proptest::string::string_regex("[0-9]{12,19}").expect("regex")
}

proptest! {
    #[test]
    fn every_format_decodes_to_the_pin_it_encoded(p in arb_pin(), pan in arb_pan(), key in proptest::collection::vec(any::<u8>(), 16)) {
        let original = Pin::new(&p).unwrap();
        let b0 = encode_iso0(&original, &pan).unwrap();
        prop_assert!(decode_iso0(&*b0, &pan).unwrap().ct_eq(&original));
        let b1 = encode_iso1(&original, &mut SystemRng);
        prop_assert!(decode_iso1(&*b1).unwrap().ct_eq(&original));
        let b3 = encode_iso3(&original, &pan, &mut SystemRng).unwrap();
        prop_assert!(decode_iso3(&*b3, &pan).unwrap().ct_eq(&original));
        let b4 = encipher_iso4(&key, &original, &pan, &mut SystemRng).unwrap();
        prop_assert!(decipher_iso4(&key, &b4, &pan).unwrap().ct_eq(&original));
        // Translation through every pair of formats keeps the PIN.
        let via0 = decode_iso0(&*encode_iso0(&decipher_iso4(&key, &b4, &pan).unwrap(), &pan).unwrap(), &pan).unwrap();
        prop_assert!(via0.ct_eq(&original));
    }

    #[test]
    fn pin_methods_round_trip(
        p in arb_pin(),
        pan in arb_pan(),
        pvki in 0u8..=9,
        table in "[0-9]{16}",
        data in "[0-9]{4,16}",
        pad in proptest::sample::select(vec!['0', '9', 'A', 'F']),
    ) {
        let pvk = h(PVK);
        let original = Pin::new(&p).unwrap();
        let pvv = visa_pvv(&pvk, pvki, &original, &pan).unwrap();
        prop_assert!(verify_visa_pvv(&pvk, pvki, &original, &pan, &pvv).unwrap());
        let params = Ibm3624Params { decimalization_table: &table, validation_data: &data, pad_character: pad };
        let offset = ibm3624_offset(&pvk, &params, &original).unwrap();
        prop_assert_eq!(offset.len(), p.len());
        prop_assert!(ibm3624_pin_from_offset(&pvk, &params, &offset).unwrap().ct_eq(&original));
        prop_assert!(verify_ibm3624(&pvk, &params, &original, &offset).unwrap());
    }

    #[test]
    fn no_block_makes_a_decoder_panic(block in proptest::collection::vec(any::<u8>(), 0..40), pan in "[0-9]{0,21}", key in proptest::collection::vec(any::<u8>(), 0..40)) {
        let _ = decode_iso0(&block, &pan);
        let _ = decode_iso1(&block);
        let _ = decode_iso3(&block, &pan);
        let _ = decipher_iso4(&key, &block, &pan);
        let _ = legacy_pan(&pan);
    }

    #[test]
    fn no_input_makes_the_pin_methods_panic(
        pvk in proptest::collection::vec(any::<u8>(), 0..30),
        pvki in any::<u8>(),
        p in arb_pin(),
        pan in "[0-9A]{0,21}",
        table in "[0-9A]{0,17}",
        data in "[0-9A-G]{0,17}",
        pad in any::<char>(),
        offset in "[0-9x]{0,13}",
    ) {
        let p = Pin::new(&p).unwrap();
        let _ = visa_pvv(&pvk, pvki, &p, &pan);
        let _ = verify_visa_pvv(&pvk, pvki, &p, &pan, &offset);
        let params = Ibm3624Params { decimalization_table: &table, validation_data: &data, pad_character: pad };
        let _ = ibm3624_offset(&pvk, &params, &p);
        let _ = ibm3624_pin_from_offset(&pvk, &params, &offset);
        let _ = ibm3624_natural_pin(&pvk, &params, offset.len());
        let _ = verify_ibm3624(&pvk, &params, &p, &offset);
    }
}

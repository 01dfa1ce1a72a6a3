//! The CVV family, Mastercard CVC3 and Visa dCVV against published vectors, values computed
//! by independent implementations, and (for dCVV, the Discover dCVC and the cardholder
//! verification value, which have no public vector) round trips.

use paycrypt_cardcrypto::card_validation::{
    CVV2_SERVICE_CODE, ICVV_SERVICE_CODE, amex_csc_v1, amex_csc_v2, cardholder_verification_value,
    cvc3, cvv, dcvv, discover_dcvc, verify_amex_csc_v1, verify_amex_csc_v2,
    verify_cardholder_verification_value, verify_cvc3, verify_cvv, verify_dcvv,
    verify_discover_dcvc,
};
use proptest::prelude::*;

fn h(s: &str) -> Vec<u8> {
    hex::decode(s).expect("test vector is hex")
}

/// `value` with its last digit changed.
fn one_digit_off(value: &str) -> String {
    let last = value.as_bytes()[value.len() - 1] - b'0';
    format!("{}{}", &value[..value.len() - 1], (last + 1) % 10)
}

const KEY: &str = "0123456789ABCDEFFEDCBA9876543210";

#[test]
fn cvv_vectors() {
    // psec tests: CVK 9999999999999999 8888888888888888, PAN 2222222222222222, expiry 3333,
    // service code 111 -> 361. The others: psec 1.3.0 `cvv.generate_cvv(cvk, pan, expiry,
    // service_code)`.
    let cases = [
        (
            "99999999999999998888888888888888",
            "2222222222222222",
            "3333",
            "111",
            "361",
        ),
        (KEY, "4123456789012345", "8701", "101", "561"),
        (KEY, "4123456789012345", "8701", CVV2_SERVICE_CODE, "636"),
        (KEY, "4123456789012345", "8701", ICVV_SERVICE_CODE, "651"),
        (KEY, "5123456789012", "2512", "201", "869"),
        (KEY, "6011000990139424131", "3001", "120", "656"),
        // A 4-digit CVC: UrielYair/CredoraxCourse, CVCTest.java (worked example 1, with the
        // intermediate blocks): keys D676DCF3AFB73505 / 32EAF00EA253D875.
        (
            "D676DCF3AFB7350532EAF00EA253D875",
            "4123450990122129",
            "0721",
            "202",
            "2410",
        ),
    ];
    for (key, pan, expiry, sc, value) in cases {
        let key = h(key);
        assert_eq!(
            cvv(&key, pan, expiry, sc, value.len()).unwrap().as_str(),
            value
        );
        assert!(verify_cvv(&key, pan, expiry, sc, value).unwrap());
        assert!(!verify_cvv(&key, pan, expiry, sc, &one_digit_off(value)).unwrap());
    }
}

#[test]
fn cvv_lengths_and_inputs() {
    let key = h(KEY);
    let five = cvv(&key, "4123456789012345", "8701", "101", 5).unwrap();
    assert!(five.starts_with("561"));
    assert!(verify_cvv(&key, "4123456789012345", "8701", "101", &five).unwrap());
    assert!(verify_cvv(&key, "4123456789012345", "8701", "101", &five[..4]).unwrap());
    // Expiry used as given: swapping MMYY and YYMM changes the value.
    assert!(!verify_cvv(&key, "4123456789012345", "0187", "101", "561").unwrap());
    // Lengths outside 3..=5, malformed fields and key lengths are errors.
    assert!(cvv(&key, "4123456789012345", "8701", "101", 2).is_err());
    assert!(cvv(&key, "4123456789012345", "8701", "101", 6).is_err());
    assert!(verify_cvv(&key, "4123456789012345", "8701", "101", "56").is_err());
    assert!(cvv(&key, "412345678901", "870", "101", 3).is_err());
    assert!(cvv(&key, "41234567890", "8701", "101", 3).is_err());
    assert!(cvv(&key, "4123456789012345", "8701", "1a1", 3).is_err());
    assert!(cvv(&key[..8], "4123456789012345", "8701", "101", 3).is_err());
    // Three-key CVKs work (DES under K1, then TDES under the whole key).
    let k3 = h("0123456789ABCDEFFEDCBA987654321089ABCDEF01234567");
    let v = cvv(&k3, "4123456789012345", "8701", "101", 3).unwrap();
    assert!(verify_cvv(&k3, "4123456789012345", "8701", "101", &v).unwrap());
    // An error names the field, never its value.
    let err = cvv(&key, "4123456789012345", "87x1", "101", 3)
        .unwrap_err()
        .to_string();
    assert!(!err.contains("87x1"));
}

#[test]
fn cvc3_vectors() {
    // pyemv 1.5.0 `cvv.generate_cvc3(icc_cvc3, track_template, atc, un)`, with the ICC key
    // from `kd.derive_icc_mk_a(IMK 01234567899876543210012345678998, pan, psn)`. The first
    // case is pyemv's own docstring example (PAN 5123456789012345, PSN 00 -> 29488).
    let cases = [
        (
            "6D6425FB9401C21AA1F80451AB85DA3B",
            "5123456789012345D35121010000000000000F",
            "005E",
            "00000899",
            "29488",
        ),
        (
            "101C38BF23B9D3806E5BC1709EE3DF04",
            "5413330089010434D25122010000000000000F",
            "0001",
            "12345678",
            "49146",
        ),
        (
            "101C38BF23B9D3806E5BC1709EE3DF04",
            "5413330089010434D2512201000000000000",
            "FFFF",
            "00000000",
            "23476",
        ),
        (
            "101C38BF23B9D3806E5BC1709EE3DF04",
            "42353431333330303839303130343334",
            "0102",
            "99999999",
            "29058",
        ),
    ];
    for (key, track, atc, un, value) in cases {
        let key = h(key);
        assert_eq!(cvc3(&key, track, un, atc, 5).unwrap().as_str(), value);
        for len in 3..=5 {
            let short = &value[5 - len..];
            assert_eq!(cvc3(&key, track, un, atc, len).unwrap().as_str(), short);
            assert!(verify_cvc3(&key, track, un, atc, short).unwrap());
            assert!(!verify_cvc3(&key, track, un, atc, &one_digit_off(short)).unwrap());
        }
    }
    // Short UN and ATC are left-padded with zeros: "899" is 00000899 and "5E" is 005E.
    let key = h("6D6425FB9401C21AA1F80451AB85DA3B");
    let track = "5123456789012345D35121010000000000000F";
    assert_eq!(cvc3(&key, track, "899", "5E", 5).unwrap().as_str(), "29488");
    // An odd-length track template is padded with F.
    assert_eq!(
        cvc3(
            &key,
            "5123456789012345D35121010000000000000",
            "00000899",
            "005E",
            5
        )
        .unwrap()
        .as_str(),
        "29488"
    );
    assert!(cvc3(&key, track, "123456789", "005E", 3).is_err());
    assert!(cvc3(&key, track, "00000899", "0005E", 3).is_err());
    assert!(cvc3(&key, "", "00000899", "005E", 3).is_err());
    assert!(cvc3(&key[..8], track, "00000899", "005E", 3).is_err());
}

#[test]
fn dcvv_round_trips() {
    // No public vector exists for Visa dCVV: generate, verify, and a one-digit change fails.
    let key = h("2315208C9110AD402315208C9110AD40");
    let pan = "4761739001010010";
    let mut seen = std::collections::BTreeSet::new();
    for atc in ["0001", "0002", "0003", "32", "FFFF"] {
        for len in 3..=5 {
            let value = dcvv(&key, pan, "1220", "101", atc, len).unwrap();
            assert_eq!(value.len(), len);
            assert!(verify_dcvv(&key, pan, "1220", "101", atc, &value).unwrap());
            assert!(!verify_dcvv(&key, pan, "1220", "101", atc, &one_digit_off(&value)).unwrap());
            if len == 5 {
                seen.insert(value.to_string());
            }
        }
    }
    // The ATC changes the value.
    assert!(seen.len() > 1);
    // "32" is the counter 0x0032, the same as "0032".
    assert_eq!(
        dcvv(&key, pan, "1220", "101", "32", 3).unwrap().as_str(),
        dcvv(&key, pan, "1220", "101", "0032", 3).unwrap().as_str()
    );
    assert!(dcvv(&key, pan, "1220", "101", "10000", 3).is_err());
    assert!(dcvv(&key, pan, "1220", "101", "", 3).is_err());
}

#[test]
fn discover_dcvc_round_trips() {
    // No public vector exists for the Discover dCVC: generate, verify, a one-digit change
    // fails, and each dynamic input changes the code.
    let key = h("2315208C9110AD402315208C9110AD40");
    let pan = "6011000990139424";
    for len in 3..=5 {
        let value = discover_dcvc(&key, pan, "2812", "1A2B3C4D", "005E", len).unwrap();
        assert_eq!(value.len(), len);
        assert!(verify_discover_dcvc(&key, pan, "2812", "1A2B3C4D", "005E", &value).unwrap());
        let wrong = one_digit_off(&value);
        assert!(!verify_discover_dcvc(&key, pan, "2812", "1A2B3C4D", "005E", &wrong).unwrap());
    }
    // The longest PAN still fits the CVV algorithm's two blocks.
    let long_pan = "6011000990139424131";
    assert_eq!(
        discover_dcvc(&key, long_pan, "2812", "1A2B3C4D", "FFFF", 5)
            .unwrap()
            .len(),
        5
    );
    let code = |un: &str, atc: &str, expiry: &str| {
        discover_dcvc(&key, pan, expiry, un, atc, 5)
            .unwrap()
            .to_string()
    };
    let base = code("1A2B3C4D", "005E", "2812");
    let changed = [
        code("1A2B3C4E", "005E", "2812"),
        code("1A2B3C4D", "005F", "2812"),
        code("1A2B3C4D", "005E", "2901"),
    ];
    assert_eq!(
        changed.iter().filter(|c| **c == base).count(),
        0,
        "every input matters"
    );
    // Short inputs are left-padded numbers: "5E" is the ATC 0x005E, "1234" the UN 0x00001234.
    assert_eq!(code("1234", "5E", "2812"), code("00001234", "005E", "2812"));
    assert!(discover_dcvc(&key, pan, "2812", "123456789", "005E", 3).is_err());
    assert!(discover_dcvc(&key, pan, "2812", "1234", "10000", 3).is_err());
    assert!(discover_dcvc(&key, pan, "28X2", "1234", "005E", 3).is_err());
}

#[test]
fn cardholder_verification_value_round_trips() {
    // No public vector exists for the cardholder verification value: generate, verify, a
    // one-digit change fails, and each dynamic input changes the value.
    let key = h("2315208C9110AD402315208C9110AD40");
    let pan = "4761739001010010";
    for len in 3..=5 {
        let value = cardholder_verification_value(&key, pan, "0A0B0C0D", "0001", len).unwrap();
        assert_eq!(value.len(), len);
        assert!(
            verify_cardholder_verification_value(&key, pan, "0A0B0C0D", "0001", &value).unwrap()
        );
        let wrong = one_digit_off(&value);
        assert!(
            !verify_cardholder_verification_value(&key, pan, "0A0B0C0D", "0001", &wrong).unwrap()
        );
    }
    let value = |un: &str, atc: &str| {
        cardholder_verification_value(&key, pan, un, atc, 5)
            .unwrap()
            .to_string()
    };
    let base = value("0A0B0C0D", "0001");
    assert_ne!(base, value("0A0B0C0E", "0001"));
    assert_ne!(base, value("0A0B0C0D", "0002"));
    assert_eq!(value("A0B0C0D", "1"), value("0A0B0C0D", "0001"));
    assert!(cardholder_verification_value(&key, "47617390", "0A0B0C0D", "0001", 3).is_err());
    assert!(cardholder_verification_value(&key, pan, "", "0001", 3).is_err());
    assert!(cardholder_verification_value(&key, pan, "0A0B0C0D", "0001", 6).is_err());
}

#[test]
fn amex_csc_round_trips() {
    // No public vector exists for American Express CSC version 1 or 2: generate, verify, a
    // one-digit change fails, and the inputs each matter.
    let key = h(KEY);
    for pan in ["344131234567848", "371449635398431"] {
        for len in 3..=5 {
            let v1 = amex_csc_v1(&key, pan, "1224", len).unwrap();
            assert_eq!(v1.len(), len);
            assert!(verify_amex_csc_v1(&key, pan, "1224", &v1).unwrap());
            assert!(!verify_amex_csc_v1(&key, pan, "1224", &one_digit_off(&v1)).unwrap());
            let v2 = amex_csc_v2(&key, pan, "1224", "201", len).unwrap();
            assert_eq!(v2.len(), len);
            assert!(verify_amex_csc_v2(&key, pan, "1224", "201", &v2).unwrap());
            assert!(!verify_amex_csc_v2(&key, pan, "1224", "201", &one_digit_off(&v2)).unwrap());
        }
        assert_ne!(
            amex_csc_v1(&key, pan, "1224", 5).unwrap().as_str(),
            amex_csc_v1(&key, pan, "1225", 5).unwrap().as_str()
        );
        assert_ne!(
            amex_csc_v2(&key, pan, "1224", "201", 5).unwrap().as_str(),
            amex_csc_v2(&key, pan, "1224", "999", 5).unwrap().as_str()
        );
    }
    assert!(amex_csc_v1(&key, "3441312345678", "1224", 3).is_err());
    assert!(amex_csc_v1(&key, "344131234567848", "1224", 6).is_err());
    assert!(amex_csc_v2(&key, "344131234567848", "1224", "20", 3).is_err());
}

proptest! {
    #[test]
    fn no_input_makes_card_codes_panic(
        key in proptest::collection::vec(any::<u8>(), 0..30),
        pan in "[0-9a]{0,21}",
        expiry in "[0-9]{0,5}",
        sc in "[0-9]{0,4}",
        track in "[0-9A-Fa-fG]{0,170}",
        un in "[0-9A-F]{0,9}",
        atc in "[0-9A-Fx]{0,5}",
        len in 0usize..8,
        value in "[0-9]{0,6}",
    ) {
        let _ = cvv(&key, &pan, &expiry, &sc, len);
        let _ = verify_cvv(&key, &pan, &expiry, &sc, &value);
        let _ = cvc3(&key, &track, &un, &atc, len);
        let _ = verify_cvc3(&key, &track, &un, &atc, &value);
        let _ = dcvv(&key, &pan, &expiry, &sc, &atc, len);
        let _ = verify_dcvv(&key, &pan, &expiry, &sc, &atc, &value);
        let _ = discover_dcvc(&key, &pan, &expiry, &un, &atc, len);
        let _ = verify_discover_dcvc(&key, &pan, &expiry, &un, &atc, &value);
        let _ = cardholder_verification_value(&key, &pan, &un, &atc, len);
        let _ = verify_cardholder_verification_value(&key, &pan, &un, &atc, &value);
        let _ = amex_csc_v1(&key, &pan, &expiry, len);
        let _ = verify_amex_csc_v1(&key, &pan, &expiry, &value);
        let _ = amex_csc_v2(&key, &pan, &expiry, &sc, len);
        let _ = verify_amex_csc_v2(&key, &pan, &expiry, &sc, &value);
    }

    #[test]
    fn cvv_generate_then_verify(pan in "[0-9]{12,19}", expiry in "[0-9]{4}", sc in "[0-9]{3}", len in 3usize..=5) {
        let key = h(KEY);
        let value = cvv(&key, &pan, &expiry, &sc, len).unwrap();
        prop_assert!(verify_cvv(&key, &pan, &expiry, &sc, &value).unwrap());
        prop_assert!(!verify_cvv(&key, &pan, &expiry, &sc, &one_digit_off(&value)).unwrap());
    }
}

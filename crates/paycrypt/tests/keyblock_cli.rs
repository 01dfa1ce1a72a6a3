//! `paycrypt keyblock` as a user runs it: the built binary, its standard output, standard
//! error and exit status.

use std::process::{Command, Output};

use serde_json::{Value, json};

fn paycrypt(args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_paycrypt"))
        .arg("keyblock")
        .args(args)
        .output()
        .expect("run paycrypt")
}

/// Runs a command that must succeed; returns its standard output without the newline.
fn ok(args: &[&str]) -> String {
    let out = paycrypt(args);
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(out.status.success(), "{args:?} failed: {stderr}");
    assert!(stderr.is_empty(), "{args:?} wrote to stderr: {stderr}");
    String::from_utf8(out.stdout)
        .unwrap()
        .trim_end_matches('\n')
        .to_owned()
}

/// Runs a command that must fail cleanly; returns its standard error. `secrets` must not
/// appear in anything the command printed.
fn fails(args: &[&str], secrets: &[&str]) -> String {
    let out = paycrypt(args);
    let stdout = String::from_utf8_lossy(&out.stdout).into_owned();
    let stderr = String::from_utf8_lossy(&out.stderr).into_owned();
    assert!(!out.status.success(), "{args:?} succeeded: {stdout}");
    assert_eq!(out.status.code(), Some(1), "{args:?}: {stderr}");
    assert!(stdout.is_empty(), "{args:?} printed {stdout}");
    assert!(stderr.starts_with("paycrypt: "), "{stderr}");
    assert!(!stderr.contains("panicked"), "{stderr}");
    for secret in secrets {
        assert!(
            !stderr.to_uppercase().contains(&secret.to_uppercase()),
            "{args:?}: stderr shows key material: {stderr}"
        );
    }
    stderr
}

fn json(text: &str) -> Value {
    serde_json::from_str(text).unwrap_or_else(|e| panic!("not JSON ({e}): {text}"))
}

// The known check from the project's reference notes (tr31-kcv.md); also checked in
// paycrypt-keyblock's kcv tests.
#[test]
fn kcv_known_value() {
    let key = "0123456789ABCDEFFEDCBA9876543210";
    assert_eq!(
        ok(&["kcv", "--algorithm", "ANSI_X9_24", "--key", key]),
        "08D7B4"
    );
    assert_eq!(
        ok(&[
            "kcv",
            "--algorithm",
            "ANSI_X9_24",
            "--key",
            &key.to_lowercase()
        ]),
        "08D7B4"
    );
    assert_eq!(
        ok(&[
            "kcv",
            "--algorithm",
            "ANSI_X9_24",
            "--key",
            key,
            "--key-algorithm",
            "TDES"
        ]),
        "08D7B4"
    );
}

// Values computed independently with python3 `cryptography` (see paycrypt-keyblock's kcv
// unit tests, which hold the same numbers).
#[test]
fn kcv_cmac_and_hmac() {
    let aes = "2b7e151628aed2a6abf7158809cf4f3c"; // NIST SP 800-38B appendix D key
    assert_eq!(ok(&["kcv", "--algorithm", "CMAC", "--key", aes]), "7AD386");
    assert_eq!(
        ok(&[
            "kcv",
            "--algorithm",
            "CMAC",
            "--key",
            aes,
            "--key-algorithm",
            "AES"
        ]),
        "7AD386"
    );
    let tdes = "0123456789ABCDEFFEDCBA9876543210";
    assert_eq!(
        ok(&[
            "kcv",
            "--algorithm",
            "CMAC",
            "--key",
            tdes,
            "--key-algorithm",
            "TDES"
        ]),
        "0A8245"
    );
    let hmac_key: String = (0u8..32).map(|b| format!("{b:02X}")).collect();
    assert_eq!(
        ok(&["kcv", "--algorithm", "HMAC", "--key", &hmac_key]),
        "D38B42"
    );
    for (alg, kcv) in [
        ("HMAC_SHA224", "2A7430"),
        ("HMAC_SHA256", "D38B42"),
        ("HMAC_SHA384", "8F8683"),
        ("HMAC_SHA512", "B04A70"),
    ] {
        assert_eq!(
            ok(&[
                "kcv",
                "--algorithm",
                "HMAC",
                "--key",
                &hmac_key,
                "--key-algorithm",
                alg
            ]),
            kcv,
            "{alg}"
        );
    }
}

#[test]
fn kcv_errors() {
    let key = "0123456789ABCDEFFEDCBA9876543210";
    fails(
        &[
            "kcv",
            "--algorithm",
            "ANSI_X9_24",
            "--key",
            key,
            "--key-algorithm",
            "AES",
        ],
        &[key],
    );
    fails(
        &[
            "kcv",
            "--algorithm",
            "HMAC",
            "--key",
            key,
            "--key-algorithm",
            "TDES",
        ],
        &[key],
    );
    fails(
        &[
            "kcv",
            "--algorithm",
            "CMAC",
            "--key",
            key,
            "--key-algorithm",
            "HMAC_SHA256",
        ],
        &[key],
    );
    // Wrong length for TDES, bad hex, odd length, empty.
    let e = fails(
        &[
            "kcv",
            "--algorithm",
            "ANSI_X9_24",
            "--key",
            "0123456789ABCDEF",
        ],
        &["0123456789ABCDEF"],
    );
    assert!(e.contains("length"), "{e}");
    let bad = "0123456789ABCDEFFEDCBA987654321Z";
    let e = fails(
        &["kcv", "--algorithm", "ANSI_X9_24", "--key", bad],
        &["0123456789", "FEDCBA"],
    );
    assert!(e.contains("--key is not hexadecimal"), "{e}");
    fails(
        &[
            "kcv",
            "--algorithm",
            "ANSI_X9_24",
            "--key",
            "0123456789ABCDEFFEDCBA987654321",
        ],
        &["0123456789ABCDEF"],
    );
    fails(&["kcv", "--algorithm", "ANSI_X9_24", "--key", ""], &[]);
}

/// ASC X9 TR-31:2018 A.7.2.2, example 1b (key derivation binding), as cited in
/// crates/keyblock/tests/tr31_vectors.rs.
const EXAMPLE_1B_KBPK: &str = "DD7515F2BFC17F85CE48F3CA25CB21F6";
const EXAMPLE_1B_KEY: &str = "3F419E1CB7079442AA37474C2EFBF8B8";
const EXAMPLE_1B_BLOCK: &str =
    "B0080P0TE00E000094B420079CC80BA3461F86FE26EFC4A3B8E4FA4C5F5341176EED7B727B8A248E";

#[test]
fn unwrap_published_tdes_vector() {
    let out = json(&ok(&[
        "tr31",
        "unwrap",
        "--kbpk",
        EXAMPLE_1B_KBPK,
        EXAMPLE_1B_BLOCK,
    ]));
    // KCV: TDES-ECB of zeros under the key, computed with python3 `cryptography`.
    assert_eq!(
        out,
        json!({
            "header": {
                "version": "B",
                "key_usage": "P0",
                "algorithm": "T",
                "mode_of_use": "E",
                "key_version": "00",
                "exportability": "E",
                "optional_blocks": [],
            },
            "key": EXAMPLE_1B_KEY,
            "kcv": "57C409",
        })
    );
}

/// ASC X9 TR-31:2018 A.7.3.1, example 2a (version C, KS optional block), and ANSI
/// X9.143:2021 8.2 / ISO 20038:2023 8.2 (version D, optional blocks, PB padding), as cited
/// in crates/keyblock/tests/tr31_vectors.rs.
#[test]
fn unwrap_published_vectors_with_optional_blocks() {
    let out = json(&ok(&[
        "tr31",
        "unwrap",
        "--kbpk",
        "B8ED59E0A279A295E9F5ED7944FD06B9",
        "C0096B0TX12S0100KS1800604B120F9292800000BFB9B689CB567E66FC3FEE5AD5F52161FC6545B9D60989015D02155C",
    ]));
    assert_eq!(out["header"]["version"], "C");
    assert_eq!(out["header"]["key_usage"], "B0");
    assert_eq!(out["header"]["mode_of_use"], "X");
    assert_eq!(out["header"]["key_version"], "12");
    assert_eq!(out["header"]["exportability"], "S");
    assert_eq!(
        out["header"]["optional_blocks"],
        json!([{"id": "KS", "data": "00604B120F9292800000"}])
    );
    assert_eq!(out["key"], "EDB380DD340BC2620247D445F5B8D678");
    assert_eq!(out["kcv"], "F4B08D");

    let out = json(&ok(&[
        "tr31",
        "unwrap",
        "--kbpk",
        "E38331FBACE33F0B8694ABA5DC611CA20831949FEB8988102147291578F704E1",
        "D0192C0AVA1N0300KS08VM9ATS1A2018-06-18T20:42:39.22PB0E00000000005FDAFA00A1E84F599C2EB51A1F7A767D5E42314F0E84A3FC1A7B84C1DE81114659E6306AD544208F68F15602BD3E12DA0C7F9FC551F1C8E6385FAFC1F7B499F5",
    ]));
    assert_eq!(
        out["header"],
        json!({
            "version": "D",
            "key_usage": "C0",
            "algorithm": "A",
            "mode_of_use": "V",
            "key_version": "A1",
            "exportability": "N",
            "optional_blocks": [
                {"id": "KS", "data": "VM9A"},
                {"id": "TS", "data": "2018-06-18T20:42:39.22"},
            ],
        })
    );
    assert_eq!(
        out["key"],
        "8C326037F8910BBFDBC267E5101DFBF9480433028D5E67B34673440F8ACEC972"
    );
    // AES-CMAC of a zero block under the key, computed with python3 `cryptography`.
    assert_eq!(out["kcv"], "9B507A");
}

#[test]
fn wrap_round_trips_with_and_without_masking() {
    let cases = [
        // (KBPK, header, key, masked length prefix, unmasked length prefix)
        (
            EXAMPLE_1B_KBPK,
            "B0000P0TE00E0000",
            EXAMPLE_1B_KEY,
            "B0096",
            "B0080",
        ),
        (
            "88E1AB2A2E3DD38C1FA039A536500CC8A87AB9D62DC92C01058FA79F44657DE6",
            "D0000P0AE00E0000",
            "3F419E1CB7079442AA37474C2EFBF8B8",
            "D0144",
            "D0112",
        ),
    ];
    for (kbpk, header, key, masked, unmasked) in cases {
        let block = ok(&[
            "tr31", "wrap", "--kbpk", kbpk, "--header", header, "--key", key,
        ]);
        assert!(block.starts_with(masked), "{block}");
        assert_eq!(&block[5..16], &header[5..16]);
        let plain = ok(&[
            "tr31",
            "wrap",
            "--kbpk",
            kbpk,
            "--header",
            header,
            "--key",
            key,
            "--no-mask",
        ]);
        assert!(plain.starts_with(unmasked), "{plain}");
        for b in [&block, &plain] {
            let out = json(&ok(&["tr31", "unwrap", "--kbpk", kbpk, b]));
            assert_eq!(out["key"], key);
        }
    }
}

#[test]
fn wrap_keeps_optional_blocks_and_key_version() {
    let kbpk = "89E88CF7931444F334BD7547FC3F380C";
    let key = "F039121BEC83D26B169BDCD5B22AAF8F";
    let block = ok(&[
        "tr31",
        "wrap",
        "--kbpk",
        kbpk,
        "--header",
        "B0000P0TE12N0200KS1800604B120F9292800000T20600",
        "--key",
        key,
    ]);
    // 16 + 24 + 6 = 46 header characters: a PB block of 10 pads to 56.
    assert!(
        block.starts_with("B0136P0TE12N0300KS1800604B120F9292800000T20600PB0A000000"),
        "{block}"
    );
    let out = json(&ok(&["tr31", "unwrap", "--kbpk", kbpk, &block]));
    assert_eq!(out["header"]["key_version"], "12");
    assert_eq!(out["header"]["exportability"], "N");
    assert_eq!(
        out["header"]["optional_blocks"],
        json!([
            {"id": "KS", "data": "00604B120F9292800000"},
            {"id": "T2", "data": "00"},
        ])
    );
    assert_eq!(out["key"], key);
}

#[test]
fn unwrap_errors_exit_cleanly() {
    // Wrong KBPK: the MAC does not verify.
    // (Differs in more than parity bits: DES ignores the low bit of each byte.)
    let wrong = "DD7515F2BFC17F85CE48F3CA25CB2100";
    let e = fails(
        &["tr31", "unwrap", "--kbpk", wrong, EXAMPLE_1B_BLOCK],
        &[wrong, EXAMPLE_1B_KEY],
    );
    assert!(e.contains("MAC does not verify"), "{e}");

    // One altered character of the encrypted key.
    let mut altered = EXAMPLE_1B_BLOCK.to_owned();
    altered.replace_range(20..21, "0");
    let e = fails(
        &["tr31", "unwrap", "--kbpk", EXAMPLE_1B_KBPK, &altered],
        &[EXAMPLE_1B_KBPK, EXAMPLE_1B_KEY],
    );
    assert!(e.contains("MAC does not verify"), "{e}");

    // Bad hex KBPK.
    let bad = "DD7515F2BFC17F85CE48F3CA25CB21FG";
    let e = fails(
        &["tr31", "unwrap", "--kbpk", bad, EXAMPLE_1B_BLOCK],
        &["DD7515F2BFC17F85"],
    );
    assert!(e.contains("--kbpk is not hexadecimal"), "{e}");

    // KBPK length not allowed for the version.
    let e = fails(
        &[
            "tr31",
            "unwrap",
            "--kbpk",
            "00112233445566778899AABBCCDDEEFF0011223344556677AABBCCDDEEFF0011",
            EXAMPLE_1B_BLOCK,
        ],
        &["00112233445566778899"],
    );
    assert!(e.contains("KBPK of 32 bytes"), "{e}");

    // Length field that does not match, and a non-TR-31 block.
    fails(
        &[
            "tr31",
            "unwrap",
            "--kbpk",
            EXAMPLE_1B_KBPK,
            &EXAMPLE_1B_BLOCK[..70],
        ],
        &[EXAMPLE_1B_KBPK],
    );
    let e = fails(
        &["tr31", "unwrap", "--kbpk", EXAMPLE_1B_KBPK, "308201"],
        &[EXAMPLE_1B_KBPK],
    );
    assert!(e.contains("not a TR-31 key block"), "{e}");
}

#[test]
fn wrap_errors_exit_cleanly() {
    let kbpk = EXAMPLE_1B_KBPK;
    let key = EXAMPLE_1B_KEY;
    // Bad key hex, bad header, AES KBPK length for a TDES version, empty key.
    let e = fails(
        &[
            "tr31",
            "wrap",
            "--kbpk",
            kbpk,
            "--header",
            "B0000P0TE00E0000",
            "--key",
            "3F41XX",
        ],
        &[kbpk, "3F41"],
    );
    assert!(e.contains("--key is not hexadecimal"), "{e}");
    for header in [
        "B0000P0TE00E000",
        "Z0000P0TE00E0000",
        "B0000P0QE00E0000",
        "B0000P0TE00E0100",
        "B0000P0TE00E0000KS0800",
    ] {
        let e = fails(
            &[
                "tr31", "wrap", "--kbpk", kbpk, "--header", header, "--key", key,
            ],
            &[kbpk, key],
        );
        assert!(e.contains("invalid --header"), "{header}: {e}");
    }
    let e = fails(
        &[
            "tr31",
            "wrap",
            "--kbpk",
            "88E1AB2A2E3DD38C1FA039A536500CC8A87AB9D62DC92C01058FA79F44657DE6",
            "--header",
            "B0000P0TE00E0000",
            "--key",
            key,
        ],
        &["88E1AB2A2E3DD38C", key],
    );
    assert!(e.contains("KBPK of 32 bytes"), "{e}");
}

#[test]
fn inspect_describes_the_header_without_keys() {
    let out = json(&ok(&[
        "inspect",
        "C0096B0TX12S0100KS1800604B120F9292800000BFB9B689CB567E66FC3FEE5AD5F52161FC6545B9D60989015D02155C",
    ]));
    assert_eq!(
        out,
        json!({
            "format": "TR-31",
            "length": 96,
            "header": {
                "version": "C",
                "key_usage": "B0",
                "algorithm": "T",
                "mode_of_use": "X",
                "key_version": "12",
                "exportability": "S",
                "key_context": "0",
                "optional_blocks": [{"id": "KS", "data": "00604B120F9292800000"}],
            },
        })
    );
    // Inspect does not authenticate: an altered payload still shows its header.
    let mut altered = EXAMPLE_1B_BLOCK.to_owned();
    altered.replace_range(20..21, "0");
    let out = json(&ok(&["inspect", &altered]));
    assert_eq!(out["header"]["version"], "B");
    assert!(out.get("key").is_none());
}

#[test]
fn inspect_errors() {
    let e = fails(
        &[
            "inspect",
            "30820122300D06092A864886F70D01010105000382010F00",
        ],
        &[],
    );
    assert!(e.contains("not a TR-31 key block"), "{e}");
    let e = fails(&["inspect", "B0099P0TE00E0000"], &[]);
    assert!(e.contains("invalid TR-31 key block"), "{e}");
    fails(&["inspect", ""], &[]);
}

/// A real AWS Payment Cryptography TR-34 block, from the AWS CLI `import-key` example (see
/// crates/keyblock/tests/fixtures/README.md): uppercase hex of the DER, as on the wire.
const AWS_IMPORT_TR34: &str =
    include_str!("../../keyblock/tests/fixtures/aws_cli_import_key_tr34.hex");

/// The AWS account CA that issued both certificates of the example, in RFC 4514 order.
const AWS_ISSUER: &str =
    "L=Arlington,CN=529027455495,ST=Virginia,OU=AWS Payment Cryptography,O=AWS Cryptography,C=US";

// The values are those paycrypt-keyblock's tr34 tests check for the same block
// (real_aws_import_block_parses_and_verifies); the KRD issuer was read with
// `openssl asn1parse` from the block's RecipientInfo.
#[test]
fn inspect_describes_a_real_aws_tr34_block() {
    let expected = json!({
        "format": "TR-34",
        "layout": "AWS",
        "kdh": {"issuer": AWS_ISSUER, "serial": "69E07E9C794C55E30E1956FAE7909BB0"},
        "krd": {"issuer": AWS_ISSUER, "serial": "26C5E52507841B72C59D9F0065548DC1"},
        "header": "D0112C0TC00E0000",
        "freshness": {"signing_time": "2023-06-09T23:39:46Z"},
        "content_cipher": "des-ede3-cbc",
        "key_transport": "RSAES-OAEP (SHA-256, MGF1-SHA-256, empty label)",
    });
    let block = AWS_IMPORT_TR34.trim();
    assert_eq!(json(&ok(&["inspect", block])), expected);
    // Lower case hex and surrounding whitespace are accepted too.
    let lower = format!(" {}\n", block.to_lowercase());
    assert_eq!(json(&ok(&["inspect", &lower])), expected);
}

/// The TR-34-2019 annex B two-pass sample (B.9, as corrected by the 2019 corrigendum), in
/// the standard's CMS layout (see crates/keyblock/tests/fixtures/README.md).
const ANNEX_B_TWO_PASS: &str =
    include_str!("../../keyblock/tests/fixtures/tr34_2019_b9_two_pass_corrigendum.hex");

// The values are those the annex prints (KDH 1 and KRD 1, the B.12 random number, the
// header of B.2.2.2.1), as paycrypt-keyblock's tr34_annex_b tests check them.
#[test]
fn inspect_describes_a_tr34_2019_annex_b_block() {
    let expected = json!({
        "format": "TR-34",
        "layout": "CMS",
        "kdh": {"issuer": "CN=TR34 Sample CA KDH,O=TR34 Samples,C=US", "serial": "3400000006"},
        "krd": {"issuer": "CN=TR34 Sample CA KRD,O=TR34 Samples,C=US", "serial": "3400000007"},
        "header": "A0256K0TB00E0000",
        "freshness": {"random_nonce": "167EB0E72781E4940112233445566778"},
        "content_cipher": "des-ede3-cbc",
        "key_transport": "RSAES-OAEP (SHA-256, MGF1-SHA-256, empty label)",
    });
    assert_eq!(json(&ok(&["inspect", ANNEX_B_TWO_PASS.trim()])), expected);
}

#[test]
fn inspect_rejects_hex_that_is_not_a_tr34_block() {
    let block = AWS_IMPORT_TR34.trim();
    // (Hex starting with A to D reads as a TR-31 version; DER starts with 30.)
    for garbage in [
        "0BADBEEF",
        "3082",
        "00",
        // The real block cut short, and with its outer SEQUENCE tag changed.
        &block[..block.len() / 2],
        &format!("31{}", &block[2..]),
    ] {
        let e = fails(&["inspect", garbage], &[]);
        assert!(
            e.contains("not a TR-31 key block, and not a TR-34 key block"),
            "{garbage}: {e}"
        );
    }
    // An odd number of hex digits.
    let e = fails(&["inspect", &block[..block.len() - 1]], &[]);
    assert!(e.contains("odd number of hex digits"), "{e}");
    // Neither a TR-31 version nor hex.
    let e = fails(&["inspect", "30XYZ"], &[]);
    assert!(e.contains("nor hex of a TR-34 key block"), "{e}");
}

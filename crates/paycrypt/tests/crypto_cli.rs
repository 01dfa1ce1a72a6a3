//! `paycrypt crypto` as a user runs it: the built binary with the key in a file or on standard
//! input, checked against published test vectors.

use std::io::Write;
use std::process::{Command, Output, Stdio};

/// Runs `paycrypt crypto ARGS` with `stdin` on standard input.
fn paycrypt(args: &[&str], stdin: &str) -> Output {
    let mut child = Command::new(env!("CARGO_BIN_EXE_paycrypt"))
        .arg("crypto")
        .args(args)
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("run paycrypt");
    child
        .stdin
        .take()
        .unwrap()
        .write_all(stdin.as_bytes())
        .unwrap();
    child.wait_with_output().unwrap()
}

/// The standard output of a command that must succeed, without its newline.
fn ok(args: &[&str], stdin: &str) -> String {
    let out = paycrypt(args, stdin);
    assert!(
        out.status.success(),
        "{args:?}: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8(out.stdout).unwrap().trim_end().to_owned()
}

fn key_file(hex: &str) -> tempfile::NamedTempFile {
    let mut file = tempfile::NamedTempFile::new().unwrap();
    writeln!(file, "  {hex}  ").unwrap();
    file
}

#[test]
fn retail_mac_of_the_iso_9797_1_annex_b_example_from_a_key_file() {
    // ISO/IEC 9797-1:2011 annex B.4: MAC algorithm 3, padding method 1 (data already whole blocks).
    let key = key_file("0123456789ABCDEFFEDCBA9876543210");
    let path = key.path().to_str().unwrap();
    let data = hex::encode(b"Now is the time for all ");
    let mac = ok(
        &[
            "mac",
            "--algorithm",
            "ISO9797_ALGORITHM3",
            "--key-file",
            path,
            &data,
        ],
        "",
    );
    assert_eq!(mac, "A1C72E74EA3FA9B6");
    let short = ok(
        &[
            "mac",
            "--algorithm",
            "ISO9797_ALGORITHM3",
            "--mac-length",
            "4",
            "--key-file",
            path,
            &data,
        ],
        "",
    );
    assert_eq!(short, "A1C72E74");
}

#[test]
fn hmac_sha256_of_rfc_4231_test_case_2_with_the_key_on_stdin() {
    // RFC 4231 section 4.3: key "Jefe", data "what do ya want for nothing?".
    let mac = ok(
        &[
            "mac",
            "--algorithm",
            "HMAC_SHA256",
            "--key-file",
            "-",
            &hex::encode(b"what do ya want for nothing?"),
        ],
        &hex::encode(b"Jefe"),
    );
    assert_eq!(
        mac,
        "5BDCC146BF60754E6A042426089575C75A003F089D2739839DEC58B964EC3843"
    );
}

#[test]
fn aes_cbc_of_nist_sp_800_38a_f_2_1_and_back() {
    // NIST SP 800-38A appendix F.2.1 (CBC-AES128.Encrypt), first block.
    let key = key_file("2b7e151628aed2a6abf7158809cf4f3c");
    let path = key.path().to_str().unwrap();
    let iv = "000102030405060708090a0b0c0d0e0f";
    let cipher_text = ok(
        &[
            "encrypt",
            "--cipher",
            "aes",
            "--mode",
            "CBC",
            "--iv",
            iv,
            "--key-file",
            path,
            "6bc1bee22e409f96e93d7e117393172a",
        ],
        "",
    );
    assert_eq!(cipher_text, "7649ABAC8119B246CEE98E9B12E9197D");
    let plain = ok(
        &[
            "decrypt",
            "--cipher",
            "aes",
            "--mode",
            "CBC",
            "--iv",
            iv,
            "--key-file",
            path,
            &cipher_text,
        ],
        "",
    );
    assert_eq!(plain, "6BC1BEE22E409F96E93D7E117393172A");
}

#[test]
fn cmac_of_nist_sp_800_38b_d_1_example_2() {
    // NIST SP 800-38B appendix D.1 (AES-128), example 2: one block of message.
    let mac = ok(
        &[
            "mac",
            "--algorithm",
            "CMAC",
            "--cipher",
            "aes",
            "--key-file",
            "-",
            "6bc1bee22e409f96e93d7e117393172a",
        ],
        "2b7e151628aed2a6abf7158809cf4f3c",
    );
    assert_eq!(mac, "070A16B46B4D4144F79BDD9DD04A287C");
}

#[test]
fn refusals_name_the_problem_and_never_the_key() {
    let secret = "0123456789ABCDEFFEDCBA9876543210";
    let key = key_file(secret);
    let path = key.path().to_str().unwrap();
    for (args, words) in [
        (
            vec![
                "encrypt",
                "--cipher",
                "tdes",
                "--mode",
                "CBC",
                "--key-file",
                path,
                "00",
            ],
            "multiple of 8",
        ),
        (
            vec!["mac", "--algorithm", "CMAC", "--key-file", path, "00"],
            "--cipher",
        ),
        (
            vec![
                "mac",
                "--algorithm",
                "HMAC_SHA256",
                "--key-file",
                "/nonexistent/key",
                "00",
            ],
            "key file",
        ),
        (
            vec![
                "mac",
                "--algorithm",
                "ISO9797_ALGORITHM1",
                "--key-file",
                path,
                "0011",
            ],
            "multiple of 8 bytes",
        ),
    ] {
        let out = paycrypt(&args, "");
        let stderr = String::from_utf8_lossy(&out.stderr);
        assert!(!out.status.success(), "{args:?} succeeded");
        assert!(stderr.contains(words), "{args:?}: {stderr}");
        assert!(!stderr.to_uppercase().contains(secret), "{stderr}");
        assert!(!stderr.contains("panicked"), "{stderr}");
    }
}

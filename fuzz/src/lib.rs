//! The fuzz targets of paycrypt, as plain functions over bytes: each takes one input from the
//! fuzzer, feeds it to the parsers of outside bytes it covers (or, for [`data_ops`], to the
//! service's data-plane operations), and panics only when a property breaks (a parser or an
//! operation itself panicking, or a round trip that does not come back the same). The libFuzzer
//! binaries in `fuzz_targets/` are one line each around these.
//!
//! | function | what it feeds |
//! |---|---|
//! | [`tr31`] | TR-31 header parsing and unwrapping under a KBPK taken from the input; re-wrapping what unwraps |
//! | [`tr34_inspect`] | TR-34 inspection, and verification against the real AWS signing certificate |
//! | [`tr34_open`] | TR-34 opening with fixed KRD/KDH keys, and build-then-open round trips |
//! | [`certificate`] | certificate parsing from DER and from the base64-of-PEM wire form, chain checks |
//! | [`api_decode`] | `decode_input` for every operation, and the round trip of what decodes |
//! | [`data_decode`] | the data plane's `data::decode_input` (body and path labels), and the round trip of what decodes |
//! | [`data_ops`] | data-plane requests that decode, run by the service against one key of each kind |
//! | [`sigv4`] | SigV4 verification of a request written as text |
//!
//! Input layouts are documented on each function; the seed corpora in `seeds/` follow them.

mod data_ops;

pub use data_ops::{data_ops, data_ops_setup};

use std::collections::HashMap;
use std::sync::LazyLock;
use std::time::{Duration, UNIX_EPOCH};

use paycrypt_keyblock::rand_core::{Infallible, TryCryptoRng, TryRng};
use paycrypt_keyblock::tr31;
use paycrypt_keyblock::tr34::{self, BuildParams, ContentCipher, Freshness, SigningTime};

/// A deterministic byte stream standing in for randomness, so that every fuzz input replays
/// exactly (wrap padding, IVs and content keys come from it).
struct CountingRng(u8);

impl TryRng for CountingRng {
    type Error = Infallible;

    fn try_next_u32(&mut self) -> Result<u32, Infallible> {
        let mut b = [0u8; 4];
        self.try_fill_bytes(&mut b)?;
        Ok(u32::from_le_bytes(b))
    }

    fn try_next_u64(&mut self) -> Result<u64, Infallible> {
        let mut b = [0u8; 8];
        self.try_fill_bytes(&mut b)?;
        Ok(u64::from_le_bytes(b))
    }

    fn try_fill_bytes(&mut self, dst: &mut [u8]) -> Result<(), Infallible> {
        for d in dst {
            self.0 = self.0.wrapping_mul(31).wrapping_add(7);
            *d = self.0;
        }
        Ok(())
    }
}

impl TryCryptoRng for CountingRng {}

/// Splits a length-prefixed field off the front: the first byte (modulo `max + 1`) is the
/// field's length.
fn take_prefixed(data: &[u8], max: usize) -> (&[u8], &[u8]) {
    let Some((&n, rest)) = data.split_first() else {
        return (&[], &[]);
    };
    let n = (n as usize % (max + 1)).min(rest.len());
    rest.split_at(n)
}

/// TR-31. Input: one length byte `n` (modulo 33), `n` bytes of KBPK, then the key block text
/// (invalid UTF-8 is replaced). Parses the header, unwraps; a block that unwraps must parse
/// to the same header, and wrapping its key again under the same header must unwrap to the
/// same header and key.
pub fn tr31(data: &[u8]) {
    let (kbpk, block) = take_prefixed(data, 32);
    let block = String::from_utf8_lossy(block);
    let parsed = tr31::Header::parse(&block);
    let Ok((header, key)) = tr31::unwrap(kbpk, &block) else {
        return;
    };
    assert_eq!(
        parsed.as_ref().ok(),
        Some(&header),
        "unwrap accepted what parse refused"
    );
    let options = tr31::WrapOptions::default();
    let again = tr31::wrap(kbpk, &header, key.expose(), options, &mut CountingRng(1))
        .expect("a key that unwrapped wraps again under its header");
    let (header2, key2) = tr31::unwrap(kbpk, &again).expect("a fresh block unwraps");
    assert_eq!(header2, header);
    assert_eq!(key2.expose(), key.expose());
}

/// The KDH signing certificate of the AWS CLI `import-key` example (a real AWS block's
/// signer; see `crates/keyblock/tests/fixtures/README.md`).
static AWS_KDH_CERT: LazyLock<Vec<u8>> = LazyLock::new(|| {
    hex::decode(
        include_str!("../../crates/keyblock/tests/fixtures/aws_cli_import_key_kdh_cert.hex").trim(),
    )
    .expect("fixture is hex")
});

/// TR-34 inspection. Input: the block's DER. Inspects it, and verifies it against the
/// signer of the real AWS block in the seeds; verification may only succeed on a block that
/// inspects to the same facts.
pub fn tr34_inspect(data: &[u8]) {
    let inspected = tr34::inspect(data);
    if let Ok(verified) = tr34::verify(data, &AWS_KDH_CERT) {
        assert_eq!(
            inspected.ok(),
            Some(verified),
            "verify and inspect disagree"
        );
    }
}

/// Fixed throwaway RSA-2048 keys and self-signed certificates for the TR-34 round trips
/// (`data/`, made with openssl; they protect nothing).
const KDH_CERT: &[u8] = include_bytes!("../data/kdh.cert.der");
const KDH_KEY: &[u8] = include_bytes!("../data/kdh.key.der");
const KRD_CERT: &[u8] = include_bytes!("../data/krd.cert.der");
const KRD_KEY: &[u8] = include_bytes!("../data/krd.key.der");

/// TR-34 opening. The first byte chooses:
/// - even: the rest is a block's DER, opened as the KRD of `data/krd.*` from the KDH of
///   `data/kdh.*`, once expecting a one-pass block and once with the nonce `0123456789ABCDEF`
///   (hex);
/// - odd: the rest describes a block to build with those keys (a byte choosing the cipher and
///   the freshness, a length-prefixed key, a length-prefixed nonce, then the header text),
///   which is built and must open to the same header and key.
pub fn tr34_open(data: &[u8]) {
    let Some((&mode, rest)) = data.split_first() else {
        return;
    };
    if mode % 2 == 0 {
        let nonce = [0x01, 0x23, 0x45, 0x67, 0x89, 0xAB, 0xCD, 0xEF];
        for expected in [None, Some(&nonce[..])] {
            if let Ok(opened) = tr34::open(rest, KRD_CERT, KRD_KEY, KDH_CERT, expected) {
                let inspected = tr34::inspect(rest).expect("an opened block inspects");
                assert_eq!(inspected.header, opened.header);
            }
        }
        return;
    }
    let Some((&choice, rest)) = rest.split_first() else {
        return;
    };
    let (key, rest) = take_prefixed(rest, 40);
    let (nonce, header) = take_prefixed(rest, 20);
    let header = String::from_utf8_lossy(header);
    let content_cipher = if choice & 1 == 0 {
        ContentCipher::Tdes
    } else {
        ContentCipher::Aes128
    };
    let (freshness, expected) = if choice & 2 == 0 {
        (Freshness::RandomNonce(nonce.to_vec()), Some(nonce))
    } else {
        let time = SigningTime::from_unix_seconds(1_700_000_000).expect("a valid time");
        (Freshness::SigningTime(time), None)
    };
    let params = BuildParams {
        key,
        header: &header,
        kdh_certificate_der: KDH_CERT,
        kdh_private_pkcs8_der: KDH_KEY,
        krd_certificate_der: KRD_CERT,
        content_cipher,
        freshness,
    };
    let Ok(block) = tr34::build(&params, &mut CountingRng(choice)) else {
        return;
    };
    let opened = tr34::open(&block, KRD_CERT, KRD_KEY, KDH_CERT, expected)
        .expect("a block built with these keys opens");
    assert_eq!(opened.header, header);
    assert_eq!(opened.key.expose(), key);
    assert_eq!(opened.content_cipher, content_cipher);
}

/// A fixed issuer to check parsed certificates against: the KDH certificate of the AWS CLI
/// example.
static ISSUER: LazyLock<paycrypt_pki::Certificate> = LazyLock::new(|| {
    paycrypt_pki::Certificate::parse(&AWS_KDH_CERT).expect("the AWS certificate parses")
});

/// A fixed "now" for validity checks: 2025-06-15.
const CERT_NOW: i64 = 1_750_000_000;

/// Everything a caller does with a certificate it parsed.
fn exercise_certificate(cert: &paycrypt_pki::Certificate) {
    let _ = (
        cert.subject(),
        cert.issuer(),
        cert.serial_hex(),
        cert.version(),
    );
    let _ = (
        cert.not_before(),
        cert.not_after(),
        cert.is_valid_at(CERT_NOW),
    );
    let _ = (cert.is_ca(), cert.path_len_constraint(), cert.key_usage());
    let _ = (
        cert.subject_key_identifier(),
        cert.authority_key_identifier(),
    );
    let _ = (cert.public_key_algorithm(), cert.signature_algorithm());
    let _ = cert.public_key_algorithm().comparable_strength_bits();
    let _ = cert.issuer_and_serial_der();
    let _ = cert.is_self_signed();
    let _ = paycrypt_pki::verify_signature(cert, cert);
    let _ = paycrypt_pki::verify_signature(cert, &ISSUER);
    let _ = paycrypt_pki::validate_root(cert, CERT_NOW);
    let _ = paycrypt_pki::validate_chain(cert, &[], cert, CERT_NOW);
    let _ = paycrypt_pki::validate_chain(cert, std::slice::from_ref(&ISSUER), cert, CERT_NOW);
    // What parses must parse again from its own bytes to the same certificate.
    let again = paycrypt_pki::Certificate::parse(cert.der()).expect("a certificate re-parses");
    assert_eq!(again.der(), cert.der());
    assert_eq!(again.subject(), cert.subject());
}

/// Certificates. The first byte chooses: even, the rest is DER; odd, the rest is the wire
/// form (base64 of PEM; invalid UTF-8 is replaced), read as one certificate and as a chain.
/// Whatever parses is put through every accessor and chain check, and what the wire form
/// yields must come back from `to_wire`.
pub fn certificate(data: &[u8]) {
    let Some((&mode, rest)) = data.split_first() else {
        return;
    };
    if mode % 2 == 0 {
        if let Ok(cert) = paycrypt_pki::Certificate::parse(rest) {
            exercise_certificate(&cert);
        }
        return;
    }
    let text = String::from_utf8_lossy(rest);
    if let Ok(der) = paycrypt_pki::from_wire(&text) {
        let back =
            paycrypt_pki::from_wire(&paycrypt_pki::to_wire(&der)).expect("to_wire reads back");
        assert_eq!(back, der);
        if let Ok(cert) = paycrypt_pki::Certificate::parse(&der) {
            exercise_certificate(&cert);
        }
    }
    if let Ok(chain) = paycrypt_pki::from_wire_chain(&text) {
        let back = paycrypt_pki::from_wire_chain(&paycrypt_pki::chain_to_wire(&chain))
            .expect("chain_to_wire reads back");
        assert_eq!(back, chain);
    }
}

/// Request decoding. The first byte (modulo 32) picks the operation from
/// [`paycrypt_api::Operation::ALL`]; the rest is the request body. A body that decodes must
/// serialize to JSON that decodes to the same input.
pub fn api_decode(data: &[u8]) {
    let Some((&which, body)) = data.split_first() else {
        return;
    };
    let ops = paycrypt_api::Operation::ALL;
    let op = ops[which as usize % ops.len()];
    let Ok(input) = paycrypt_api::decode_input(op, body) else {
        return;
    };
    assert_eq!(input.operation(), op);
    let json = serde_json::to_vec(&input).expect("an input serializes");
    let again = paycrypt_api::decode_input(op, &json)
        .unwrap_or_else(|e| panic!("re-encoded {} input does not decode: {e:?}", op.name()));
    assert_eq!(again, input);
}

/// For a data-plane operation with a path label (`/keys/{KeyIdentifier}/encrypt`), the label's
/// value (the bytes of `rest` up to the first newline, invalid UTF-8 replaced) and the body (the
/// bytes after it); for the others, no labels and all of `rest` as the body.
fn split_label(
    op: paycrypt_api::data::Operation,
    rest: &[u8],
) -> (Vec<(&'static str, String)>, &[u8]) {
    let (_, template) = op.http_binding();
    let label = template
        .split('/')
        .find_map(|segment| segment.strip_prefix('{')?.strip_suffix('}'));
    match label {
        Some(member) => {
            let (value, body) = match rest.iter().position(|&b| b == b'\n') {
                Some(end) => (&rest[..end], &rest[end + 1..]),
                None => (rest, &[][..]),
            };
            (
                vec![(member, String::from_utf8_lossy(value).into_owned())],
                body,
            )
        }
        None => (Vec::new(), rest),
    }
}

/// Data-plane request decoding. The first byte (modulo 15) picks the operation from
/// [`paycrypt_api::data::Operation::ALL`]. For an operation with a path label
/// (`/keys/{KeyIdentifier}/encrypt`), the bytes up to the first newline are the label's value as
/// routing hands it over, percent-decoded (invalid UTF-8 is replaced), and the rest is the body;
/// for the others, all the rest is the body. The decoder's answer, error or input, must be the
/// thorough path's ([`paycrypt_api::data::decode_checked`]). A request that decodes must serialize
/// to JSON that decodes, with the same label, to the same input; and since the label is a member
/// of that JSON, to the same input without it too.
pub fn data_decode(data: &[u8]) {
    use paycrypt_api::data::{Operation, decode_checked, decode_input};

    let Some((&which, rest)) = data.split_first() else {
        return;
    };
    let op = Operation::ALL[which as usize % Operation::ALL.len()];
    let (labels, body) = split_label(op, rest);
    let decoded = decode_input(op, body, &labels);
    assert_eq!(
        decoded,
        decode_checked(op, body, &labels),
        "the quick and thorough paths of {} disagree",
        op.name()
    );
    let Ok(input) = decoded else {
        return;
    };
    assert_eq!(input.operation(), op);
    let json = serde_json::to_vec(&input).expect("an input serializes");
    let again = decode_input(op, &json, &labels)
        .unwrap_or_else(|e| panic!("re-encoded {} input does not decode: {e:?}", op.name()));
    assert_eq!(again, input);
    let unlabelled = decode_input(op, &json, &[]).unwrap_or_else(|e| {
        panic!(
            "re-encoded {} input does not decode alone: {e:?}",
            op.name()
        )
    });
    assert_eq!(unlabelled, input);
}

/// The credentials of the signed seeds: the AWS SigV4 test suite's and botocore's
/// documentation example key (`crates/sigv4/tests/*/README.md`, `signed-requests.json`).
static CREDENTIALS: LazyLock<HashMap<String, paycrypt_sigv4::Credential>> = LazyLock::new(|| {
    [
        ("AKIDEXAMPLE", "wJalrXUtnFEMI/K7MDENG+bPxRfiCYEXAMPLEKEY"),
        (
            "AKIAIOSFODNN7EXAMPLE",
            "wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY",
        ),
    ]
    .into_iter()
    .map(|(id, secret)| {
        let credential = paycrypt_sigv4::Credential {
            secret_access_key: secret.to_owned(),
            principal: id.to_owned(),
        };
        (id.to_owned(), credential)
    })
    .collect()
});

/// SigV4. Input: text (invalid UTF-8 is replaced) in lines:
/// 1. `<unix seconds of "now"> <service>`;
/// 2. the request line `METHOD path[?query] [HTTP/1.1]`;
/// 3. headers `Name:value` (lines that are not a valid header are skipped) up to an empty
///    line; the rest is the body.
///
/// A request that verifies must name a known access key and the service asked for.
pub fn sigv4(data: &[u8]) {
    let text = String::from_utf8_lossy(data);
    let (head, body) = text.split_once("\n\n").unwrap_or((&text, ""));
    let mut lines = head.lines();
    let mut first = lines.next().unwrap_or("").splitn(2, ' ');
    let now_seconds: u64 = first.next().unwrap_or("").parse().unwrap_or(0);
    let service = first.next().unwrap_or("service");
    let now = UNIX_EPOCH + Duration::from_secs(now_seconds % (1 << 40));
    let mut request_line = lines.next().unwrap_or("").split(' ');
    let method = request_line.next().unwrap_or("");
    let target = request_line.next().unwrap_or("");
    let (path, query) = target.split_once('?').unwrap_or((target, ""));
    let mut headers = http::HeaderMap::new();
    for line in lines {
        let Some((name, value)) = line.split_once(':') else {
            continue;
        };
        if let (Ok(name), Ok(value)) = (
            http::HeaderName::from_bytes(name.as_bytes()),
            http::HeaderValue::from_str(value.trim_start()),
        ) {
            headers.append(name, value);
        }
    }
    let request = paycrypt_sigv4::Request {
        method,
        path,
        query,
        headers: &headers,
        body: body.as_bytes(),
    };
    if let Ok(verified) = paycrypt_sigv4::verify(&request, &*CREDENTIALS, now, service) {
        assert!(CREDENTIALS.contains_key(&verified.access_key_id));
        assert_eq!(verified.service, service);
    }
}

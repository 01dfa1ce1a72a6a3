//! Criterion benchmarks for request decoding, which every request runs before any key is
//! touched: a control-plane GetKey body, and the data-plane bodies `bench/compare` sends
//! (EncryptData over 1 KiB, TranslatePinData from ISO 0 to ISO 4).
//!
//! Run with `cargo bench -p paycrypt-api --bench decode`.

use std::hint::black_box;

use criterion::{Criterion, criterion_group, criterion_main};
use paycrypt_api::{Operation, data};

const KEY_ARN: &str = "arn:aws:payment-cryptography:us-east-1:111122223333:key/abcdefghijklmnop";
const PAN: &str = "4111111111111111";

fn decoding(c: &mut Criterion) {
    let get_key = format!(r#"{{"KeyIdentifier":"{KEY_ARN}"}}"#);
    c.bench_function("decode GetKey", |b| {
        b.iter(|| paycrypt_api::decode_input(Operation::GetKey, black_box(get_key.as_bytes())))
    });

    let encrypt = format!(
        r#"{{"PlainText":"{}","EncryptionAttributes":{{"Symmetric":{{"Mode":"CBC","InitializationVector":"{}"}}}}}}"#,
        "0123456789ABCDEF".repeat(128),
        "00".repeat(16)
    );
    let labels = [("KeyIdentifier", KEY_ARN.to_owned())];
    c.bench_function("decode EncryptData 1 KiB", |b| {
        b.iter(|| {
            data::decode_input(
                data::Operation::EncryptData,
                black_box(encrypt.as_bytes()),
                &labels,
            )
        })
    });

    let translate = format!(
        r#"{{"IncomingKeyIdentifier":"{KEY_ARN}","OutgoingKeyIdentifier":"{KEY_ARN}","IncomingTranslationAttributes":{{"IsoFormat0":{{"PrimaryAccountNumber":"{PAN}"}}}},"OutgoingTranslationAttributes":{{"IsoFormat4":{{"PrimaryAccountNumber":"{PAN}"}}}},"EncryptedPinBlock":"1234567890ABCDEF"}}"#
    );
    c.bench_function("decode TranslatePinData", |b| {
        b.iter(|| {
            data::decode_input(
                data::Operation::TranslatePinData,
                black_box(translate.as_bytes()),
                &[],
            )
        })
    });
}

criterion_group!(benches, decoding);
criterion_main!(benches);

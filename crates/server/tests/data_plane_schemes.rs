//! The rest of the data plane through the AWS SDK for Rust:
//! - EncryptData / DecryptData with TDES and AES DUKPT, RSA (OAEP) and EMV attributes, and
//!   ReEncryptData from TDES to AES;
//! - GenerateMac with ISO 9797-1 algorithms 1 and 3, CMAC, HMAC-SHA224/384/512, the EMV MAC, the TDES DUKPT ISO 9797-1
//!   algorithm 3 MAC and the AES DUKPT CMAC;
//! - GenerateAs2805KekValidation, request and response forms;
//! - GeneratePinData (Visa PIN, Visa PVV, IBM 3624 natural PIN and offset), TranslatePinData (ISO 0 to ISO 0, DUKPT
//!   to ISO 0) and GenerateMacEmvPinChange (Mastercard);
//! - the refusals of a missing mode, a bad IV, a partial block and a disabled key.
//!
//! Keys are made by CreateKey and their clear material read back from the store; every result is
//! recomputed here (common::crypto, and the X9.24-1 and X9.24-3 DUKPT derivations below, on
//! RustCrypto) independently of paycrypt's cardcrypto, each recomputation checked against a
//! published vector (shared/reference/data-plane.md); RSA on aws-lc-rs with the private key read
//! from the store.

mod common;

use aws_sdk_paymentcryptography::types::{
    KeyAlgorithm, KeyAttributes, KeyClass, KeyModesOfUse, KeyUsage,
};
use aws_sdk_paymentcryptographydata::types::{
    As2805KekValidationType, AsymmetricEncryptionAttributes, DerivationMethodAttributes,
    DukptDerivationAttributes, DukptEncryptionAttributes, DukptEncryptionMode, DukptKeyVariant,
    EmvEncryptionAttributes, EmvMajorKeyDerivationMode, EncryptionDecryptionAttributes,
    EncryptionMode, Ibm3624NaturalPin, Ibm3624PinOffset, KekValidationRequest,
    KekValidationResponse, MacAlgorithm, MacAlgorithmDukpt, MacAlgorithmEmv, MacAttributes,
    MajorKeyDerivationMode, MasterCardAttributes, PaddingType, PinBlockFormatForEmvPinChange,
    PinBlockFormatForPinData, PinData, PinGenerationAttributes, RandomKeySendVariantMask,
    ReEncryptionAttributes, SessionKeyDerivationMode, SessionKeyDerivationValue,
    SymmetricEncryptionAttributes, SymmetricKeyAlgorithm, TranslationIsoFormats,
    TranslationPinDataIsoFormat034, VerificationFailedReason, VisaPin, VisaPinVerificationValue,
};
use common::crypto::{
    aes_cbc, common_session_key, icc_master_key, iso0, iso0_pin, pack, pvv, retail_mac, single_des,
    tdes, tdes_cbc, tdes_cbc_decrypt, tdes_decrypt, xor,
};
use common::{code_and_message, crypt_modes, start, verification_failure};

fn derive_modes() -> KeyModesOfUse {
    KeyModesOfUse::builder().derive_key(true).build()
}

fn key_xor(key: &[u8], mask: &[u8]) -> Vec<u8> {
    key.iter()
        .zip(mask.iter().cycle())
        .map(|(k, m)| k ^ m)
        .collect()
}

const C0_MASK: [u8; 16] = [
    0xC0, 0xC0, 0xC0, 0xC0, 0, 0, 0, 0, 0xC0, 0xC0, 0xC0, 0xC0, 0, 0, 0, 0,
];

/// X9.24-1 (2009) annex A: the initial key of a BDK and a 10-byte KSN.
fn dukpt_ipek(bdk: &[u8], ksn: &[u8; 10]) -> Vec<u8> {
    let mut base: [u8; 8] = ksn[..8].try_into().unwrap();
    base[7] &= 0xE0;
    [tdes(bdk, base), tdes(&key_xor(bdk, &C0_MASK), base)].concat()
}

/// X9.24-1 (2009) A.2, the non-reversible key generation process.
fn non_reversible(key: &[u8], register: [u8; 8]) -> Vec<u8> {
    let half = |k: &[u8]| {
        let right: [u8; 8] = k[8..].try_into().unwrap();
        xor(single_des(&k[..8], xor(register, right)), right)
    };
    let right = half(key);
    let left = half(&key_xor(key, &C0_MASK));
    [left, right].concat()
}

/// X9.24-1 (2009) annex A: the transaction key of a KSN, one non-reversible step per counter bit.
fn dukpt_transaction_key(bdk: &[u8], ksn: &[u8; 10]) -> Vec<u8> {
    let mut key = dukpt_ipek(bdk, ksn);
    let tail = u64::from_be_bytes(ksn[2..].try_into().unwrap());
    let counter = tail & 0x1F_FFFF;
    let mut register = tail & !0x1F_FFFF;
    for bit in (0..21).rev().map(|i| 1u64 << i) {
        if counter & bit != 0 {
            register |= bit;
            key = non_reversible(&key, register.to_be_bytes());
        }
    }
    key
}

/// A TDES DUKPT transaction key XOR a variant, the same 8 bytes on both halves.
fn dukpt_variant_key(bdk: &[u8], ksn: &[u8; 10], variant: [u8; 8]) -> Vec<u8> {
    key_xor(&dukpt_transaction_key(bdk, ksn), &variant)
}

/// The X9.24-1 PIN encryption key: the PIN variant (00..00FF).
fn dukpt_pin_key(bdk: &[u8], ksn: &[u8; 10]) -> Vec<u8> {
    dukpt_variant_key(bdk, ksn, [0, 0, 0, 0, 0, 0, 0, 0xFF])
}

/// The X9.24-1 MAC request key: the MAC request variant (00..FF00).
fn dukpt_mac_key(bdk: &[u8], ksn: &[u8; 10]) -> Vec<u8> {
    dukpt_variant_key(bdk, ksn, [0, 0, 0, 0, 0, 0, 0xFF, 0])
}

/// The X9.24-1 data request variant.
const DATA_REQUEST: [u8; 8] = [0, 0, 0, 0, 0, 0xFF, 0, 0];
/// The X9.24-1 data response variant.
const DATA_RESPONSE: [u8; 8] = [0, 0, 0, 0xFF, 0, 0, 0, 0];

/// The TDES DUKPT data key as AWS computes it (data-plane.md): a data variant, then each half
/// enciphered under the variant key itself.
fn dukpt_data_key(bdk: &[u8], ksn: &[u8; 10], variant: [u8; 8]) -> Vec<u8> {
    let key = dukpt_variant_key(bdk, ksn, variant);
    let left: [u8; 8] = key[..8].try_into().unwrap();
    let right: [u8; 8] = key[8..].try_into().unwrap();
    [tdes(&key, left), tdes(&key, right)].concat()
}

/// EncryptData of `plain` under the key `arn` with `attributes`: the ciphertext.
async fn encrypt(
    server: &common::TestServer,
    arn: &str,
    plain: &[u8],
    attributes: EncryptionDecryptionAttributes,
) -> Vec<u8> {
    let out = server
        .data_client()
        .encrypt_data()
        .key_identifier(arn)
        .plain_text(hex::encode_upper(plain))
        .encryption_attributes(attributes)
        .send()
        .await
        .unwrap();
    hex::decode(out.cipher_text).unwrap()
}

/// GenerateMac over `message` under the key `arn` with `attributes`: the MAC.
async fn generate_mac(
    server: &common::TestServer,
    arn: &str,
    message: &[u8],
    attributes: MacAttributes,
) -> Vec<u8> {
    let out = server
        .data_client()
        .generate_mac()
        .key_identifier(arn)
        .message_data(hex::encode_upper(message))
        .generation_attributes(attributes)
        .send()
        .await
        .unwrap();
    hex::decode(out.mac).unwrap()
}

/// A 10-byte KSN from its hex.
fn ksn(hex_text: &str) -> [u8; 10] {
    hex::decode(hex_text).unwrap().try_into().unwrap()
}

/// AES-128 encryption of one block.
fn aes128(key: &[u8], block: [u8; 16]) -> [u8; 16] {
    use aes::cipher::{BlockCipherEncrypt, KeyInit};
    let mut b = block.into();
    aes::Aes128::new_from_slice(key)
        .unwrap()
        .encrypt_block(&mut b);
    b.into()
}

/// X9.24-3-2017 derivation data for an AES-128 key: version 01, block counter 01, the key
/// usage, AES-128 (0002) of 128 bits (0080), then the initial key ID (the initial key) or its
/// right half and the counter (the others).
fn aes_dukpt_data(usage: u16, id: &[u8], counter: Option<u32>) -> [u8; 16] {
    let mut data = [0u8; 16];
    data[..2].copy_from_slice(&[0x01, 0x01]);
    data[2..4].copy_from_slice(&usage.to_be_bytes());
    data[4..8].copy_from_slice(&[0x00, 0x02, 0x00, 0x80]);
    match counter {
        None => data[8..].copy_from_slice(&id[..8]),
        Some(counter) => {
            data[8..12].copy_from_slice(&id[4..8]);
            data[12..].copy_from_slice(&counter.to_be_bytes());
        }
    }
    data
}

/// X9.24-3-2017: the initial key of an AES-128 BDK and an initial key ID.
fn aes_dukpt_initial_key(bdk: &[u8], id: &[u8]) -> [u8; 16] {
    aes128(bdk, aes_dukpt_data(0x8001, id, None))
}

/// X9.24-3-2017: the AES-128 working key of `usage` for a 12-byte KSN (initial key ID, counter),
/// one key derivation (8000) per counter bit from the top.
fn aes_dukpt_working_key(bdk: &[u8], ksn: &[u8], usage: u16) -> [u8; 16] {
    let (id, counter) = ksn.split_at(8);
    let counter = u32::from_be_bytes(counter.try_into().unwrap());
    let mut key = aes_dukpt_initial_key(bdk, id);
    let mut register = 0;
    for bit in (0..32).rev().map(|i| 1u32 << i) {
        if counter & bit != 0 {
            register |= bit;
            key = aes128(&key, aes_dukpt_data(0x8000, id, Some(register)));
        }
    }
    aes128(&key, aes_dukpt_data(usage, id, Some(counter)))
}

/// The IBM 3624 natural PIN: the validation data padded to 16 characters, enciphered under the
/// PVK, each hex digit mapped through the decimalization table; the first `len` digits.
fn ibm3624_natural_pin(pvk: &[u8], table: &str, data: &str, pad: char, len: usize) -> String {
    let padded: String = data
        .chars()
        .chain(std::iter::repeat(pad))
        .take(16)
        .collect();
    let enciphered = hex::encode_upper(tdes(pvk, pack(&padded)));
    enciphered
        .chars()
        .take(len)
        .map(|c| table.as_bytes()[c.to_digit(16).unwrap() as usize] as char)
        .collect()
}

/// A new BDK (TR31_B0) of `algorithm`: its ARN and clear value.
async fn new_bdk(server: &common::TestServer, algorithm: &str) -> (String, Vec<u8>) {
    server
        .create_clear_key("TR31_B0_BASE_DERIVATION_KEY", algorithm, derive_modes())
        .await
}

/// The IBM 3624 offset of a PIN: each digit less the natural PIN's, modulo 10.
fn ibm3624_offset(pin: &str, natural: &str) -> String {
    pin.bytes()
        .zip(natural.bytes())
        .map(|(p, n)| char::from(b'0' + (p + 10 - n) % 10))
        .collect()
}

/// Sets each byte to odd parity.
fn odd_parity(bytes: &[u8]) -> Vec<u8> {
    bytes
        .iter()
        .map(|b| if b.count_ones() % 2 == 0 { b ^ 1 } else { *b })
        .collect()
}

#[test]
fn the_dukpt_recomputation_meets_annex_a() {
    let bdk = hex::decode("0123456789ABCDEFFEDCBA9876543210").unwrap();
    let ksn = ksn("FFFF9876543210E00001");
    assert_eq!(
        hex::encode_upper(dukpt_ipek(&bdk, &ksn)),
        "6AC292FAA1315B4D858AB3A3D7D5933A"
    );
    assert_eq!(
        hex::encode_upper(dukpt_transaction_key(&bdk, &ksn)),
        "042666B49184CFA368DE9628D0397BC9"
    );
    let block = tdes(&dukpt_pin_key(&bdk, &ksn), iso0("1234", "4012345678909"));
    assert_eq!(hex::encode_upper(block), "1B9C1845EB993A7A");
}

#[test]
fn the_aes_dukpt_recomputation_meets_the_x9_24_3_initial_key() {
    let bdk = hex::decode("FEDCBA9876543210F1F1F1F1F1F1F1F1").unwrap();
    let id = hex::decode("1234567890123456").unwrap();
    assert_eq!(
        hex::encode_upper(aes_dukpt_initial_key(&bdk, &id)),
        "1273671EA26AC29AFA4D1084127652A1"
    );
}

#[tokio::test]
async fn aes_dukpt_data_encrypts_under_the_bidirectional_data_key() {
    let server = start().await;
    let (arn, bdk) = new_bdk(&server, "AES_128").await;
    let ksn_hex = "123456789012345600000005";
    let key = aes_dukpt_working_key(&bdk, &hex::decode(ksn_hex).unwrap(), 0x3002);
    let plain: Vec<u8> = (0u8..32).collect();
    let attributes = DukptEncryptionAttributes::builder()
        .key_serial_number(ksn_hex)
        .build()
        .unwrap();
    let cipher = encrypt(
        &server,
        &arn,
        &plain,
        EncryptionDecryptionAttributes::Dukpt(attributes),
    )
    .await;
    assert_eq!(cipher, aes_cbc(&key, &[0; 16], &plain));
}

#[tokio::test]
async fn an_aes_dukpt_cmac_is_under_the_bidirectional_mac_key() {
    let server = start().await;
    let (arn, bdk) = new_bdk(&server, "AES_128").await;
    let ksn_hex = "12345678901234560000000C";
    let key = aes_dukpt_working_key(&bdk, &hex::decode(ksn_hex).unwrap(), 0x2002);
    let message = b"an AES DUKPT message of any length";
    let dukpt = MacAlgorithmDukpt::builder()
        .key_serial_number(ksn_hex)
        .dukpt_key_variant(DukptKeyVariant::Bidirectional)
        .build()
        .unwrap();
    let mac = generate_mac(&server, &arn, message, MacAttributes::DukptCmac(dukpt)).await;
    assert_eq!(mac, aes_cmac(&key, message));
}

#[test]
fn the_ibm3624_recomputation_meets_the_psec_vector() {
    let pvk = hex::decode("0123456789ABCDEFFEDCBA9876543210").unwrap();
    let pin = ibm3624_natural_pin(&pvk, "1234567890123456", "1122334455667788", 'F', 4);
    assert_eq!(pin, "4524");
    assert_eq!(ibm3624_offset("1234", &pin), "7710");
}

#[test]
fn the_retail_mac_meets_iso_9797_1_annex_b() {
    let key = hex::decode("0123456789ABCDEFFEDCBA9876543210").unwrap();
    let mac = retail_mac(&key, b"Now is the time for all ");
    assert_eq!(hex::encode_upper(mac), "A1C72E74EA3FA9B6");
}

/// AES-128 CMAC on the cmac crate.
fn aes_cmac(key: &[u8], message: &[u8]) -> Vec<u8> {
    use cmac::{KeyInit, Mac};
    let mut cmac = cmac::Cmac::<aes::Aes128>::new_from_slice(key).unwrap();
    cmac.update(message);
    cmac.finalize().into_bytes().to_vec()
}

/// HMAC with the hash `D` on the hmac crate.
fn hmac_tag<D>(key: &[u8], message: &[u8]) -> Vec<u8>
where
    D: hmac::EagerHash,
    hmac::Hmac<D>: hmac::KeyInit + hmac::Mac,
{
    use hmac::{KeyInit, Mac};
    let mut hmac = hmac::Hmac::<D>::new_from_slice(key).unwrap();
    hmac.update(message);
    hmac.finalize().into_bytes().to_vec()
}

/// An independent MAC computation over (key, message).
type Reference = fn(&[u8], &[u8]) -> Vec<u8>;

#[tokio::test]
async fn iso_9797_1_algorithms_1_and_3_cmac_and_the_hmacs_generate_the_reference_macs() {
    let server = start().await;
    let message: Vec<u8> = (0u8..32).collect();
    let modes = || KeyModesOfUse::builder().generate(true).verify(true).build();
    let cases: [(&str, &str, MacAlgorithm, Reference); 6] = [
        (
            "TR31_M1_ISO_9797_1_MAC_KEY",
            "TDES_2KEY",
            MacAlgorithm::Iso9797Algorithm1,
            |key, message| tdes_cbc(key, [0; 8], message)[message.len() - 8..].to_vec(),
        ),
        (
            "TR31_M3_ISO_9797_3_MAC_KEY",
            "TDES_2KEY",
            MacAlgorithm::Iso9797Algorithm3,
            |key, message| retail_mac(key, message).to_vec(),
        ),
        (
            "TR31_M6_ISO_9797_5_CMAC_KEY",
            "AES_128",
            MacAlgorithm::Cmac,
            aes_cmac,
        ),
        (
            "TR31_M7_HMAC_KEY",
            "HMAC_SHA224",
            MacAlgorithm::HmacSha224,
            hmac_tag::<sha2::Sha224>,
        ),
        (
            "TR31_M7_HMAC_KEY",
            "HMAC_SHA384",
            MacAlgorithm::HmacSha384,
            hmac_tag::<sha2::Sha384>,
        ),
        (
            "TR31_M7_HMAC_KEY",
            "HMAC_SHA512",
            MacAlgorithm::HmacSha512,
            hmac_tag::<sha2::Sha512>,
        ),
    ];
    for (usage, algorithm, mac_algorithm, reference) in cases {
        let (arn, key) = server.create_clear_key(usage, algorithm, modes()).await;
        let attributes = MacAttributes::Algorithm(mac_algorithm);
        let mac = generate_mac(&server, &arn, &message, attributes).await;
        assert_eq!(mac, reference(&key, &message), "{usage}");
    }
}

#[tokio::test]
async fn re_encrypt_from_a_tdes_key_to_an_aes_key() {
    let server = start().await;
    let usage = "TR31_D0_SYMMETRIC_DATA_ENCRYPTION_KEY";
    let (tdes_arn, tdes_key) = server
        .create_clear_key(usage, "TDES_2KEY", crypt_modes())
        .await;
    let (aes_arn, aes_key) = server
        .create_clear_key(usage, "AES_128", crypt_modes())
        .await;
    let plain: Vec<u8> = (0u8..32).collect();
    let (iv_in, iv_out) = ([0x11u8; 8], [0x22u8; 16]);
    let cbc = |iv: &[u8]| {
        ReEncryptionAttributes::Symmetric(
            SymmetricEncryptionAttributes::builder()
                .mode(EncryptionMode::Cbc)
                .initialization_vector(hex::encode_upper(iv))
                .build()
                .unwrap(),
        )
    };
    let out = server
        .data_client()
        .re_encrypt_data()
        .incoming_key_identifier(&tdes_arn)
        .outgoing_key_identifier(&aes_arn)
        .cipher_text(hex::encode_upper(tdes_cbc(&tdes_key, iv_in, &plain)))
        .incoming_encryption_attributes(cbc(&iv_in))
        .outgoing_encryption_attributes(cbc(&iv_out))
        .send()
        .await
        .unwrap();
    assert_eq!(out.key_arn, aes_arn);
    assert_eq!(
        out.cipher_text,
        hex::encode_upper(aes_cbc(&aes_key, &iv_out, &plain))
    );
}

#[tokio::test]
async fn tdes_dukpt_data_decrypts_and_encrypts_under_the_request_and_response_data_keys() {
    let server = start().await;
    let (arn, bdk) = new_bdk(&server, "TDES_2KEY").await;
    let ksn_hex = "FFFF9876543210E00005";
    let data_key = dukpt_data_key(&bdk, &ksn(ksn_hex), DATA_REQUEST);
    let plain: Vec<u8> = (0u8..24).collect();
    let cipher = hex::encode_upper(tdes_cbc(&data_key, [0; 8], &plain));
    let attributes = EncryptionDecryptionAttributes::Dukpt(
        DukptEncryptionAttributes::builder()
            .key_serial_number(ksn_hex)
            .build()
            .unwrap(),
    );
    let data = server.data_client();
    let decrypted = data
        .decrypt_data()
        .key_identifier(&arn)
        .cipher_text(&cipher)
        .decryption_attributes(attributes.clone())
        .send()
        .await
        .unwrap();
    assert_eq!(decrypted.plain_text, hex::encode_upper(&plain));
    let encrypted = encrypt(&server, &arn, &plain, attributes).await;
    assert_eq!(hex::encode_upper(encrypted), cipher);

    let response_key = dukpt_data_key(&bdk, &ksn(ksn_hex), DATA_RESPONSE);
    let ecb: Vec<u8> = plain
        .chunks(8)
        .flat_map(|block| tdes(&response_key, block.try_into().unwrap()))
        .collect();
    let response = DukptEncryptionAttributes::builder()
        .key_serial_number(ksn_hex)
        .mode(DukptEncryptionMode::Ecb)
        .dukpt_key_variant(DukptKeyVariant::Response)
        .build()
        .unwrap();
    let attributes = EncryptionDecryptionAttributes::Dukpt(response);
    assert_eq!(encrypt(&server, &arn, &plain, attributes).await, ecb);
}

/// RSA OAEP with SHA-256 (and MGF1 with SHA-256), the `OAEP_SHA256` padding.
const OAEP_SHA256: &aws_lc_rs::rsa::OaepAlgorithm = &aws_lc_rs::rsa::OAEP_SHA256_MGF1SHA256;

#[tokio::test]
async fn an_rsa_2048_key_pair_encrypts_and_decrypts_with_oaep() {
    use aws_lc_rs::rsa::{OaepPrivateDecryptingKey, OaepPublicEncryptingKey, PrivateDecryptingKey};
    let server = start().await;
    let attributes = KeyAttributes::builder()
        .key_usage(KeyUsage::Tr31D1AsymmetricKeyForDataEncryption)
        .key_class(KeyClass::AsymmetricKeyPair)
        .key_algorithm(KeyAlgorithm::Rsa2048)
        .key_modes_of_use(crypt_modes())
        .build()
        .unwrap();
    let created = server
        .client()
        .create_key()
        .key_attributes(attributes)
        .exportable(false)
        .send()
        .await
        .unwrap();
    let arn = created.key.unwrap().key_arn;
    // The private key, read from the store as PKCS #8, opens and makes ciphertexts here.
    let private = PrivateDecryptingKey::from_pkcs8(&server.clear_key(&arn).await).unwrap();
    let public = OaepPublicEncryptingKey::new(private.public_key()).unwrap();
    let private = OaepPrivateDecryptingKey::new(private).unwrap();
    let rsa = EncryptionDecryptionAttributes::Asymmetric(
        AsymmetricEncryptionAttributes::builder()
            .padding_type(PaddingType::OaepSha256)
            .build(),
    );
    let plain = hex::decode("00112233445566778899AABBCCDDEEFF").unwrap();
    let cipher = encrypt(&server, &arn, &plain, rsa.clone()).await;
    assert_eq!(cipher.len(), 256);
    let mut buffer = [0u8; 256];
    let opened = private
        .decrypt(OAEP_SHA256, &cipher, &mut buffer, None)
        .unwrap();
    assert_eq!(opened, plain.as_slice());

    let mut ours = [0u8; 256];
    let ours = public
        .encrypt(OAEP_SHA256, &plain, &mut ours, None)
        .unwrap();
    let decrypted = server
        .data_client()
        .decrypt_data()
        .key_identifier(&arn)
        .cipher_text(hex::encode_upper(ours))
        .decryption_attributes(rsa)
        .send()
        .await
        .unwrap();
    assert_eq!(decrypted.plain_text, hex::encode_upper(&plain));
}

#[tokio::test]
async fn emv_data_encryption_runs_under_the_common_session_key() {
    let server = start().await;
    let (arn, imk) = server
        .create_clear_key(
            "TR31_E1_EMV_MKEY_CONFIDENTIALITY",
            "TDES_2KEY",
            derive_modes(),
        )
        .await;
    let (pan, psn, r) = ("5413330089020011", "01", [0x12, 0x34, 0, 0, 0, 0, 0, 0]);
    let session_key = common_session_key(&icc_master_key(&imk, pan, psn), r);
    let plain: Vec<u8> = (0u8..16).collect();
    let iv = [0x5Au8; 8];
    let emv = EmvEncryptionAttributes::builder()
        .major_key_derivation_mode(EmvMajorKeyDerivationMode::EmvOptionA)
        .primary_account_number(pan)
        .pan_sequence_number(psn)
        .session_derivation_data(hex::encode_upper(r))
        .initialization_vector(hex::encode_upper(iv))
        .build()
        .unwrap();
    let cipher = encrypt(
        &server,
        &arn,
        &plain,
        EncryptionDecryptionAttributes::Emv(emv),
    )
    .await;
    assert_eq!(cipher, tdes_cbc(&session_key, iv, &plain));
}

#[tokio::test]
async fn an_emv_mac_is_mac_algorithm_3_under_the_session_key_and_a_wrong_one_fails() {
    let server = start().await;
    let (arn, imk) = server
        .create_clear_key("TR31_E2_EMV_MKEY_INTEGRITY", "TDES_2KEY", derive_modes())
        .await;
    let (pan, psn, arqc) = ("5413330089020011", "01", [0xA1u8; 8]);
    let session_key = common_session_key(&icc_master_key(&imk, pan, psn), arqc);
    // A script command, padded (80 00..) by the caller as AWS expects.
    let message: Vec<u8> = (1u8..=13).chain([0x80, 0, 0]).collect();
    let attributes = MacAttributes::EmvMac(
        MacAlgorithmEmv::builder()
            .major_key_derivation_mode(MajorKeyDerivationMode::EmvOptionA)
            .primary_account_number(pan)
            .pan_sequence_number(psn)
            .session_key_derivation_mode(SessionKeyDerivationMode::EmvCommonSessionKey)
            .session_key_derivation_value(SessionKeyDerivationValue::ApplicationCryptogram(
                hex::encode_upper(arqc),
            ))
            .build()
            .unwrap(),
    );
    let expected = retail_mac(&session_key, &message);
    let mac = generate_mac(&server, &arn, &message, attributes.clone()).await;
    assert_eq!(mac, expected);
    let mut wrong = expected;
    wrong[0] ^= 1;
    let refused = server
        .data_client()
        .verify_mac()
        .key_identifier(&arn)
        .message_data(hex::encode_upper(&message))
        .mac(hex::encode_upper(wrong))
        .verification_attributes(attributes)
        .send()
        .await;
    assert_eq!(
        verification_failure(refused).reason,
        VerificationFailedReason::InvalidMac
    );
}

#[tokio::test]
async fn an_as2805_kek_validation_response_answers_the_inverted_random_key() {
    let server = start().await;
    let (arn, kek) = server
        .create_clear_key("TR31_K0_KEY_ENCRYPTION_KEY", "TDES_2KEY", crypt_modes())
        .await;
    let krs = odd_parity(&hex::decode("0123456789ABCDEF1032547698BADCFE").unwrap());
    let send = tdes_cbc(&key_xor(&kek, &[0x82]), [0; 8], &krs);
    let krr = odd_parity(&krs.iter().map(|b| !b).collect::<Vec<_>>());
    let out = server
        .data_client()
        .generate_as2805_kek_validation()
        .key_identifier(&arn)
        .kek_validation_type(As2805KekValidationType::KekValidationResponse(
            KekValidationResponse::builder()
                .random_key_send(hex::encode_upper(&send))
                .build()
                .unwrap(),
        ))
        .random_key_send_variant_mask(RandomKeySendVariantMask::VariantMask82)
        .send()
        .await
        .unwrap();
    assert_eq!(out.key_arn, arn);
    assert_eq!(out.random_key_send, hex::encode_upper(&send));
    let received = hex::decode(&out.random_key_receive).unwrap();
    assert_eq!(
        tdes_cbc_decrypt(&key_xor(&kek, &[0x84]), [0; 8], &received),
        krr
    );
}

#[tokio::test]
async fn an_as2805_kek_validation_request_sends_an_odd_parity_key_and_expects_its_inverse() {
    let server = start().await;
    let (arn, kek) = server
        .create_clear_key("TR31_K0_KEY_ENCRYPTION_KEY", "TDES_2KEY", crypt_modes())
        .await;
    let out = server
        .data_client()
        .generate_as2805_kek_validation()
        .key_identifier(&arn)
        .kek_validation_type(As2805KekValidationType::KekValidationRequest(
            KekValidationRequest::builder()
                .derive_key_algorithm(SymmetricKeyAlgorithm::Tdes2Key)
                .build()
                .unwrap(),
        ))
        .random_key_send_variant_mask(RandomKeySendVariantMask::VariantMask82)
        .send()
        .await
        .unwrap();
    let open = |hex_text: &str, mask: u8| {
        let cipher = hex::decode(hex_text).unwrap();
        tdes_cbc_decrypt(&key_xor(&kek, &[mask]), [0; 8], &cipher)
    };
    let krs = open(&out.random_key_send, 0x82);
    assert_eq!(krs.len(), 16);
    assert_eq!(odd_parity(&krs), krs);
    let krr = odd_parity(&krs.iter().map(|b| !b).collect::<Vec<_>>());
    assert_eq!(open(&out.random_key_receive, 0x84), krr);
}

/// A generated PIN: GeneratePinData with a new PIN verification key of `usage`, a new PEK and
/// the attributes made with the PEK's clear value, the ISO format 0 block out decrypted here.
/// Answers the PVK's clear value, the PIN and the PinData.
async fn generate_pin(
    usage: &str,
    attributes: impl FnOnce(&[u8]) -> PinGenerationAttributes,
    length: i32,
    pan: &str,
) -> (Vec<u8>, String, Option<PinData>) {
    let server = start().await;
    let pvk_arn = server
        .create_symmetric_key(
            usage,
            "TDES_2KEY",
            KeyModesOfUse::builder().generate(true).verify(true).build(),
        )
        .await;
    let (pek_arn, pek) = server
        .create_clear_key("TR31_P0_PIN_ENCRYPTION_KEY", "TDES_2KEY", crypt_modes())
        .await;
    let out = server
        .data_client()
        .generate_pin_data()
        .generation_key_identifier(&pvk_arn)
        .encryption_key_identifier(&pek_arn)
        .generation_attributes(attributes(&pek))
        .pin_data_length(length)
        .primary_account_number(pan)
        .pin_block_format(PinBlockFormatForPinData::IsoFormat0)
        .send()
        .await
        .unwrap();
    let block: [u8; 8] = hex::decode(&out.encrypted_pin_block)
        .unwrap()
        .try_into()
        .unwrap();
    let pin = iso0_pin(tdes_decrypt(&pek, block), pan);
    (server.clear_key(&pvk_arn).await, pin, out.pin_data)
}

#[tokio::test]
async fn a_generated_visa_pin_comes_back_in_an_iso0_block_with_its_pvv() {
    let pan = "4111111111111111";
    let attributes = |_: &[u8]| {
        PinGenerationAttributes::VisaPin(
            VisaPin::builder()
                .pin_verification_key_index(1)
                .build()
                .unwrap(),
        )
    };
    let (pvk, pin, pin_data) =
        generate_pin("TR31_V2_VISA_PIN_VERIFICATION_KEY", attributes, 4, pan).await;
    assert_eq!(pin.len(), 4);
    assert_eq!(
        pin_data,
        Some(PinData::VerificationValue(pvv(&pvk, 1, &pin, pan)))
    );
}

#[tokio::test]
async fn the_pvv_of_a_given_pin_block_is_the_visa_pvv() {
    let (pin, pan) = ("9753", "4111111111111111");
    let attributes = |pek: &[u8]| {
        PinGenerationAttributes::VisaPinVerificationValue(
            VisaPinVerificationValue::builder()
                .encrypted_pin_block(hex::encode_upper(tdes(pek, iso0(pin, pan))))
                .pin_verification_key_index(2)
                .build()
                .unwrap(),
        )
    };
    let (pvk, out_pin, pin_data) =
        generate_pin("TR31_V2_VISA_PIN_VERIFICATION_KEY", attributes, 4, pan).await;
    assert_eq!(out_pin, pin);
    assert_eq!(
        pin_data,
        Some(PinData::VerificationValue(pvv(&pvk, 2, pin, pan)))
    );
}

#[tokio::test]
async fn the_ibm3624_offset_of_a_given_pin_block_is_its_distance_from_the_natural_pin() {
    let (pin, pan, table, validation) = ("2580", "4111111111111111", "9876543210123456", "12345");
    let attributes = |pek: &[u8]| {
        PinGenerationAttributes::Ibm3624PinOffset(
            Ibm3624PinOffset::builder()
                .encrypted_pin_block(hex::encode_upper(tdes(pek, iso0(pin, pan))))
                .decimalization_table(table)
                .pin_validation_data_pad_character("D")
                .pin_validation_data(validation)
                .build()
                .unwrap(),
        )
    };
    let (pvk, _, pin_data) =
        generate_pin("TR31_V1_IBM3624_PIN_VERIFICATION_KEY", attributes, 4, pan).await;
    let natural = ibm3624_natural_pin(&pvk, table, validation, 'D', 4);
    assert_eq!(
        pin_data,
        Some(PinData::PinOffset(ibm3624_offset(pin, &natural)))
    );
}

#[tokio::test]
async fn an_iso0_pin_block_translates_from_one_pek_to_another() {
    let server = start().await;
    let usage = "TR31_P0_PIN_ENCRYPTION_KEY";
    let (incoming, pek_in) = server
        .create_clear_key(usage, "TDES_2KEY", crypt_modes())
        .await;
    let (outgoing, pek_out) = server
        .create_clear_key(usage, "TDES_2KEY", crypt_modes())
        .await;
    let (pin, pan) = ("731905", "5555555551234567");
    let iso0_attributes = || {
        TranslationIsoFormats::IsoFormat0(
            TranslationPinDataIsoFormat034::builder()
                .primary_account_number(pan)
                .build()
                .unwrap(),
        )
    };
    let out = server
        .data_client()
        .translate_pin_data()
        .incoming_key_identifier(&incoming)
        .outgoing_key_identifier(&outgoing)
        .incoming_translation_attributes(iso0_attributes())
        .outgoing_translation_attributes(iso0_attributes())
        .encrypted_pin_block(hex::encode_upper(tdes(&pek_in, iso0(pin, pan))))
        .send()
        .await
        .unwrap();
    assert_eq!(out.key_arn, outgoing);
    let block: [u8; 8] = hex::decode(&out.pin_block).unwrap().try_into().unwrap();
    assert_eq!(iso0_pin(tdes_decrypt(&pek_out, block), pan), pin);
}

#[tokio::test]
async fn a_mastercard_pin_change_script_is_enciphered_under_smc_and_maced_under_smi() {
    let server = start().await;
    let smi_arn = server
        .create_symmetric_key("TR31_E2_EMV_MKEY_INTEGRITY", "TDES_2KEY", derive_modes())
        .await;
    let smc_arn = server
        .create_symmetric_key(
            "TR31_E1_EMV_MKEY_CONFIDENTIALITY",
            "TDES_2KEY",
            derive_modes(),
        )
        .await;
    let pek_arn = server
        .create_symmetric_key("TR31_P0_PIN_ENCRYPTION_KEY", "TDES_2KEY", crypt_modes())
        .await;
    let (pan, psn, arqc, pin) = ("5413330089020011", "01", [0x3Cu8; 8], "86420");
    let session = |imk: Vec<u8>| common_session_key(&icc_master_key(&imk, pan, psn), arqc);
    let smi = session(server.clear_key(&smi_arn).await);
    let smc = session(server.clear_key(&smc_arn).await);
    let pek = server.clear_key(&pek_arn).await;
    // The PIN change command header (CLA INS P1 P2 Lc), then ATC and ARQC as Mastercard puts them.
    let message = [&[0x84, 0x24, 0x00, 0x00, 0x18, 0x00, 0x2A][..], &arqc].concat();
    let out = server
        .data_client()
        .generate_mac_emv_pin_change()
        .new_pin_pek_identifier(&pek_arn)
        .new_encrypted_pin_block(hex::encode_upper(tdes(&pek, iso0(pin, pan))))
        .pin_block_format(PinBlockFormatForEmvPinChange::IsoFormat0)
        .secure_messaging_integrity_key_identifier(&smi_arn)
        .secure_messaging_confidentiality_key_identifier(&smc_arn)
        .message_data(hex::encode_upper(&message))
        .derivation_method_attributes(DerivationMethodAttributes::Mastercard(
            MasterCardAttributes::builder()
                .major_key_derivation_mode(MajorKeyDerivationMode::EmvOptionA)
                .primary_account_number(pan)
                .pan_sequence_number(psn)
                .application_cryptogram(hex::encode_upper(arqc))
                .build()
                .unwrap(),
        ))
        .send()
        .await
        .unwrap();
    // ISO 9564 format 2: 2, the PIN length, the PIN, F padding; TDES-CBC with a zero IV.
    let block = pack(&format!("2{:X}{pin}{:F<14}", pin.len(), "")[..16]);
    let encrypted = tdes_cbc(&smc, [0; 8], &block);
    assert_eq!(out.encrypted_pin_block, hex::encode_upper(&encrypted));
    // The script MAC: ISO/IEC 9797-1 padding method 2, MAC algorithm 3 under SMI.
    let mut script = [message, encrypted].concat();
    script.push(0x80);
    script.resize(script.len().div_ceil(8) * 8, 0);
    assert_eq!(out.mac, hex::encode_upper(retail_mac(&smi, &script)));
}

#[tokio::test]
async fn a_generated_ibm3624_natural_pin_comes_back_in_an_iso0_block() {
    let (pan, table, validation) = ("4111111111111111", "0123456789012345", "11111111111");
    let attributes = |_: &[u8]| {
        PinGenerationAttributes::Ibm3624NaturalPin(
            Ibm3624NaturalPin::builder()
                .decimalization_table(table)
                .pin_validation_data_pad_character("F")
                .pin_validation_data(validation)
                .build()
                .unwrap(),
        )
    };
    let (pvk, pin, _) =
        generate_pin("TR31_V1_IBM3624_PIN_VERIFICATION_KEY", attributes, 6, pan).await;
    assert_eq!(pin, ibm3624_natural_pin(&pvk, table, validation, 'F', 6));
}

#[tokio::test]
async fn a_dukpt_pin_block_translates_to_iso0_under_a_pek() {
    let server = start().await;
    let (bdk_arn, bdk) = new_bdk(&server, "TDES_2KEY").await;
    let (pek_arn, pek) = server
        .create_clear_key("TR31_P0_PIN_ENCRYPTION_KEY", "TDES_2KEY", crypt_modes())
        .await;
    let (pin, pan, ksn_hex) = ("2468", "4012345678909", "FFFF9876543210E00007");
    let iso0_attributes = TranslationIsoFormats::IsoFormat0(
        TranslationPinDataIsoFormat034::builder()
            .primary_account_number(pan)
            .build()
            .unwrap(),
    );
    let incoming = tdes(&dukpt_pin_key(&bdk, &ksn(ksn_hex)), iso0(pin, pan));
    let out = server
        .data_client()
        .translate_pin_data()
        .incoming_key_identifier(&bdk_arn)
        .outgoing_key_identifier(&pek_arn)
        .incoming_translation_attributes(iso0_attributes.clone())
        .outgoing_translation_attributes(iso0_attributes)
        .incoming_dukpt_attributes(
            DukptDerivationAttributes::builder()
                .key_serial_number(ksn_hex)
                .build()
                .unwrap(),
        )
        .encrypted_pin_block(hex::encode_upper(incoming))
        .send()
        .await
        .unwrap();
    let block: [u8; 8] = hex::decode(&out.pin_block).unwrap().try_into().unwrap();
    assert_eq!(iso0_pin(tdes_decrypt(&pek, block), pan), pin);
}

#[tokio::test]
async fn a_dukpt_iso9797_algorithm_3_mac_is_under_the_mac_request_key() {
    let server = start().await;
    let (arn, bdk) = new_bdk(&server, "TDES_2KEY").await;
    let ksn_hex = "FFFF9876543210E0000A";
    let message: Vec<u8> = (0u8..24).collect();
    let dukpt = MacAlgorithmDukpt::builder()
        .key_serial_number(ksn_hex)
        .dukpt_key_variant(DukptKeyVariant::Request)
        .build()
        .unwrap();
    let attributes = MacAttributes::DukptIso9797Algorithm3(dukpt);
    let mac = generate_mac(&server, &arn, &message, attributes).await;
    assert_eq!(
        mac,
        retail_mac(&dukpt_mac_key(&bdk, &ksn(ksn_hex)), &message)
    );
}

#[tokio::test]
async fn a_missing_mode_a_bad_iv_a_partial_block_and_a_disabled_key_are_validation_errors() {
    let server = start().await;
    let encrypt_only = KeyModesOfUse::builder().encrypt(true).wrap(true).build();
    let arn = server
        .create_symmetric_key(
            "TR31_D0_SYMMETRIC_DATA_ENCRYPTION_KEY",
            "TDES_2KEY",
            encrypt_only,
        )
        .await;
    let cbc = |iv: &str| {
        EncryptionDecryptionAttributes::Symmetric(
            SymmetricEncryptionAttributes::builder()
                .mode(EncryptionMode::Cbc)
                .initialization_vector(iv)
                .build()
                .unwrap(),
        )
    };
    let data = server.data_client();
    let encrypt = |plain: &str, iv: &str| {
        data.encrypt_data()
            .key_identifier(&arn)
            .plain_text(plain)
            .encryption_attributes(cbc(iv))
            .send()
    };
    let block = "0011223344556677";
    let iv = "0000000000000000";
    encrypt(block, iv).await.unwrap();

    let refusals = [
        (
            code_and_message(
                data.decrypt_data()
                    .key_identifier(&arn)
                    .cipher_text(block)
                    .decryption_attributes(cbc(iv))
                    .send()
                    .await,
            ),
            "mode of use",
        ),
        (
            code_and_message(encrypt(block, &format!("{iv}{iv}")).await),
            "InitializationVector",
        ),
        (code_and_message(encrypt("00112233", iv).await), "multiple"),
    ];
    for ((code, message), says) in refusals {
        assert_eq!(code, "ValidationException", "{message}");
        assert!(message.contains(says), "{message} should say {says}");
    }

    server
        .client()
        .stop_key_usage()
        .key_identifier(&arn)
        .send()
        .await
        .unwrap();
    let (code, message) = code_and_message(encrypt(block, iv).await);
    assert_eq!(code, "ValidationException");
    assert!(message.contains("disabled"), "{message}");
}

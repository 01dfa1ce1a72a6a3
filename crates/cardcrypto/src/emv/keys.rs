//! EMV card keys: the ICC master key derived from an issuer master key (EMV 4.3 Book 2 annex
//! A1.4, options A and B), and the session keys derived from an ICC master key (annex A1.3 and
//! the schemes' variants).
//!
//! Which session key each AWS variant uses:
//!
//! | variant | application cryptogram key | ARPC key | secure messaging key |
//! |---|---|---|---|
//! | EMV common (Visa CVN 18/22, Mastercard CVN 20/21) | common SK, R = ATC ‖ 00…00 | the same | common SK, R = ARQC |
//! | Mastercard SKD (CVN 16/17) | common SK, R = ATC ‖ 0000 ‖ UN | ICC MK | common SK, R = ARQC |
//! | EMV2000 | EMV2000 tree SK (b = 4, H = 8, IV = 0: EMV's recommendation; the model has no tree parameters) | the same | the same |
//! | Visa (CVN 10) and Amex | the ICC MK itself (no session key) | ICC MK | Visa SM SK (ATC XOR) |
//! | UnionPay | TDES(MK)[0…0 ‖ ATC] ‖ TDES(MK)[0…0 ‖ ¬ATC] | the same | the same |
//!
//! Sources: EMV 4.3 Book 2 annex A1.3 and A1.4; EMV 4.1 Book 2 annex A1.3 (EMV2000 tree); Visa
//! CVN 10/18/22 and M/Chip CVN 16/17/20/21 as pyemv 1.5.0's `cvn` module implements them; the
//! UnionPay (PBOC) derivation as public worked examples describe it (see the tests). The Amex
//! rows follow the model (no ATC in `SessionKeyAmex`, so no session derivation) and IBM CCA's
//! XOR secure-messaging derivation; no public reference confirms them.

use sha1::{Digest, Sha1};
use zeroize::Zeroizing;

use super::{BLOCK, Tdes, adjust_parity, pack_digits, xor_into};
use crate::Error;
use paycrypt_keyblock::SecretBytes;

/// How the ICC master key is derived from the issuer master key (the model's
/// `MajorKeyDerivationMode`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum MasterKeyDerivation {
    /// `EMV_OPTION_A`: the rightmost 16 digits of PAN ‖ PSN.
    OptionA,
    /// `EMV_OPTION_B`: for PANs longer than 16 digits, 16 decimalised digits of
    /// SHA-1(PAN ‖ PSN); otherwise the same as option A.
    OptionB,
}

/// Derives the 16-byte ICC master key (parity-adjusted) from a TDES issuer master key `imk`
/// (16 or 24 bytes), the PAN (1 to 19 digits, ASCII) and the PAN sequence number (2 digits).
pub fn derive_icc_master_key(
    imk: &[u8],
    mode: MasterKeyDerivation,
    pan: &str,
    psn: &str,
) -> Result<SecretBytes, Error> {
    let y = match mode {
        MasterKeyDerivation::OptionB if pan.len() > 16 => option_b_block(pan, psn)?,
        _ => option_a_block(pan, psn)?,
    };
    let tdes = Tdes::new(imk, "issuer master key")?;
    let mut mk = Zeroizing::new(vec![0u8; 2 * BLOCK]);
    let mut inverted = y;
    xor_into(&mut inverted, &[0xFF; BLOCK]);
    mk[..BLOCK].copy_from_slice(&tdes.encrypted(&y));
    mk[BLOCK..].copy_from_slice(&tdes.encrypted(&inverted));
    adjust_parity(&mut mk);
    Ok(SecretBytes::new(mk.to_vec()))
}

/// Checks the PAN and PSN and returns PAN ‖ PSN as ASCII digits.
fn pan_psn(pan: &str, psn: &str) -> Result<Vec<u8>, Error> {
    if pan.is_empty() || pan.len() > 19 || !pan.bytes().all(|b| b.is_ascii_digit()) {
        return Err(Error::InvalidInput(
            "PAN must be 1 to 19 decimal digits".into(),
        ));
    }
    if psn.len() != 2 || !psn.bytes().all(|b| b.is_ascii_digit()) {
        return Err(Error::InvalidInput(
            "PAN sequence number must be 2 decimal digits".into(),
        ));
    }
    Ok([pan.as_bytes(), psn.as_bytes()].concat())
}

/// Option A's block Y: the rightmost 16 digits of PAN ‖ PSN, zero-padded on the left.
fn option_a_block(pan: &str, psn: &str) -> Result<[u8; BLOCK], Error> {
    let x = pan_psn(pan, psn)?;
    let mut digits = [b'0'; 16];
    let take = x.len().min(16);
    digits[16 - take..].copy_from_slice(&x[x.len() - take..]);
    Ok(to_block(&digits))
}

/// Option B's block Y: SHA-1 over PAN ‖ PSN (BCD, a leading zero digit if the count is odd),
/// then the first 16 decimal digits of the hash's hex form, completed if needed with the
/// hash's letter digits translated A..F -> 0..5.
fn option_b_block(pan: &str, psn: &str) -> Result<[u8; BLOCK], Error> {
    let mut x = pan_psn(pan, psn)?;
    if !x.len().is_multiple_of(2) {
        x.insert(0, b'0');
    }
    let hash = Sha1::digest(pack_digits(&x));
    let nibbles: Vec<u8> = hash.iter().flat_map(|b| [b >> 4, b & 0x0F]).collect();
    let decimal = nibbles.iter().copied().filter(|n| *n < 10);
    let letters = nibbles.iter().filter(|n| **n >= 10).map(|n| n - 10);
    let mut digits = [0u8; 16];
    for (d, n) in digits.iter_mut().zip(decimal.chain(letters)) {
        *d = b'0' + n;
    }
    Ok(to_block(&digits))
}

fn to_block(digits: &[u8; 16]) -> [u8; BLOCK] {
    let mut out = [0u8; BLOCK];
    out.copy_from_slice(&pack_digits(digits));
    out
}

/// Checks that an ICC master key is a double-length TDES key.
fn check_card_key(icc_mk: &[u8]) -> Result<Tdes, Error> {
    if icc_mk.len() != 2 * BLOCK {
        return Err(Error::InvalidKeyLength {
            what: "ICC master key",
            len: icc_mk.len(),
        });
    }
    Tdes::new(icc_mk, "ICC master key")
}

/// The EMV common session key (EMV 4.3 Book 2 annex A1.3.1) from a 16-byte ICC master key and
/// the 8-byte diversification value `r`: TDES(MK)[R with byte 2 = F0] ‖ TDES(MK)[R with byte 2
/// = 0F], parity-adjusted. R is ATC ‖ 00…00 for cryptograms, the ARQC for secure messaging,
/// ATC ‖ 0000 ‖ UN for Mastercard SKD, or the caller's `SessionDerivationData`.
pub fn common_session_key(icc_mk: &[u8], r: &[u8; BLOCK]) -> Result<SecretBytes, Error> {
    let tdes = check_card_key(icc_mk)?;
    let mut left = *r;
    left[2] = 0xF0;
    let mut right = *r;
    right[2] = 0x0F;
    let mut sk = Zeroizing::new(vec![0u8; 2 * BLOCK]);
    sk[..BLOCK].copy_from_slice(&tdes.encrypted(&left));
    sk[BLOCK..].copy_from_slice(&tdes.encrypted(&right));
    adjust_parity(&mut sk);
    Ok(SecretBytes::new(sk.to_vec()))
}

/// The diversification value ATC ‖ 00 00 00 00 00 00.
pub fn atc_diversifier(atc: &[u8; 2]) -> [u8; BLOCK] {
    let mut r = [0u8; BLOCK];
    r[..2].copy_from_slice(atc);
    r
}

/// The Mastercard SKD session key (M/Chip CVN 16/17): the common session key with
/// R = ATC ‖ 00 00 ‖ UN.
pub fn mastercard_session_key(
    icc_mk: &[u8],
    atc: &[u8; 2],
    unpredictable_number: &[u8; 4],
) -> Result<SecretBytes, Error> {
    let mut r = atc_diversifier(atc);
    r[4..].copy_from_slice(unpredictable_number);
    common_session_key(icc_mk, &r)
}

/// The shape of an EMV2000 key tree (EMV 4.1 Book 2 annex A1.3): branch factor b, height H and
/// the 16-byte initial value. b^H must exceed 65535 so that every ATC has a leaf.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Emv2000Tree {
    /// Children per node (EMV recommends 4, or 2 with height 16).
    pub branch_factor: u8,
    /// Levels of intermediate keys (EMV recommends 8, or 16 with branch factor 2).
    pub height: u8,
    /// The initial "grandparent" value (EMV recommends zeros).
    pub iv: [u8; 16],
}

impl Default for Emv2000Tree {
    /// The tree EMV recommends and AWS's `Emv2000` variant uses: b = 4, H = 8, IV = 0.
    fn default() -> Self {
        Self {
            branch_factor: 4,
            height: 8,
            iv: [0; 16],
        }
    }
}

/// The EMV2000 tree session key for `atc` (EMV 4.1 Book 2 annex A1.3.1), parity-adjusted.
///
/// With F(X, Y, j) = TDES(X)[Y_L ⊕ (j mod b)] ‖ TDES(X)[Y_R ⊕ (j mod b) ⊕ F0], the walk starts
/// with parent P = MK and grandparent G = IV; each level i = 1..H-1 replaces (P, G) with
/// (F(P, G, ⌊ATC / b^(H-i)⌋), P), and the session key is F(P, G, ATC) ⊕ G.
pub fn emv2000_session_key(
    icc_mk: &[u8],
    atc: &[u8; 2],
    tree: &Emv2000Tree,
) -> Result<SecretBytes, Error> {
    check_card_key(icc_mk)?;
    let b = u128::from(tree.branch_factor);
    let height = u32::from(tree.height);
    // b <= 255 and height <= 16, so b^height fits in a u128.
    if b < 2 || !(1..=16).contains(&height) || b.pow(height) <= 0xFFFF {
        return Err(Error::InvalidInput(
            "EMV2000 tree: branch factor ^ height must exceed 65535 with height 1..16".into(),
        ));
    }
    let atc = u128::from(u16::from_be_bytes(*atc));
    // The child index at each level, reduced mod b (so below 256).
    let index = |divisor: u128| ((atc / divisor) % b) as u8;
    let mut parent = Zeroizing::new(icc_mk.to_vec());
    let mut grandparent = Zeroizing::new(tree.iv.to_vec());
    for level in 1..height {
        let child = tree_step(&parent, &grandparent, index(b.pow(height - level)))?;
        grandparent = std::mem::replace(&mut parent, child);
    }
    let mut sk = tree_step(&parent, &grandparent, index(1))?;
    xor_into(&mut sk, &grandparent);
    adjust_parity(&mut sk);
    Ok(SecretBytes::new(sk.to_vec()))
}

/// One EMV2000 tree step F(X, Y, j) for j already reduced mod b.
fn tree_step(x: &[u8], y: &[u8], j: u8) -> Result<Zeroizing<Vec<u8>>, Error> {
    let tdes = Tdes::new(x, "EMV2000 tree key")?;
    let mut left = [0u8; BLOCK];
    let mut right = [0u8; BLOCK];
    left.copy_from_slice(&y[..BLOCK]);
    right.copy_from_slice(&y[BLOCK..]);
    let j = u64::from(j).to_be_bytes();
    xor_into(&mut left, &j);
    xor_into(&mut right, &j);
    right[BLOCK - 1] ^= 0xF0;
    let mut out = Zeroizing::new(vec![0u8; 2 * BLOCK]);
    out[..BLOCK].copy_from_slice(&tdes.encrypted(&left));
    out[BLOCK..].copy_from_slice(&tdes.encrypted(&right));
    Ok(out)
}

/// The Visa secure-messaging session key (Visa CVN 10/18; also used here for Amex): MK_L ⊕
/// (00…00 ‖ ATC) ‖ MK_R ⊕ (00…00 ‖ ¬ATC), parity-adjusted.
pub fn visa_sm_session_key(icc_mk: &[u8], atc: &[u8; 2]) -> Result<SecretBytes, Error> {
    check_card_key(icc_mk)?;
    let mut sk = Zeroizing::new(icc_mk.to_vec());
    let (left, right) = unionpay_blocks(atc);
    xor_into(&mut sk[..BLOCK], &left);
    xor_into(&mut sk[BLOCK..], &right);
    adjust_parity(&mut sk);
    Ok(SecretBytes::new(sk.to_vec()))
}

/// The blocks 00…00 ‖ ATC and 00…00 ‖ (ATC ⊕ FFFF).
fn unionpay_blocks(atc: &[u8; 2]) -> ([u8; BLOCK], [u8; BLOCK]) {
    let mut left = [0u8; BLOCK];
    left[BLOCK - 2..].copy_from_slice(atc);
    let mut right = left;
    right[BLOCK - 2] ^= 0xFF;
    right[BLOCK - 1] ^= 0xFF;
    (left, right)
}

/// The UnionPay (PBOC / UICS) session key: TDES(MK)[00…00 ‖ ATC] ‖ TDES(MK)[00…00 ‖ ¬ATC],
/// returned as computed (not parity-adjusted, like the published examples; DES ignores the
/// parity bits).
pub fn unionpay_session_key(icc_mk: &[u8], atc: &[u8; 2]) -> Result<SecretBytes, Error> {
    let tdes = check_card_key(icc_mk)?;
    let (left, right) = unionpay_blocks(atc);
    let mut sk = Zeroizing::new(vec![0u8; 2 * BLOCK]);
    sk[..BLOCK].copy_from_slice(&tdes.encrypted(&left));
    sk[BLOCK..].copy_from_slice(&tdes.encrypted(&right));
    Ok(SecretBytes::new(sk.to_vec()))
}

/// The card data every derivation starts from: which option derives the ICC master key, and
/// the PAN and PAN sequence number (ASCII digits).
#[derive(Debug, Clone, Copy)]
pub struct Card<'a> {
    /// The model's `MajorKeyDerivationMode`.
    pub mode: MasterKeyDerivation,
    /// The PAN, 1 to 19 digits.
    pub pan: &'a str,
    /// The PAN sequence number, 2 digits.
    pub psn: &'a str,
}

impl Card<'_> {
    /// The ICC master key under issuer master key `imk`.
    pub fn master_key(&self, imk: &[u8]) -> Result<SecretBytes, Error> {
        derive_icc_master_key(imk, self.mode, self.pan, self.psn)
    }
}

/// The model's `SessionKeyDerivation` for application cryptograms, with its transaction values
/// decoded to bytes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum AcSessionKey {
    /// `EmvCommon`: common session key with R = ATC ‖ 00…00.
    EmvCommon {
        /// Application transaction counter.
        atc: [u8; 2],
    },
    /// `Mastercard`: common session key with R = ATC ‖ 0000 ‖ UN.
    Mastercard {
        /// Application transaction counter.
        atc: [u8; 2],
        /// Unpredictable number.
        unpredictable_number: [u8; 4],
    },
    /// `Emv2000`: the EMV2000 tree with the recommended shape.
    Emv2000 {
        /// Application transaction counter.
        atc: [u8; 2],
    },
    /// `Amex`: no session key, the ICC master key itself.
    Amex,
    /// `Visa` (CVN 10): no session key, the ICC master key itself.
    Visa,
    /// `UnionPay`: the UnionPay session key.
    UnionPay {
        /// Application transaction counter.
        atc: [u8; 2],
    },
}

/// The two keys of an authorization: the one the card computes the application cryptogram
/// with, and the one the issuer computes the ARPC with.
#[derive(Debug)]
pub struct AcKeys {
    /// Key for ARQC, TC and AAC.
    pub cryptogram: SecretBytes,
    /// Key for ARPC methods 1 and 2.
    pub response: SecretBytes,
}

/// Derives the cryptogram and response keys for `card` from the IMK-AC (`TR31_E0`).
/// Mastercard SKD answers with the ICC master key (M/Chip CVN 16/17: no ARPC session key);
/// every other variant answers under its cryptogram key.
pub fn derive_ac_keys(
    imk_ac: &[u8],
    card: &Card<'_>,
    derivation: &AcSessionKey,
) -> Result<AcKeys, Error> {
    let mk = card.master_key(imk_ac)?;
    let mk_bytes = mk.expose();
    let cryptogram = match derivation {
        AcSessionKey::EmvCommon { atc } => common_session_key(mk_bytes, &atc_diversifier(atc))?,
        AcSessionKey::Mastercard {
            atc,
            unpredictable_number,
        } => mastercard_session_key(mk_bytes, atc, unpredictable_number)?,
        AcSessionKey::Emv2000 { atc } => {
            emv2000_session_key(mk_bytes, atc, &Emv2000Tree::default())?
        }
        AcSessionKey::Amex | AcSessionKey::Visa => mk.clone(),
        AcSessionKey::UnionPay { atc } => unionpay_session_key(mk_bytes, atc)?,
    };
    let response = match derivation {
        AcSessionKey::Mastercard { .. } => mk,
        _ => cryptogram.clone(),
    };
    Ok(AcKeys {
        cryptogram,
        response,
    })
}

/// The model's `SessionKeyDerivationMode` for secure messaging (EMV MAC and PIN change).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SmSessionKeyMode {
    /// `EMV_COMMON_SESSION_KEY`: common session key, R = ARQC.
    EmvCommon,
    /// `MASTERCARD_SESSION_KEY`: common session key, R = ARQC.
    Mastercard,
    /// `EMV2000`: the EMV2000 tree over the ATC.
    Emv2000,
    /// `AMEX`: the Visa XOR derivation over the ATC.
    Amex,
    /// `VISA`: the Visa XOR derivation over the ATC.
    Visa,
    /// `UNION_PAY`: the UnionPay derivation over the ATC.
    UnionPay,
}

/// The model's `SessionKeyDerivationValue`: the ARQC or the ATC.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SmDiversifier {
    /// `ApplicationCryptogram`: the 8-byte ARQC.
    ApplicationCryptogram([u8; BLOCK]),
    /// `ApplicationTransactionCounter`: the 2-byte ATC.
    Atc([u8; 2]),
}

/// Derives a secure-messaging session key (SMI from an E2 key, SMC from an E1 key) for `card`.
/// As on AWS, the EMV common and Mastercard modes take the ARQC and the others the ATC; the
/// other value is refused.
pub fn derive_sm_session_key(
    imk: &[u8],
    card: &Card<'_>,
    mode: SmSessionKeyMode,
    value: &SmDiversifier,
) -> Result<SecretBytes, Error> {
    let mk = card.master_key(imk)?;
    let mk = mk.expose();
    match (mode, value) {
        (
            SmSessionKeyMode::EmvCommon | SmSessionKeyMode::Mastercard,
            SmDiversifier::ApplicationCryptogram(arqc),
        ) => common_session_key(mk, arqc),
        (SmSessionKeyMode::Emv2000, SmDiversifier::Atc(atc)) => {
            emv2000_session_key(mk, atc, &Emv2000Tree::default())
        }
        (SmSessionKeyMode::Amex | SmSessionKeyMode::Visa, SmDiversifier::Atc(atc)) => {
            visa_sm_session_key(mk, atc)
        }
        (SmSessionKeyMode::UnionPay, SmDiversifier::Atc(atc)) => unionpay_session_key(mk, atc),
        (SmSessionKeyMode::EmvCommon | SmSessionKeyMode::Mastercard, SmDiversifier::Atc(_)) => {
            Err(Error::InvalidInput(
                "this session key derivation mode needs the application cryptogram".into(),
            ))
        }
        (_, SmDiversifier::ApplicationCryptogram(_)) => Err(Error::InvalidInput(
            "this session key derivation mode needs the application transaction counter".into(),
        )),
    }
}

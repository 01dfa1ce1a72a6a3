//! The wire form of certificates and certificate signing requests.
//!
//! AWS Payment Cryptography carries every certificate as standard base64 (with padding) of
//! the PEM text (RFC 7468): `-----BEGIN CERTIFICATE-----`, the DER in base64 lines of 64
//! characters, `-----END CERTIFICATE-----`, each line ending in `\n`. The wire text therefore
//! starts `LS0tLS1CRUdJTi`. A chain is base64 of the concatenated PEM blocks.
//!
//! Reading is lenient about what callers send: base64 of PEM, the PEM text itself, or base64
//! of bare DER (one certificate or several concatenated); whitespace and line breaks
//! anywhere in the base64, missing padding, CRLF line ends and explanatory text between PEM
//! blocks are all accepted. PEM blocks must be labelled `CERTIFICATE` (or the legacy
//! `X509 CERTIFICATE`) and carry no headers. Each certificate returned is one complete DER
//! SEQUENCE; it is not parsed further here (see [`crate::Certificate::parse`]).

use base64::Engine;
use base64::alphabet::STANDARD;
use base64::engine::general_purpose::{GeneralPurpose, GeneralPurposeConfig};
use base64::engine::{DecodePaddingMode, general_purpose};
use der::asn1::AnyRef;
use der::{Encode, Reader, SliceReader, Tag, Tagged};

use crate::error::Error;

const CERTIFICATE: &str = "CERTIFICATE";
const CERTIFICATE_REQUEST: &str = "CERTIFICATE REQUEST";

/// Standard alphabet, padding optional on input.
const LENIENT: GeneralPurpose = GeneralPurpose::new(
    &STANDARD,
    GeneralPurposeConfig::new().with_decode_padding_mode(DecodePaddingMode::Indifferent),
);

/// PEM text of `der` under `label`, 64-character lines, `\n` line ends.
fn pem(label: &str, der: &[u8]) -> String {
    let body = general_purpose::STANDARD.encode(der);
    let mut out = String::with_capacity(body.len() + body.len() / 64 + 2 * label.len() + 40);
    out.push_str("-----BEGIN ");
    out.push_str(label);
    out.push_str("-----\n");
    for line in body.as_bytes().chunks(64) {
        // Base64 output is ASCII, so every chunk is valid UTF-8.
        out.push_str(std::str::from_utf8(line).unwrap_or_default());
        out.push('\n');
    }
    out.push_str("-----END ");
    out.push_str(label);
    out.push_str("-----\n");
    out
}

/// The PEM text of a DER certificate (`-----BEGIN CERTIFICATE-----` ...).
pub fn to_pem(der: &[u8]) -> String {
    pem(CERTIFICATE, der)
}

/// The AWS wire form of a DER certificate: base64 of its PEM text.
///
/// ```
/// let wire = paycrypt_pki::to_wire(&[0x30, 0x00]);
/// assert!(wire.starts_with("LS0tLS1CRUdJTi"));
/// assert_eq!(paycrypt_pki::from_wire(&wire)?, vec![0x30, 0x00]);
/// # Ok::<(), paycrypt_pki::Error>(())
/// ```
pub fn to_wire(der: &[u8]) -> String {
    general_purpose::STANDARD.encode(to_pem(der))
}

/// The AWS wire form of several DER certificates: base64 of their concatenated PEM texts.
pub fn chain_to_wire<D: AsRef<[u8]>>(ders: &[D]) -> String {
    let text: String = ders.iter().map(|d| to_pem(d.as_ref())).collect();
    general_purpose::STANDARD.encode(text)
}

/// The AWS wire form of a DER PKCS#10 request: base64 of its PEM text labelled
/// `CERTIFICATE REQUEST`.
pub fn csr_to_wire(der: &[u8]) -> String {
    general_purpose::STANDARD.encode(pem(CERTIFICATE_REQUEST, der))
}

/// Reads exactly one certificate from its wire form (see the module documentation for
/// what is accepted) and returns its DER.
///
/// # Errors
/// [`Error::InvalidWireForm`] when the text is not a certificate in an accepted form,
/// [`Error::MultipleCertificates`] when it holds more than one.
pub fn from_wire(s: &str) -> Result<Vec<u8>, Error> {
    let mut certs = from_wire_chain(s)?;
    match certs.len() {
        1 => Ok(certs.remove(0)),
        n => Err(Error::MultipleCertificates(n)),
    }
}

/// Reads one or more certificates from their wire form, in the order given, and returns
/// their DER.
///
/// # Errors
/// [`Error::InvalidWireForm`] when the text is not certificates in an accepted form.
pub fn from_wire_chain(s: &str) -> Result<Vec<Vec<u8>>, Error> {
    let text = s.trim();
    if text.is_empty() {
        return Err(Error::InvalidWireForm("empty"));
    }
    if text.contains("-----BEGIN") {
        return from_pem(text);
    }
    let compact: Vec<u8> = text.bytes().filter(|b| !b.is_ascii_whitespace()).collect();
    let decoded = LENIENT
        .decode(&compact)
        .map_err(|_| Error::InvalidWireForm("not base64"))?;
    let inner = decoded.trim_ascii_start();
    if inner.starts_with(b"-----BEGIN") {
        let pem_text = std::str::from_utf8(inner)
            .map_err(|_| Error::InvalidWireForm("PEM text is not UTF-8"))?;
        from_pem(pem_text)
    } else {
        split_der(&decoded)
    }
}

/// Reads the `CERTIFICATE` blocks of a PEM text.
fn from_pem(text: &str) -> Result<Vec<Vec<u8>>, Error> {
    let mut certs = Vec::new();
    // (end line expected, base64 body so far) while inside a block.
    let mut open: Option<(String, Vec<u8>)> = None;
    for line in text.lines().map(str::trim) {
        match open.as_mut() {
            None => {
                if let Some(label) = line
                    .strip_prefix("-----BEGIN ")
                    .and_then(|rest| rest.strip_suffix("-----"))
                {
                    if label != CERTIFICATE && label != "X509 CERTIFICATE" {
                        return Err(Error::InvalidWireForm("PEM block is not a CERTIFICATE"));
                    }
                    open = Some((format!("-----END {label}-----"), Vec::new()));
                } else if line.starts_with("-----") {
                    return Err(Error::InvalidWireForm("malformed PEM boundary"));
                }
            }
            Some((end, body)) => {
                if line == end.as_str() {
                    let der = LENIENT
                        .decode(&*body)
                        .map_err(|_| Error::InvalidWireForm("PEM body is not base64"))?;
                    let mut one = split_der(&der)?;
                    if one.len() != 1 {
                        return Err(Error::InvalidWireForm(
                            "PEM block holds more than one DER value",
                        ));
                    }
                    certs.append(&mut one);
                    open = None;
                } else if line.starts_with("-----") {
                    return Err(Error::InvalidWireForm("PEM END does not match its BEGIN"));
                } else if line.contains(':') {
                    return Err(Error::InvalidWireForm("PEM headers are not supported"));
                } else {
                    body.extend(line.bytes().filter(|b| !b.is_ascii_whitespace()));
                }
            }
        }
    }
    if open.is_some() {
        return Err(Error::InvalidWireForm("PEM block has no END line"));
    }
    if certs.is_empty() {
        return Err(Error::InvalidWireForm("no CERTIFICATE block"));
    }
    Ok(certs)
}

/// Splits concatenated DER values, each of which must be a SEQUENCE.
fn split_der(bytes: &[u8]) -> Result<Vec<Vec<u8>>, Error> {
    let bad = |_| Error::InvalidWireForm("not DER");
    let mut reader = SliceReader::new(bytes).map_err(bad)?;
    let mut out = Vec::new();
    while !reader.is_finished() {
        let value: AnyRef<'_> = reader.decode().map_err(bad)?;
        if value.tag() != Tag::Sequence {
            return Err(Error::InvalidWireForm("DER value is not a SEQUENCE"));
        }
        out.push(value.to_der().map_err(bad)?);
    }
    if out.is_empty() {
        return Err(Error::InvalidWireForm("empty"));
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    const DER_A: &[u8] = &[0x30, 0x03, 0x02, 0x01, 0x05];
    const DER_B: &[u8] = &[0x30, 0x00];

    #[test]
    fn pem_layout() {
        let der = vec![0x30, 0x81, 0x80]
            .into_iter()
            .chain([7u8; 128])
            .collect::<Vec<_>>();
        let text = to_pem(&der);
        let lines: Vec<&str> = text.lines().collect();
        assert_eq!(lines[0], "-----BEGIN CERTIFICATE-----");
        assert_eq!(lines[1].len(), 64);
        assert_eq!(lines[2].len(), 64);
        assert_eq!(*lines.last().unwrap(), "-----END CERTIFICATE-----");
        assert!(text.ends_with("-----\n"));
        assert_eq!(from_wire(&text).unwrap(), der);
    }

    #[test]
    fn accepted_forms() {
        let b64_der = general_purpose::STANDARD.encode(DER_A);
        let pem_text = to_pem(DER_A);
        let crlf = pem_text.replace('\n', "\r\n");
        let wrapped = to_wire(DER_A)
            .as_bytes()
            .chunks(10)
            .map(|c| std::str::from_utf8(c).unwrap())
            .collect::<Vec<_>>()
            .join("\n");
        let unpadded = to_wire(DER_A).trim_end_matches('=').to_string();
        let with_text = format!("subject=CN=x\n{pem_text}");
        for form in [
            b64_der,
            pem_text,
            crlf,
            wrapped,
            unpadded,
            with_text,
            to_wire(DER_A),
        ] {
            assert_eq!(from_wire(&form).unwrap(), DER_A, "{form:?}");
        }
    }

    #[test]
    fn chains() {
        let wire = chain_to_wire(&[DER_A, DER_B]);
        assert_eq!(
            from_wire_chain(&wire).unwrap(),
            vec![DER_A.to_vec(), DER_B.to_vec()]
        );
        assert_eq!(from_wire(&wire), Err(Error::MultipleCertificates(2)));
        let concatenated_der = general_purpose::STANDARD.encode([DER_A, DER_B].concat());
        assert_eq!(from_wire_chain(&concatenated_der).unwrap().len(), 2);
    }

    #[test]
    fn rejected_forms() {
        let key = general_purpose::STANDARD.encode(pem("PRIVATE KEY", DER_A));
        let headers = to_pem(DER_A).replace("-----\n", "-----\nProc-Type: 4,ENCRYPTED\n");
        let unterminated = to_pem(DER_A).replace("-----END CERTIFICATE-----\n", "");
        let mismatched = to_pem(DER_A).replace("END CERTIFICATE", "END CERTIFICATE REQUEST");
        let not_sequence = general_purpose::STANDARD.encode([0x02, 0x01, 0x01]);
        let trailing = general_purpose::STANDARD.encode([DER_A, &[0x30][..]].concat());
        for bad in [
            "",
            "   ",
            "!!!!",
            key.as_str(),
            headers.as_str(),
            unterminated.as_str(),
            mismatched.as_str(),
            not_sequence.as_str(),
            trailing.as_str(),
            "LS0tLS1CRUdJTi",
        ] {
            assert!(
                matches!(from_wire_chain(bad), Err(Error::InvalidWireForm(_))),
                "{bad:?}"
            );
        }
    }

    #[test]
    fn csr_label() {
        let wire = csr_to_wire(DER_B);
        let text = String::from_utf8(general_purpose::STANDARD.decode(wire).unwrap()).unwrap();
        assert_eq!(
            text,
            "-----BEGIN CERTIFICATE REQUEST-----\nMAA=\n-----END CERTIFICATE REQUEST-----\n"
        );
    }
}

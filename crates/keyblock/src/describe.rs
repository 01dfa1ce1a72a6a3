//! What a key block says about itself, read without any key: the header of a TR-31 block, or the
//! public facts of a TR-34 block (given as hex of its DER). Nothing is decrypted, authenticated
//! or verified. `paycrypt keyblock inspect` prints [`inspect`]'s answer as JSON, and the console's
//! key block inspector shows the same facts; the field names below are that JSON's.
//!
//! TR-31: `{"format": "TR-31", "length", "header": {"version", "key_usage", "algorithm",
//! "mode_of_use", "key_version", "exportability", "optional_blocks": [{"id", "data"}],
//! "key_context"}}`, each header field as the header's characters.
//!
//! TR-34: `{"format": "TR-34", "layout": "AWS" | "TR-34-2019 annex B" | "CMS",
//! "kdh": {"issuer", "serial"}, "krd": {"issuer", "serial"}, "header",
//! "freshness": {"random_nonce": HEX} | {"signing_time": RFC3339}, "content_cipher",
//! "key_transport"}`; issuers in RFC 4514 form (`null` if the name does not parse), serials as
//! the INTEGER's content octets in hex.

use serde::Serialize;

use crate::Error;
use crate::tr31::Header;
use crate::tr34::{self, Freshness, IssuerSerial};

/// The header fields of a TR-31 block, as the header's characters.
#[derive(Debug, Serialize)]
pub struct HeaderFields<'a> {
    /// The version: `A`, `B`, `C` or `D`.
    pub version: String,
    /// The key usage, two characters (`P0`, `K1`, ...).
    pub key_usage: &'a str,
    /// The algorithm, one character (`T`, `A`, `H`, ...).
    pub algorithm: String,
    /// The mode of use, one character.
    pub mode_of_use: String,
    /// The key version number, two characters.
    pub key_version: &'a str,
    /// The exportability, one character (`E`, `N`, `S`).
    pub exportability: String,
    /// The optional blocks, in order.
    pub optional_blocks: Vec<OptionalBlockFields<'a>>,
}

/// One optional block of a TR-31 header.
#[derive(Debug, Serialize)]
pub struct OptionalBlockFields<'a> {
    /// The block's two-character id.
    pub id: &'a str,
    /// The block's data.
    pub data: &'a str,
}

impl<'a> HeaderFields<'a> {
    /// The fields of `h`.
    pub fn new(h: &'a Header) -> Self {
        Self {
            version: h.version.as_char().to_string(),
            key_usage: h.key_usage.as_str(),
            algorithm: h.algorithm.as_char().to_string(),
            mode_of_use: h.mode_of_use.as_char().to_string(),
            key_version: h.key_version.as_str(),
            exportability: h.exportability.as_char().to_string(),
            optional_blocks: h
                .optional_blocks
                .iter()
                .map(|b| OptionalBlockFields {
                    id: b.id(),
                    data: b.data(),
                })
                .collect(),
        }
    }
}

/// What [`inspect`] read from a block.
#[derive(Debug)]
pub enum Inspection {
    /// A TR-31 block of `length` characters, and its header.
    Tr31 {
        /// The block's length in characters.
        length: usize,
        /// The block's header.
        header: Header,
    },
    /// A TR-34 block's public facts.
    Tr34(tr34::Inspection),
}

/// Why [`inspect`] could not read a block; the messages never echo the block.
#[derive(Debug, thiserror::Error)]
pub enum InspectError {
    #[error(
        "not a TR-31 key block (the first character must be the version A, B, C or D) nor hex of \
         a TR-34 key block; other key block formats are not supported"
    )]
    /// Neither a TR-31 block nor hex.
    NotAKeyBlock,
    #[error("invalid TR-31 key block: {0}")]
    /// A TR-31 block whose header does not parse.
    Tr31(Error),
    #[error("not a TR-31 key block, and not a TR-34 key block: {0}")]
    /// Hex that is not a TR-34 block.
    Tr34(String),
}

/// Reads a TR-31 block, or a TR-34 block as hex of its DER (surrounding whitespace ignored).
pub fn inspect(block: &str) -> Result<Inspection, InspectError> {
    let block = block.trim();
    // TR-31 blocks start with their version character; DER hex starts with a digit.
    match Header::parse(block) {
        Ok(header) => Ok(Inspection::Tr31 {
            length: block.len(),
            header,
        }),
        Err(Error::UnknownVersion(_))
            if !block.is_empty() && block.bytes().all(|c| c.is_ascii_hexdigit()) =>
        {
            if !block.len().is_multiple_of(2) {
                return Err(InspectError::Tr34(format!(
                    "the key block has an odd number of hex digits ({})",
                    block.len()
                )));
            }
            let der = hex::decode(block)
                .map_err(|_| InspectError::Tr34("the key block is not hexadecimal".into()))?;
            tr34::inspect(&der)
                .map(Inspection::Tr34)
                .map_err(|e| InspectError::Tr34(e.to_string()))
        }
        Err(Error::UnknownVersion(_)) => Err(InspectError::NotAKeyBlock),
        Err(e) => Err(InspectError::Tr31(e)),
    }
}

#[derive(Serialize)]
#[serde(untagged)]
enum Described<'a> {
    Tr31 {
        format: &'static str,
        length: usize,
        header: Tr31Described<'a>,
    },
    Tr34 {
        format: &'static str,
        layout: &'static str,
        kdh: CertificateId,
        krd: CertificateId,
        header: &'a str,
        freshness: FreshnessFields,
        content_cipher: &'static str,
        key_transport: &'static str,
    },
}

#[derive(Serialize)]
struct Tr31Described<'a> {
    #[serde(flatten)]
    fields: HeaderFields<'a>,
    key_context: String,
}

/// A certificate named by issuer (RFC 4514, `null` if the name does not parse) and serial
/// number (hex).
#[derive(Serialize)]
struct CertificateId {
    issuer: Option<String>,
    serial: String,
}

impl CertificateId {
    fn new(id: &IssuerSerial) -> Self {
        Self {
            issuer: id.issuer(),
            serial: id.serial_hex(),
        }
    }
}

/// `{"random_nonce": HEX}` or `{"signing_time": RFC3339}`.
#[derive(Serialize)]
#[serde(rename_all = "snake_case")]
enum FreshnessFields {
    RandomNonce(String),
    SigningTime(String),
}

impl Serialize for Inspection {
    fn serialize<S: serde::Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        let described = match self {
            Inspection::Tr31 { length, header } => Described::Tr31 {
                format: "TR-31",
                length: *length,
                header: Tr31Described {
                    fields: HeaderFields::new(header),
                    key_context: header.key_context.as_char().to_string(),
                },
            },
            Inspection::Tr34(seen) => Described::Tr34 {
                format: "TR-34",
                layout: seen.layout.name(),
                kdh: CertificateId::new(&seen.kdh),
                krd: CertificateId::new(&seen.krd),
                header: &seen.header,
                freshness: match &seen.freshness {
                    Freshness::RandomNonce(nonce) => {
                        FreshnessFields::RandomNonce(hex::encode_upper(nonce))
                    }
                    Freshness::SigningTime(time) => FreshnessFields::SigningTime(time.to_string()),
                },
                content_cipher: seen.content_cipher.name(),
                key_transport: seen.key_transport.name(),
            },
        };
        described.serialize(serializer)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reads_a_tr31_header_and_refuses_what_is_no_key_block() {
        let block = "B0096P0TE00E0000".to_string() + &"0".repeat(80);
        let seen = inspect(&format!(" {block}\n")).unwrap();
        let json = serde_json::to_value(&seen).unwrap();
        assert_eq!(json["format"], "TR-31");
        assert_eq!(json["length"], 96);
        assert_eq!(json["header"]["key_usage"], "P0");
        assert_eq!(json["header"]["key_context"], "0");
        assert!(matches!(inspect("hello"), Err(InspectError::NotAKeyBlock)));
        assert!(inspect("").is_err());
        assert!(matches!(inspect("B00"), Err(InspectError::Tr31(_))));
        let odd = inspect("308").unwrap_err().to_string();
        assert!(odd.contains("odd number"), "{odd}");
        assert!(matches!(inspect("3080"), Err(InspectError::Tr34(_))));
    }

    #[test]
    fn freshness_json_shape() {
        let nonce = FreshnessFields::RandomNonce("A1B2C3D4E5F60718".into());
        assert_eq!(
            serde_json::to_value(nonce).unwrap(),
            serde_json::json!({"random_nonce": "A1B2C3D4E5F60718"})
        );
        let time = FreshnessFields::SigningTime("2023-06-09T23:39:46Z".into());
        assert_eq!(
            serde_json::to_value(time).unwrap(),
            serde_json::json!({"signing_time": "2023-06-09T23:39:46Z"})
        );
    }
}

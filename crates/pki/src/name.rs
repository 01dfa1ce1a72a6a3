//! Subject names: the fields of the API's `CertificateSubjectType` (common name,
//! organization, unit, city, state, country, email) and their encoding as an X.501 `Name`
//! (RFC 5280 section 4.1.2.4), one attribute per RDN in the order
//! C, ST, L, O, OU, CN, emailAddress. Directory strings are UTF8String (as RFC 5280 asks of
//! new certificates), the country a two-letter PrintableString, the email an IA5String
//! (PKCS#9 emailAddress).

use const_oid::ObjectIdentifier;
use const_oid::db::{rfc2985, rfc4519};
use der::Encode;
use der::asn1::{Any, Ia5StringRef, PrintableStringRef, Utf8StringRef};
use x509_cert::attr::AttributeTypeAndValue;
use x509_cert::name::{RdnSequence, RelativeDistinguishedName};

use crate::error::Error;

/// The fields of a subject name. Only the common name is required.
///
/// Upper bounds follow RFC 5280 appendix A (and the service model): common name,
/// organization and unit 64 characters, city and state 128, email 255; the country is two
/// ASCII letters.
///
/// ```
/// use paycrypt_pki::SubjectFields;
/// let subject = SubjectFields {
///     organization: Some("111122223333".into()),
///     ..SubjectFields::new("paycrypt signing")
/// };
/// assert_eq!(subject.common_name, "paycrypt signing");
/// ```
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct SubjectFields {
    /// commonName (CN).
    pub common_name: String,
    /// organizationName (O).
    pub organization: Option<String>,
    /// organizationalUnitName (OU).
    pub organizational_unit: Option<String>,
    /// countryName (C), two letters.
    pub country: Option<String>,
    /// stateOrProvinceName (ST).
    pub state_or_province: Option<String>,
    /// localityName (L), the model's `City`.
    pub locality: Option<String>,
    /// PKCS#9 emailAddress.
    pub email_address: Option<String>,
}

/// How one field is encoded.
#[derive(Clone, Copy)]
enum Kind {
    Utf8,
    Country,
    Email,
}

impl SubjectFields {
    /// A subject with only a common name.
    pub fn new(common_name: impl Into<String>) -> Self {
        Self {
            common_name: common_name.into(),
            ..Self::default()
        }
    }

    /// The DER of the `Name` these fields make.
    ///
    /// # Errors
    /// [`Error::InvalidSubject`] for an empty or over-long field, a country that is not two
    /// ASCII letters, or an email that is not ASCII.
    pub(crate) fn to_name_der(&self) -> Result<Vec<u8>, Error> {
        let fields: [(&'static str, ObjectIdentifier, Option<&str>, usize, Kind); 7] = [
            (
                "country",
                rfc4519::C,
                self.country.as_deref(),
                2,
                Kind::Country,
            ),
            (
                "state_or_province",
                rfc4519::ST,
                self.state_or_province.as_deref(),
                128,
                Kind::Utf8,
            ),
            (
                "locality",
                rfc4519::L,
                self.locality.as_deref(),
                128,
                Kind::Utf8,
            ),
            (
                "organization",
                rfc4519::O,
                self.organization.as_deref(),
                64,
                Kind::Utf8,
            ),
            (
                "organizational_unit",
                rfc4519::OU,
                self.organizational_unit.as_deref(),
                64,
                Kind::Utf8,
            ),
            (
                "common_name",
                rfc4519::CN,
                Some(self.common_name.as_str()),
                64,
                Kind::Utf8,
            ),
            (
                "email_address",
                rfc2985::PKCS_9_AT_EMAIL_ADDRESS,
                self.email_address.as_deref(),
                255,
                Kind::Email,
            ),
        ];
        let mut rdns = Vec::new();
        for (field, oid, value, max, kind) in fields {
            let Some(value) = value else { continue };
            let invalid = |reason| Error::InvalidSubject { field, reason };
            if value.is_empty() {
                return Err(invalid("empty"));
            }
            if value.chars().count() > max {
                return Err(invalid("too long"));
            }
            let encoded = match kind {
                Kind::Utf8 => Utf8StringRef::new(value).and_then(|s| Any::encode_from(&s)),
                Kind::Country => {
                    if value.len() != 2 || !value.bytes().all(|b| b.is_ascii_alphabetic()) {
                        return Err(invalid("not two ASCII letters"));
                    }
                    PrintableStringRef::new(value).and_then(|s| Any::encode_from(&s))
                }
                Kind::Email => {
                    if !value.is_ascii() {
                        return Err(invalid("not ASCII"));
                    }
                    Ia5StringRef::new(value).and_then(|s| Any::encode_from(&s))
                }
            }
            .map_err(|_| invalid("cannot be encoded"))?;
            let rdn = RelativeDistinguishedName::try_from(vec![AttributeTypeAndValue {
                oid,
                value: encoded,
            }])
            .map_err(|_| invalid("cannot be encoded"))?;
            rdns.push(rdn);
        }
        RdnSequence::from(rdns)
            .to_der()
            .map_err(|_| Error::Encoding("subject name"))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use der::Decode;
    use x509_cert::name::Name;

    #[test]
    fn all_fields_in_order() {
        let s = SubjectFields {
            common_name: "Test CN".into(),
            organization: Some("Org".into()),
            organizational_unit: Some("Unit".into()),
            country: Some("US".into()),
            state_or_province: Some("WA".into()),
            locality: Some("Seattle".into()),
            email_address: Some("a@example.com".into()),
        };
        let name = Name::from_der(&s.to_name_der().unwrap()).unwrap();
        let oids: Vec<String> = name.iter().map(|atv| atv.oid.to_string()).collect();
        assert_eq!(
            oids,
            [
                "2.5.4.6",
                "2.5.4.8",
                "2.5.4.7",
                "2.5.4.10",
                "2.5.4.11",
                "2.5.4.3",
                "1.2.840.113549.1.9.1"
            ]
        );
        // RFC 4514 prints the most specific RDN first.
        assert!(
            name.to_string()
                .ends_with("CN=Test CN,OU=Unit,O=Org,L=Seattle,ST=WA,C=US")
        );
        assert_eq!(name.common_name().unwrap().unwrap().value(), "Test CN");
        assert_eq!(name.country().unwrap().unwrap().as_str(), "US");
    }

    #[test]
    fn bad_fields_are_rejected() {
        let cases = [
            (SubjectFields::new(""), "common_name"),
            (SubjectFields::new("x".repeat(65)), "common_name"),
            (
                SubjectFields {
                    country: Some("USA".into()),
                    ..SubjectFields::new("cn")
                },
                "country",
            ),
            (
                SubjectFields {
                    country: Some("1A".into()),
                    ..SubjectFields::new("cn")
                },
                "country",
            ),
            (
                SubjectFields {
                    email_address: Some("é@example.com".into()),
                    ..SubjectFields::new("cn")
                },
                "email_address",
            ),
        ];
        for (s, field) in cases {
            match s.to_name_der() {
                Err(Error::InvalidSubject { field: f, .. }) => assert_eq!(f, field),
                other => panic!("{field}: {other:?}"),
            }
        }
    }
}

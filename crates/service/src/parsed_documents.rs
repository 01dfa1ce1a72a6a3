//! Key documents parsed once per worker thread and text: every operation reads its keys' rows
//! and parses their JSON documents, which cost a data-plane request about as much as its
//! cryptography (callgrind, bench/RESULTS.md). A key read again with the same document text,
//! the common case of a key in use, is cloned from the parse of that text; a key whose document
//! changed (here or on another node) has another text and is parsed anew. The documents hold no
//! key material (that is sealed apart, and opened per request).

use std::cell::RefCell;
use std::collections::HashMap;

use crate::keys::KeyDocument;

/// How many keys' parses a worker thread keeps; past that it starts again.
const KEPT: usize = 1024;

thread_local! {
    /// By key id: the document text last parsed and what it parsed to.
    static PARSED: RefCell<HashMap<String, (String, KeyDocument)>> = RefCell::default();
}

/// The document `text` of key `key_id`, parsed.
pub(crate) fn parse(key_id: &str, text: &str) -> Result<KeyDocument, serde_json::Error> {
    PARSED.with_borrow_mut(|parsed| {
        if let Some((seen, document)) = parsed.get(key_id)
            && seen == text
        {
            return Ok(document.clone());
        }
        let document: KeyDocument = serde_json::from_str(text)?;
        if parsed.len() >= KEPT {
            parsed.clear();
        }
        parsed.insert(key_id.to_string(), (text.to_string(), document.clone()));
        Ok(document)
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn document(kcv: &str) -> String {
        format!(
            r#"{{"key":{{"KeyArn":"arn:aws:payment-cryptography:us-east-1:111122223333:key/abcdefghijklmnop","KeyAttributes":{{"KeyUsage":"TR31_M3_ISO_9797_3_MAC_KEY","KeyClass":"SYMMETRIC_KEY","KeyAlgorithm":"TDES_2KEY","KeyModesOfUse":{{"Generate":true,"Verify":true}}}},"KeyCheckValue":"{kcv}","KeyCheckValueAlgorithm":"ANSI_X9_24","Enabled":true,"Exportable":true,"KeyState":"CREATE_COMPLETE","KeyOrigin":"AWS_PAYMENT_CRYPTOGRAPHY","CreateTimestamp":1700000000.0}}}}"#
        )
    }

    #[test]
    fn a_changed_text_is_parsed_anew_and_a_broken_one_refused() {
        let first = parse("abcdefghijklmnop", &document("AAAAAA")).unwrap();
        assert_eq!(first.key.key_check_value, "AAAAAA");
        let again = parse("abcdefghijklmnop", &document("AAAAAA")).unwrap();
        assert_eq!(again.key.key_check_value, "AAAAAA");
        let changed = parse("abcdefghijklmnop", &document("BBBBBB")).unwrap();
        assert_eq!(changed.key.key_check_value, "BBBBBB");
        assert!(parse("abcdefghijklmnop", "{").is_err());
        let other = parse("qrstuvwxyzabcdef", &document("CCCCCC")).unwrap();
        assert_eq!(other.key.key_check_value, "CCCCCC");
    }
}

//! Rust names for model names, and one-line rustdoc summaries of the model's HTML docs.

/// Words Rust reserves, which a field name must not be.
const KEYWORDS: &[&str] = &[
    "abstract", "as", "async", "await", "become", "box", "break", "const", "continue", "crate",
    "do", "dyn", "else", "enum", "extern", "false", "final", "fn", "for", "gen", "if", "impl",
    "in", "let", "loop", "macro", "match", "mod", "move", "mut", "override", "priv", "pub", "ref",
    "return", "static", "struct", "super", "trait", "true", "try", "type", "typeof", "unsafe",
    "unsized", "use", "virtual", "where", "while", "yield",
];

/// `KeyCheckValueAlgorithm` -> `key_check_value_algorithm`, `Tr31KeyBlock` ->
/// `tr31_key_block`.
pub fn snake_case(name: &str) -> String {
    let chars: Vec<char> = name.chars().collect();
    let mut out = String::new();
    for (i, &c) in chars.iter().enumerate() {
        if c.is_ascii_uppercase() {
            let prev = i.checked_sub(1).map(|p| chars[p]);
            let next = chars.get(i + 1);
            let boundary = match prev {
                None => false,
                Some(p) if p.is_ascii_lowercase() || p.is_ascii_digit() => true,
                Some(p) => p.is_ascii_uppercase() && next.is_some_and(char::is_ascii_lowercase),
            };
            if boundary {
                out.push('_');
            }
            out.push(c.to_ascii_lowercase());
        } else {
            out.push(c);
        }
    }
    out
}

/// A snake_case field name, raw (`r#type`) where it is a keyword.
pub fn field_name(member: &str) -> String {
    let name = snake_case(member);
    if KEYWORDS.contains(&name.as_str()) {
        format!("r#{name}")
    } else {
        name
    }
}

/// `CreateKeyInput` -> `CREATE_KEY_INPUT`.
pub fn upper_snake(name: &str) -> String {
    snake_case(name).to_ascii_uppercase()
}

/// An enum value to a variant name: `TR31_K0_KEY_ENCRYPTION_KEY` -> `Tr31K0KeyEncryptionKey`,
/// `TDES_2KEY` -> `Tdes2Key` (a letter after a digit starts a word, as in the AWS SDK for Rust).
pub fn variant_name(value: &str) -> String {
    let mut out = String::new();
    for part in value.split(['_', '-', '.']) {
        let mut prev: Option<char> = None;
        for c in part.chars() {
            let starts_word = prev.is_none_or(|p| p.is_ascii_digit());
            out.push(if starts_word {
                c.to_ascii_uppercase()
            } else {
                c.to_ascii_lowercase()
            });
            prev = Some(c);
        }
    }
    out
}

/// Whether `name` can be used as a Rust identifier as it is.
pub fn is_identifier(name: &str) -> bool {
    let mut chars = name.chars();
    chars
        .next()
        .is_some_and(|c| c.is_ascii_alphabetic() || c == '_')
        && chars.all(|c| c.is_ascii_alphanumeric() || c == '_')
        && !KEYWORDS.contains(&name)
}

/// Tags whose boundaries separate words.
const BLOCK_TAGS: &[&str] = &[
    "p",
    "li",
    "ul",
    "ol",
    "br",
    "div",
    "note",
    "important",
    "dl",
    "dt",
    "dd",
    "h1",
    "h2",
    "h3",
    "h4",
    "b",
];

/// The first sentence of the first paragraph of an HTML documentation string, as one line of Markdown: tags removed
/// (`<code>` becomes backticks), entities decoded, whitespace collapsed, and the characters
/// Markdown would read as links, emphasis or HTML escaped outside code spans.
pub fn summary(html: &str) -> Option<String> {
    // The first paragraph, where a paragraph ends with no full stop before the next starts.
    let first = html.trim_start().strip_prefix("<p>").unwrap_or(html);
    let mut text = String::new();
    let mut rest = first.split("</p>").next().unwrap_or(first);
    while let Some(open) = rest.find('<') {
        text.push_str(&rest[..open]);
        let Some(close) = rest[open..].find('>') else {
            rest = &rest[open..];
            break;
        };
        let tag = &rest[open + 1..open + close];
        let name: String = tag
            .trim_start_matches('/')
            .chars()
            .take_while(char::is_ascii_alphanumeric)
            .collect();
        if name == "code" {
            text.push('`');
        } else if BLOCK_TAGS.contains(&name.as_str()) {
            text.push(' ');
        }
        rest = &rest[open + close + 1..];
    }
    text.push_str(rest);
    let text = text
        .replace("&lt;", "<")
        .replace("&gt;", ">")
        .replace("&quot;", "\"")
        .replace("&#39;", "'")
        .replace("&apos;", "'")
        .replace("&nbsp;", " ")
        .replace("&amp;", "&");
    let text = text.split_whitespace().collect::<Vec<_>>().join(" ");
    let end = text.find(". ").map_or(text.len(), |i| i + 1);
    let sentence = text[..end].trim();
    if sentence.is_empty() || sentence.matches('`').count() % 2 != 0 {
        return None;
    }
    let escaped: Vec<String> = sentence
        .split('`')
        .enumerate()
        .map(|(i, part)| {
            if i % 2 == 1 {
                return part.to_owned();
            }
            let mut out = String::new();
            for c in part.chars() {
                if matches!(c, '[' | ']' | '<' | '>' | '*' | '\\') {
                    out.push('\\');
                }
                out.push(c);
            }
            out
        })
        .collect();
    Some(escaped.join("`"))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn snake_case_splits_words_and_digits() {
        assert_eq!(
            snake_case("KeyCheckValueAlgorithm"),
            "key_check_value_algorithm"
        );
        assert_eq!(snake_case("Tr31KeyBlock"), "tr31_key_block");
        assert_eq!(snake_case("As2805KeyVariant"), "as2805_key_variant");
        assert_eq!(
            snake_case("DiffieHellmanTr31KeyBlock"),
            "diffie_hellman_tr31_key_block"
        );
        assert_eq!(snake_case("HTTPStatus"), "http_status");
        assert_eq!(field_name("Type"), "r#type");
        assert_eq!(upper_snake("CreateKeyInput"), "CREATE_KEY_INPUT");
    }

    #[test]
    fn variant_names_follow_the_sdk() {
        assert_eq!(
            variant_name("TR31_K0_KEY_ENCRYPTION_KEY"),
            "Tr31K0KeyEncryptionKey"
        );
        assert_eq!(variant_name("TDES_2KEY"), "Tdes2Key");
        assert_eq!(variant_name("ECC_NIST_P256"), "EccNistP256");
        assert_eq!(variant_name("X9_TR34_2012"), "X9Tr342012");
        assert_eq!(variant_name("SHA_1"), "Sha1");
    }

    #[test]
    fn identifiers() {
        assert!(is_identifier("CreateKeyInput"));
        assert!(!is_identifier("2Key"));
        assert!(!is_identifier("type"));
        assert!(!is_identifier("Key-Arn"));
    }

    #[test]
    fn summaries_are_one_escaped_sentence() {
        assert_eq!(
            summary("<p>Creates an <i>alias</i>, or a <code>KeyArn</code> [x]. More.</p>"),
            Some("Creates an alias, or a `KeyArn` \\[x\\].".to_owned())
        );
        assert_eq!(
            summary("<p>A &lt;b&gt; tag &amp; <code>a[0]</code></p>"),
            Some("A \\<b\\> tag & `a[0]`".to_owned())
        );
        assert_eq!(
            summary("<p>Enables a key</p> <p>Cross-account use: yes.</p>"),
            Some("Enables a key".to_owned())
        );
        assert_eq!(summary("<p></p>"), None);
        assert_eq!(summary("one `unbalanced"), None);
    }
}

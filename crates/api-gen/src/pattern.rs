//! Model patterns to the pattern AWS quotes and to `regex` crate syntax.
//!
//! botocore strips the outermost `^` and `$` from the Smithy patterns (so `^A$|^B$` reads
//! `A$|^B`); [`anchored`] puts them back, which is also the form AWS quotes in validation
//! messages. The patterns come from a Java service, and one Java construct means something
//! else to the `regex` crate: a possessive quantifier (`{2}+`, `*+`, `++`, `?+`), which the
//! `regex` crate reads as a repetition of a repetition. [`to_regex`] drops the possessive `+`;
//! without backtracking-sensitive constructs (the `regex` crate has none) the greedy quantifier
//! matches the same strings. Everything else in the model (classes, `\uXXXX` escapes, `(?:`
//! groups, alternation) already means the same in both.

/// The pattern with `^` in front and `$` at the end, unless already there.
pub fn anchored(pattern: &str) -> String {
    let mut out = String::with_capacity(pattern.len() + 2);
    if !pattern.starts_with('^') {
        out.push('^');
    }
    out.push_str(pattern);
    if !pattern.ends_with('$') || pattern.ends_with("\\$") {
        out.push('$');
    }
    out
}

/// The pattern in `regex` crate syntax: possessive quantifiers become greedy ones.
pub fn to_regex(pattern: &str) -> String {
    let mut out = String::with_capacity(pattern.len());
    let mut chars = pattern.chars().peekable();
    let mut in_class = false;
    // Whether the last thing written is a quantifier that a `+` would make possessive.
    let mut quantified = false;
    while let Some(c) = chars.next() {
        if c == '\\' {
            out.push(c);
            if let Some(escaped) = chars.next() {
                out.push(escaped);
                // \p{..}, \x{..}: copy the braces, which are no repetition.
                if matches!(escaped, 'p' | 'P' | 'x') && chars.peek() == Some(&'{') {
                    for braced in chars.by_ref() {
                        out.push(braced);
                        if braced == '}' {
                            break;
                        }
                    }
                }
            }
            quantified = false;
            continue;
        }
        if in_class {
            out.push(c);
            in_class = c != ']';
            continue;
        }
        match c {
            '[' => {
                out.push(c);
                in_class = true;
                // A `]` right after `[` or `[^` is a literal member of the class.
                if chars.peek() == Some(&'^') {
                    out.extend(chars.next());
                }
                if chars.peek() == Some(&']') {
                    out.extend(chars.next());
                }
                quantified = false;
            }
            '+' if quantified => quantified = false,
            '*' | '+' | '?' | '}' => {
                let opens_group = c == '?' && out.ends_with('(');
                let lazy = c == '?' && quantified;
                out.push(c);
                quantified = !opens_group && !lazy;
            }
            _ => {
                out.push(c);
                quantified = false;
            }
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn anchors_are_restored() {
        assert_eq!(anchored("alias/[a-zA-Z0-9/_-]+"), "^alias/[a-zA-Z0-9/_-]+$");
        assert_eq!(
            anchored("[0-9A-F]{20}$|^[0-9A-F]{24}"),
            "^[0-9A-F]{20}$|^[0-9A-F]{24}$"
        );
        assert_eq!(anchored("^a$"), "^a$");
        assert_eq!(anchored("a\\$"), "^a\\$$");
    }

    #[test]
    fn possessive_quantifiers_become_greedy() {
        assert_eq!(to_regex("^[0-9A-Z]{2}+$"), "^[0-9A-Z]{2}$");
        assert_eq!(to_regex("a*+b++c?+"), "a*b+c?");
        assert_eq!(to_regex("a+?b"), "a+?b");
        assert_eq!(to_regex("(?:ab)+"), "(?:ab)+");
        assert_eq!(to_regex("[+]+"), "[+]+");
        assert_eq!(to_regex("[]+]+x"), "[]+]+x");
        assert_eq!(to_regex("\\++"), "\\++");
        assert_eq!(to_regex("\\p{L}+"), "\\p{L}+");
        assert_eq!(
            to_regex("^[\\u0009\\u000A\\u0020-\\u00FF]+$"),
            "^[\\u0009\\u000A\\u0020-\\u00FF]+$"
        );
    }
}

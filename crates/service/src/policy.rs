//! The resource policy language paycrypt evaluates: a subset of the IAM JSON policy grammar, parsed
//! and checked once ([`parse`]) and then asked whether an account may perform an action on a key
//! ([`Policy::decide`]). Pure functions, no I/O.
//!
//! A policy is `{"Version": "2012-10-17", "Id"?: "...", "Statement": statement | [statement, ...]}`;
//! a statement is `{"Sid"?, "Effect": "Allow" | "Deny", "Principal", "Action", "Resource"}`:
//! - `Principal`: `"*"` or `{"AWS": p | [p, ...]}` where `p` is a 12-digit account id,
//!   `arn:aws:iam::ACCOUNT:root` or `"*"`;
//! - `Action`: `"*"` or `payment-cryptography:Name`, one or a list, with `*` and `?` wildcards,
//!   matched without regard to case as IAM does;
//! - `Resource`: `"*"` or ARNs, one or a list, with `*` and `?` wildcards, matched with case.
//!
//! `NotPrincipal`, `NotAction`, `NotResource` and `Condition` are refused rather than ignored, so a
//! policy never grants more than it reads. Evaluation follows IAM: an explicit `Deny` wins over any
//! `Allow`, and without a matching `Allow` the answer is no.

use serde_json::{Map, Value};

/// The one policy language version accepted.
pub(crate) const VERSION: &str = "2012-10-17";
const SERVICE_PREFIX: &str = "payment-cryptography";

/// Why a policy document is refused.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum PolicyError {
    /// The document is malformed or uses something paycrypt does not evaluate.
    Invalid(String),
    /// An `Allow` statement names every principal.
    Public(String),
}

/// A parsed, checked policy.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Policy {
    statements: Vec<Statement>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Effect {
    Allow,
    Deny,
}

#[derive(Debug, Clone, PartialEq, Eq)]
enum Principals {
    Everyone,
    Accounts(Vec<String>),
}

#[derive(Debug, Clone, PartialEq, Eq)]
struct Statement {
    effect: Effect,
    principals: Principals,
    actions: Vec<String>,
    resources: Vec<String>,
}

/// A request to authorize: which account wants to perform which action on which resource.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Request<'a> {
    pub account: &'a str,
    pub action: &'a str,
    pub resource: &'a str,
}

/// What a policy says about a request.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Decision {
    /// A matching statement allows it and none denies it.
    Allow,
    /// A matching statement denies it.
    ExplicitDeny,
    /// No statement matches with `Allow`.
    NotAllowed,
}

fn invalid(message: impl Into<String>) -> PolicyError {
    PolicyError::Invalid(message.into())
}

/// Parses and checks a policy document.
pub(crate) fn parse(document: &str) -> Result<Policy, PolicyError> {
    let value: Value = serde_json::from_str(document)
        .map_err(|e| invalid(format!("the policy is not valid JSON: {e}")))?;
    let Value::Object(top) = value else {
        return Err(invalid("the policy must be a JSON object"));
    };
    for name in top.keys() {
        if !matches!(name.as_str(), "Version" | "Id" | "Statement") {
            return Err(invalid(format!(
                "{name} is not a policy element; a policy has Version, Statement and optionally Id"
            )));
        }
    }
    match top.get("Version") {
        Some(Value::String(v)) if v == VERSION => {}
        Some(_) => return Err(invalid(format!("Version must be \"{VERSION}\""))),
        None => return Err(invalid(format!("Version is required (\"{VERSION}\")"))),
    }
    if let Some(id) = top.get("Id")
        && !id.is_string()
    {
        return Err(invalid("Id must be a string"));
    }
    let statements = match top.get("Statement") {
        Some(Value::Object(one)) => vec![statement(one, 1)?],
        Some(Value::Array(many)) if !many.is_empty() => many
            .iter()
            .enumerate()
            .map(|(i, s)| match s {
                Value::Object(s) => statement(s, i + 1),
                _ => Err(invalid(format!(
                    "statement {} must be a JSON object",
                    i + 1
                ))),
            })
            .collect::<Result<_, _>>()?,
        Some(_) => {
            return Err(invalid(
                "Statement must be a statement object or a non-empty list of them",
            ));
        }
        None => return Err(invalid("Statement is required")),
    };
    let policy = Policy { statements };
    if policy
        .statements
        .iter()
        .any(|s| s.effect == Effect::Allow && s.principals == Principals::Everyone)
    {
        return Err(PolicyError::Public(
            "The policy would grant public access to the key: an Allow statement names the principal \"*\". Name the accounts to grant instead."
                .into(),
        ));
    }
    Ok(policy)
}

fn statement(s: &Map<String, Value>, number: usize) -> Result<Statement, PolicyError> {
    let label = match s.get("Sid") {
        Some(Value::String(sid)) => format!("statement {sid}"),
        Some(_) => return Err(invalid(format!("statement {number}: Sid must be a string"))),
        None => format!("statement {number}"),
    };
    let fail = |what: String| invalid(format!("{label}: {what}"));
    for name in s.keys() {
        match name.as_str() {
            "Sid" | "Effect" | "Principal" | "Action" | "Resource" => {}
            "NotPrincipal" | "NotAction" | "NotResource" | "Condition" => {
                return Err(fail(format!(
                    "{name} is not supported by paycrypt's resource policies"
                )));
            }
            other => return Err(fail(format!("{other} is not a policy statement element"))),
        }
    }
    let effect = match s.get("Effect") {
        Some(Value::String(e)) if e == "Allow" => Effect::Allow,
        Some(Value::String(e)) if e == "Deny" => Effect::Deny,
        Some(_) => return Err(fail("Effect must be \"Allow\" or \"Deny\"".into())),
        None => return Err(fail("Effect is required".into())),
    };
    let principals = principals(s.get("Principal")).map_err(&fail)?;
    let actions = strings(s.get("Action"), "Action")
        .map_err(&fail)?
        .into_iter()
        .map(|a| checked_action(a).map_err(&fail))
        .collect::<Result<_, _>>()?;
    let resources = strings(s.get("Resource"), "Resource")
        .map_err(&fail)?
        .into_iter()
        .map(|r| checked_resource(r).map_err(&fail))
        .collect::<Result<_, _>>()?;
    Ok(Statement {
        effect,
        principals,
        actions,
        resources,
    })
}

/// A string or a non-empty list of strings.
fn strings(value: Option<&Value>, element: &str) -> Result<Vec<String>, String> {
    let wrong = || format!("{element} must be a string or a non-empty list of strings");
    match value {
        None => Err(format!("{element} is required")),
        Some(Value::String(one)) => Ok(vec![one.clone()]),
        Some(Value::Array(many)) if !many.is_empty() => many
            .iter()
            .map(|v| v.as_str().map(str::to_string).ok_or_else(wrong))
            .collect(),
        Some(_) => Err(wrong()),
    }
}

fn principals(value: Option<&Value>) -> Result<Principals, String> {
    let map = match value {
        None => return Err("Principal is required".into()),
        Some(Value::String(star)) if star == "*" => return Ok(Principals::Everyone),
        Some(Value::Object(map)) => map,
        Some(_) => return Err("Principal must be \"*\" or {\"AWS\": ...}".into()),
    };
    if let Some(other) = map.keys().find(|k| k.as_str() != "AWS") {
        return Err(format!(
            "Principal {other} is not supported; paycrypt's principals are accounts, given as {{\"AWS\": ...}}"
        ));
    }
    let mut accounts = Vec::new();
    for entry in strings(map.get("AWS"), "Principal AWS")? {
        if entry == "*" {
            return Ok(Principals::Everyone);
        }
        let account = entry
            .strip_prefix("arn:aws:iam::")
            .and_then(|rest| rest.strip_suffix(":root"))
            .unwrap_or(&entry);
        if account.len() != 12 || !account.bytes().all(|b| b.is_ascii_digit()) {
            return Err(format!(
                "principal {entry} is not supported; give a 12-digit account id or arn:aws:iam::ACCOUNT:root"
            ));
        }
        accounts.push(account.to_string());
    }
    Ok(Principals::Accounts(accounts))
}

fn checked_action(action: String) -> Result<String, String> {
    if action == "*" {
        return Ok(action);
    }
    let name = action
        .split_once(':')
        .filter(|(prefix, _)| prefix.eq_ignore_ascii_case(SERVICE_PREFIX))
        .map(|(_, name)| name)
        .ok_or_else(|| format!("action {action} is not of the form {SERVICE_PREFIX}:Operation"))?;
    if name.is_empty()
        || !name
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b == b'*' || b == b'?')
    {
        return Err(format!(
            "action {action} is not of the form {SERVICE_PREFIX}:Operation"
        ));
    }
    Ok(action)
}

fn checked_resource(resource: String) -> Result<String, String> {
    if resource == "*" || (resource.starts_with("arn:") && resource.split(':').count() >= 6) {
        Ok(resource)
    } else {
        Err(format!("resource {resource} must be \"*\" or an ARN"))
    }
}

impl Policy {
    /// What the policy says about `request`.
    pub(crate) fn decide(&self, request: &Request<'_>) -> Decision {
        let mut allowed = false;
        for s in self.statements.iter().filter(|s| s.matches(request)) {
            match s.effect {
                Effect::Deny => return Decision::ExplicitDeny,
                Effect::Allow => allowed = true,
            }
        }
        if allowed {
            Decision::Allow
        } else {
            Decision::NotAllowed
        }
    }
}

impl Statement {
    fn matches(&self, request: &Request<'_>) -> bool {
        let principal = match &self.principals {
            Principals::Everyone => true,
            Principals::Accounts(accounts) => accounts.iter().any(|a| a == request.account),
        };
        principal
            && self
                .actions
                .iter()
                .any(|a| wildcard_match(a, request.action, true))
            && self
                .resources
                .iter()
                .any(|r| wildcard_match(r, request.resource, false))
    }
}

/// Whether `text` matches `pattern`, where `*` stands for any run of characters and `?` for one.
/// Greedy with one backtracking point, so the time is at most proportional to the product of the
/// lengths.
fn wildcard_match(pattern: &str, text: &str, ignore_case: bool) -> bool {
    let p: Vec<char> = pattern.chars().collect();
    let t: Vec<char> = text.chars().collect();
    let same = |a: char, b: char| {
        if ignore_case {
            a.to_lowercase().eq(b.to_lowercase())
        } else {
            a == b
        }
    };
    let (mut pi, mut ti) = (0, 0);
    let mut star: Option<(usize, usize)> = None;
    while ti < t.len() {
        if pi < p.len() && (p[pi] == '?' || (p[pi] != '*' && same(p[pi], t[ti]))) {
            pi += 1;
            ti += 1;
        } else if pi < p.len() && p[pi] == '*' {
            star = Some((pi, ti));
            pi += 1;
        } else if let Some((sp, st)) = star {
            pi = sp + 1;
            ti = st + 1;
            star = Some((sp, st + 1));
        } else {
            return false;
        }
    }
    p[pi..].iter().all(|&c| c == '*')
}

#[cfg(test)]
mod tests {
    use super::*;

    const KEY: &str = "arn:aws:payment-cryptography:us-east-1:111122223333:key/abcdefghijklmnop";

    fn request<'a>(account: &'a str, action: &'a str) -> Request<'a> {
        Request {
            account,
            action,
            resource: KEY,
        }
    }

    fn allow(principal: &str, action: &str, resource: &str) -> String {
        format!(
            r#"{{"Version":"2012-10-17","Statement":{{"Effect":"Allow","Principal":{{"AWS":"{principal}"}},"Action":"{action}","Resource":"{resource}"}}}}"#
        )
    }

    fn invalid_message(document: &str) -> String {
        match parse(document) {
            Err(PolicyError::Invalid(m)) => m,
            other => panic!("expected an invalid policy, got {other:?}"),
        }
    }

    #[test]
    fn an_allow_grants_the_named_account_the_named_action_only() {
        let policy = parse(&allow("444455556666", "payment-cryptography:GetKey", KEY)).unwrap();
        let get = "payment-cryptography:GetKey";
        assert_eq!(
            policy.decide(&request("444455556666", get)),
            Decision::Allow
        );
        assert_eq!(
            policy.decide(&request("999999999999", get)),
            Decision::NotAllowed
        );
        assert_eq!(
            policy.decide(&request("444455556666", "payment-cryptography:DeleteKey")),
            Decision::NotAllowed
        );
        let other_key = Request {
            resource: "arn:aws:payment-cryptography:us-east-1:111122223333:key/zzzzzzzzzzzzzzzz",
            ..request("444455556666", get)
        };
        assert_eq!(policy.decide(&other_key), Decision::NotAllowed);
    }

    #[test]
    fn root_arns_lists_and_wildcards_match() {
        let policy = parse(
            r#"{"Version":"2012-10-17","Statement":[{"Sid":"Share","Effect":"Allow",
                "Principal":{"AWS":["arn:aws:iam::444455556666:root","777788889999"]},
                "Action":["payment-cryptography:get*","PAYMENT-CRYPTOGRAPHY:Export?ey"],
                "Resource":["arn:aws:payment-cryptography:us-east-1:111122223333:key/*"]}]}"#,
        )
        .unwrap();
        for (account, action) in [
            ("444455556666", "payment-cryptography:GetKey"),
            (
                "777788889999",
                "payment-cryptography:GetPublicKeyCertificate",
            ),
            ("444455556666", "payment-cryptography:ExportKey"),
        ] {
            assert_eq!(
                policy.decide(&request(account, action)),
                Decision::Allow,
                "{account} {action}"
            );
        }
        assert_eq!(
            policy.decide(&request("444455556666", "payment-cryptography:ImportKey")),
            Decision::NotAllowed
        );
    }

    #[test]
    fn resources_match_with_case() {
        let upper = KEY.replace("abcdefghijklmnop", "ABCDEFGHIJKLMNOP");
        let policy = parse(&allow("444455556666", "*", &upper)).unwrap();
        assert_eq!(
            policy.decide(&request("444455556666", "payment-cryptography:GetKey")),
            Decision::NotAllowed
        );
    }

    #[test]
    fn a_deny_wins_over_an_allow() {
        let policy = parse(
            r#"{"Version":"2012-10-17","Statement":[
                {"Effect":"Allow","Principal":{"AWS":"444455556666"},"Action":"payment-cryptography:*","Resource":"*"},
                {"Effect":"Deny","Principal":"*","Action":"payment-cryptography:ExportKey","Resource":"*"}]}"#,
        )
        .unwrap();
        for (account, action, expected) in [
            ("444455556666", "GetKey", Decision::Allow),
            ("444455556666", "ExportKey", Decision::ExplicitDeny),
            ("111122223333", "ExportKey", Decision::ExplicitDeny),
            ("111122223333", "GetKey", Decision::NotAllowed),
        ] {
            let action = format!("payment-cryptography:{action}");
            assert_eq!(
                policy.decide(&request(account, &action)),
                expected,
                "{account} {action}"
            );
        }
    }

    #[test]
    fn allowing_everyone_is_public() {
        for principal in [
            r#""*""#,
            r#"{"AWS":"*"}"#,
            r#"{"AWS":["444455556666","*"]}"#,
        ] {
            let document = format!(
                r#"{{"Version":"2012-10-17","Statement":{{"Effect":"Allow","Principal":{principal},"Action":"*","Resource":"*"}}}}"#
            );
            assert!(
                matches!(parse(&document), Err(PolicyError::Public(_))),
                "{principal}"
            );
        }
    }

    #[test]
    fn malformed_documents_say_what_is_wrong() {
        let cases = [
            ("not json", "not valid JSON"),
            ("[]", "must be a JSON object"),
            (r#"{"Statement":[]}"#, "Version is required"),
            (
                r#"{"Version":"2008-10-17","Statement":[]}"#,
                "Version must be",
            ),
            (r#"{"Version":"2012-10-17"}"#, "Statement is required"),
            (
                r#"{"Version":"2012-10-17","Statement":[]}"#,
                "non-empty list",
            ),
            (
                r#"{"Version":"2012-10-17","Statement":[1]}"#,
                "statement 1 must be",
            ),
            (
                r#"{"Version":"2012-10-17","Statement":[],"Extra":1}"#,
                "Extra is not a policy element",
            ),
        ];
        for (document, expected) in cases {
            let message = invalid_message(document);
            assert!(message.contains(expected), "{document}: {message}");
        }
    }

    #[test]
    fn malformed_statements_say_which_and_what() {
        let base = r#""Effect":"Allow","Principal":{"AWS":"444455556666"},"Action":"payment-cryptography:GetKey","Resource":"*""#;
        let with = |extra: &str| {
            format!(r#"{{"Version":"2012-10-17","Statement":[{{"Sid":"S1",{base}{extra}}}]}}"#)
        };
        let replaced = |from: &str, to: &str| with("").replace(from, to);
        let cases = [
            (
                with(r#","Condition":{}"#),
                "statement S1: Condition is not supported",
            ),
            (with(r#","NotAction":"x""#), "NotAction is not supported"),
            (
                with(r#","Bogus":1"#),
                "Bogus is not a policy statement element",
            ),
            (replaced(r#""Allow""#, r#""allow""#), "Effect must be"),
            (
                replaced(r#""444455556666""#, r#""44445555666""#),
                "principal 44445555666 is not supported",
            ),
            (
                replaced(r#""444455556666""#, r#""arn:aws:iam::444455556666:role/x""#),
                "is not supported",
            ),
            (
                replaced(r#"{"AWS":"444455556666"}"#, r#"{"Service":"x"}"#),
                "Principal Service is not supported",
            ),
            (
                replaced("payment-cryptography:GetKey", "kms:GetKey"),
                "action kms:GetKey is not of the form",
            ),
            (
                replaced("payment-cryptography:GetKey", "payment-cryptography:"),
                "is not of the form",
            ),
            (
                replaced(r#""Resource":"*""#, r#""Resource":"key""#),
                "resource key must be",
            ),
            (
                replaced(r#""Resource":"*""#, r#""Resource":[]"#),
                "Resource must be",
            ),
            (replaced(r#","Resource":"*""#, ""), "Resource is required"),
            (
                replaced(r#""Sid":"S1","#, r#""Sid":1,"#),
                "Sid must be a string",
            ),
        ];
        for (document, expected) in cases {
            let message = invalid_message(&document);
            assert!(message.contains(expected), "{document}: {message}");
        }
    }

    #[test]
    fn a_deny_for_everyone_is_not_public() {
        let policy = parse(
            r#"{"Version":"2012-10-17","Id":"p","Statement":{"Effect":"Deny","Principal":{"AWS":"*"},"Action":"*","Resource":"*"}}"#,
        )
        .unwrap();
        assert_eq!(
            policy.decide(&request("111122223333", "payment-cryptography:GetKey")),
            Decision::ExplicitDeny
        );
    }

    #[test]
    fn wildcards() {
        assert!(wildcard_match("a*c", "abbbc", false));
        assert!(wildcard_match("a?c", "abc", false));
        assert!(!wildcard_match("a?c", "ac", false));
        assert!(wildcard_match("*", "", false));
        assert!(wildcard_match("**a", "ba", false));
        assert!(!wildcard_match("a*b", "aXbY", false));
        assert!(wildcard_match("a*b*", "aXbY", false));
        assert!(wildcard_match("GET*", "getkey", true));
        assert!(!wildcard_match("GET*", "getkey", false));
        // A long pathological pattern finishes quickly.
        let text = "a".repeat(5000);
        assert!(!wildcard_match(
            &format!("{}b", "*a".repeat(200)),
            &text,
            false
        ));
    }
}

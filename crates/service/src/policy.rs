//! The policy language paycrypt evaluates: a subset of the IAM JSON policy grammar, parsed and
//! checked once ([`parse`]) and then asked whether a caller may perform an action on a resource
//! ([`Policy::decide`]). Two kinds of documents use it ([`Kind`]): a key's resource policy, whose
//! statements name their principals, and a user's identity policy, whose statements name none
//! (they are the user's). Pure functions, no I/O.
//!
//! A policy is `{"Version": "2012-10-17", "Id"?: "...", "Statement": statement | [statement, ...]}`;
//! a statement is `{"Sid"?, "Effect": "Allow" | "Deny", "Principal", "Action", "Resource",
//! "Condition"?}`:
//! - `Principal` (resource policies only; an identity policy has none): `"*"` or
//!   `{"AWS": p | [p, ...]}` where `p` is a 12-digit account id, `arn:aws:iam::ACCOUNT:root`,
//!   `arn:aws:iam::ACCOUNT:user/NAME` or `"*"`;
//! - `Action`: `"*"` or `payment-cryptography:Name`, one or a list, with `*` and `?` wildcards,
//!   matched without regard to case as IAM does;
//! - `Resource`: `"*"` or ARNs, one or a list, with `*` and `?` wildcards, matched with case;
//! - `Condition`: `{operator: {key: value | [value, ...]}, ...}`, every operator and key of which
//!   must hold (a key holds when any of its values matches; a negated operator when none does).
//!   Two keys are evaluated: `aws:SourceIp` with `IpAddress` and `NotIpAddress` (addresses or CIDR
//!   ranges, IPv4 and IPv6), and `aws:RequestedRegion` with `StringEquals`, `StringNotEquals`,
//!   `StringLike` and `StringNotLike`.
//!
//! `NotPrincipal`, `NotAction`, `NotResource`, and any other condition operator or key, are refused
//! rather than ignored, so a policy never grants more (or denies less) than it reads. Evaluation
//! follows IAM: an explicit `Deny` wins over any `Allow`, and without a matching `Allow` the answer
//! is no.

use std::net::IpAddr;

use serde_json::{Map, Value};

/// The one policy language version accepted.
pub(crate) const VERSION: &str = "2012-10-17";
const SERVICE_PREFIX: &str = "payment-cryptography";
const SOURCE_IP: &str = "aws:SourceIp";
const REQUESTED_REGION: &str = "aws:RequestedRegion";
const SUPPORTED_CONDITIONS: &str = "paycrypt evaluates aws:SourceIp with IpAddress or \
    NotIpAddress, and aws:RequestedRegion with StringEquals, StringNotEquals, StringLike or \
    StringNotLike";

/// Why a policy document is refused.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum PolicyError {
    /// The document is malformed or uses something paycrypt does not evaluate.
    Invalid(String),
    /// An `Allow` statement names every principal.
    Public(String),
}

/// Which kind of policy a document is.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Kind {
    /// A key's resource policy: every statement names its principals.
    Resource,
    /// A user's identity policy: statements name no principal, they apply to the user.
    Identity,
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
    Listed(Vec<Principal>),
}

#[derive(Debug, Clone, PartialEq, Eq)]
enum Principal {
    /// An account: its root credential and, for a `Deny` or across accounts, all its users.
    Account(String),
    /// One user of an account.
    User { account: String, name: String },
}

#[derive(Debug, Clone, PartialEq, Eq)]
struct Statement {
    effect: Effect,
    /// `None` in an identity policy.
    principals: Option<Principals>,
    actions: Vec<String>,
    resources: Vec<String>,
    conditions: Vec<Condition>,
}

#[derive(Debug, Clone, PartialEq, Eq)]
enum Condition {
    /// `IpAddress` (or with `negated`, `NotIpAddress`) on `aws:SourceIp`.
    SourceIp { negated: bool, ranges: Vec<IpRange> },
    /// A string operator on `aws:RequestedRegion`.
    RequestedRegion {
        operator: StringOperator,
        values: Vec<String>,
    },
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum StringOperator {
    Equals,
    NotEquals,
    Like,
    NotLike,
}

/// An address range in CIDR notation (a lone address is a range of one).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
struct IpRange {
    network: IpAddr,
    prefix: u8,
}

/// A request to authorize: who wants to perform which action on which resource, from where.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Request<'a> {
    /// The caller's account.
    pub account: &'a str,
    /// The caller's user name; `None` for an account's root credential.
    pub user: Option<&'a str>,
    /// Whether an `Allow` naming the caller's account (rather than its user) grants: so it does
    /// across accounts (the account then decides through its users' policies), while within the
    /// account only an `Allow` naming the user does. A `Deny` naming the account always applies.
    pub account_grants: bool,
    pub action: &'a str,
    pub resource: &'a str,
    /// The address the request came from (`aws:SourceIp`), when known.
    pub source_ip: Option<IpAddr>,
    /// The region the request is for (`aws:RequestedRegion`).
    pub region: &'a str,
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

/// Parses and checks a policy document of `kind`.
pub(crate) fn parse(document: &str, kind: Kind) -> Result<Policy, PolicyError> {
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
        Some(Value::Object(one)) => vec![statement(one, 1, kind)?],
        Some(Value::Array(many)) if !many.is_empty() => many
            .iter()
            .enumerate()
            .map(|(i, s)| match s {
                Value::Object(s) => statement(s, i + 1, kind),
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
        .any(|s| s.effect == Effect::Allow && s.principals == Some(Principals::Everyone))
    {
        return Err(PolicyError::Public(
            "The policy would grant public access to the key: an Allow statement names the principal \"*\". Name the accounts to grant instead."
                .into(),
        ));
    }
    Ok(policy)
}

fn statement(s: &Map<String, Value>, number: usize, kind: Kind) -> Result<Statement, PolicyError> {
    let label = match s.get("Sid") {
        Some(Value::String(sid)) => format!("statement {sid}"),
        Some(_) => return Err(invalid(format!("statement {number}: Sid must be a string"))),
        None => format!("statement {number}"),
    };
    let fail = |what: String| invalid(format!("{label}: {what}"));
    for name in s.keys() {
        match name.as_str() {
            "Sid" | "Effect" | "Action" | "Resource" | "Condition" => {}
            "Principal" if kind == Kind::Resource => {}
            "Principal" | "NotPrincipal" if kind == Kind::Identity => {
                return Err(fail(format!(
                    "{name} does not belong in an identity policy, which applies to the user it is given to"
                )));
            }
            "NotPrincipal" | "NotAction" | "NotResource" => {
                return Err(fail(format!(
                    "{name} is not supported by paycrypt's policies"
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
    let principals = match kind {
        Kind::Resource => Some(principals(s.get("Principal")).map_err(&fail)?),
        Kind::Identity => None,
    };
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
    let conditions = match s.get("Condition") {
        None => Vec::new(),
        Some(block) => conditions(block).map_err(&fail)?,
    };
    Ok(Statement {
        effect,
        principals,
        actions,
        resources,
        conditions,
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

/// Whether `name` is an IAM user name paycrypt accepts: 1 to 64 of letters, digits and `+=,.@_-`.
pub(crate) fn is_user_name(name: &str) -> bool {
    (1..=64).contains(&name.len())
        && name
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b"+=,.@_-".contains(&b))
}

fn is_account(text: &str) -> bool {
    text.len() == 12 && text.bytes().all(|b| b.is_ascii_digit())
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
            "Principal {other} is not supported; paycrypt's principals are accounts and users, given as {{\"AWS\": ...}}"
        ));
    }
    let mut listed = Vec::new();
    for entry in strings(map.get("AWS"), "Principal AWS")? {
        if entry == "*" {
            return Ok(Principals::Everyone);
        }
        let unsupported = || {
            format!(
                "principal {entry} is not supported; give a 12-digit account id, arn:aws:iam::ACCOUNT:root or arn:aws:iam::ACCOUNT:user/NAME"
            )
        };
        let principal = match entry.strip_prefix("arn:aws:iam::") {
            None if is_account(&entry) => Principal::Account(entry.clone()),
            None => return Err(unsupported()),
            Some(rest) => match rest.split_once(':') {
                Some((account, "root")) if is_account(account) => {
                    Principal::Account(account.to_string())
                }
                Some((account, resource)) if is_account(account) => {
                    match resource.strip_prefix("user/").filter(|n| is_user_name(n)) {
                        Some(name) => Principal::User {
                            account: account.to_string(),
                            name: name.to_string(),
                        },
                        None => return Err(unsupported()),
                    }
                }
                _ => return Err(unsupported()),
            },
        };
        listed.push(principal);
    }
    Ok(Principals::Listed(listed))
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

/// The `Condition` block: `{operator: {key: value | [value, ...]}}`.
fn conditions(block: &Value) -> Result<Vec<Condition>, String> {
    let Value::Object(operators) = block else {
        return Err("Condition must be an object of condition operators".into());
    };
    let mut parsed = Vec::new();
    for (operator, keys) in operators {
        let Value::Object(keys) = keys else {
            return Err(format!(
                "Condition {operator} must be an object of condition keys"
            ));
        };
        let ip_operator = match operator.as_str() {
            "IpAddress" => Some(false),
            "NotIpAddress" => Some(true),
            _ => None,
        };
        let string_operator = match operator.as_str() {
            "StringEquals" => Some(StringOperator::Equals),
            "StringNotEquals" => Some(StringOperator::NotEquals),
            "StringLike" => Some(StringOperator::Like),
            "StringNotLike" => Some(StringOperator::NotLike),
            _ => None,
        };
        if ip_operator.is_none() && string_operator.is_none() {
            return Err(format!(
                "condition operator {operator} is not supported; {SUPPORTED_CONDITIONS}"
            ));
        }
        for (key, values) in keys {
            let values = strings(Some(values), &format!("Condition {operator} {key}"))?;
            let condition = if key.eq_ignore_ascii_case(SOURCE_IP) {
                let negated = ip_operator.ok_or_else(|| {
                    format!("{SOURCE_IP} takes IpAddress or NotIpAddress, not {operator}")
                })?;
                let ranges = values
                    .iter()
                    .map(|v| ip_range(v))
                    .collect::<Result<_, _>>()?;
                Condition::SourceIp { negated, ranges }
            } else if key.eq_ignore_ascii_case(REQUESTED_REGION) {
                let operator = string_operator.ok_or_else(|| {
                    format!(
                        "{REQUESTED_REGION} takes StringEquals, StringNotEquals, StringLike or StringNotLike, not {operator}"
                    )
                })?;
                Condition::RequestedRegion { operator, values }
            } else {
                return Err(format!(
                    "condition key {key} is not supported; {SUPPORTED_CONDITIONS}"
                ));
            };
            parsed.push(condition);
        }
    }
    Ok(parsed)
}

/// `10.0.0.0/8`, `2001:db8::/32`, or a lone address.
fn ip_range(text: &str) -> Result<IpRange, String> {
    let wrong = || format!("{SOURCE_IP} value {text} is not an IP address or CIDR range");
    let (address, prefix) = match text.split_once('/') {
        Some((address, prefix)) => (address, Some(prefix)),
        None => (text, None),
    };
    let network: IpAddr = address.parse().map_err(|_| wrong())?;
    let bits = if network.is_ipv4() { 32 } else { 128 };
    let prefix = match prefix {
        None => bits,
        Some(p) => p
            .parse::<u8>()
            .ok()
            .filter(|p| *p <= bits)
            .ok_or_else(wrong)?,
    };
    Ok(IpRange { network, prefix })
}

impl IpRange {
    fn contains(&self, address: IpAddr) -> bool {
        let within = |network: u128, address: u128, bits: u32| {
            let shift = bits - u32::from(self.prefix);
            network.checked_shr(shift).unwrap_or(0) == address.checked_shr(shift).unwrap_or(0)
        };
        match (self.network, address.to_canonical()) {
            (IpAddr::V4(n), IpAddr::V4(a)) => within(u32::from(n).into(), u32::from(a).into(), 32),
            (IpAddr::V6(n), IpAddr::V6(a)) => within(u128::from(n), u128::from(a), 128),
            _ => false,
        }
    }
}

impl Condition {
    fn holds(&self, request: &Request<'_>) -> bool {
        match self {
            Condition::SourceIp { negated, ranges } => {
                let inside = request
                    .source_ip
                    .is_some_and(|ip| ranges.iter().any(|r| r.contains(ip)));
                inside != *negated
            }
            Condition::RequestedRegion { operator, values } => {
                let region = request.region;
                match operator {
                    StringOperator::Equals => values.iter().any(|v| v == region),
                    StringOperator::NotEquals => !values.iter().any(|v| v == region),
                    StringOperator::Like => values.iter().any(|v| wildcard_match(v, region, false)),
                    StringOperator::NotLike => {
                        !values.iter().any(|v| wildcard_match(v, region, false))
                    }
                }
            }
        }
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
    fn names(&self, request: &Request<'_>) -> bool {
        let listed = match &self.principals {
            None | Some(Principals::Everyone) => return true,
            Some(Principals::Listed(listed)) => listed,
        };
        listed.iter().any(|p| match p {
            Principal::Account(account) => {
                account == request.account
                    && (self.effect == Effect::Deny || request.account_grants)
            }
            Principal::User { account, name } => {
                account == request.account && request.user == Some(name.as_str())
            }
        })
    }

    fn matches(&self, request: &Request<'_>) -> bool {
        self.names(request)
            && self
                .actions
                .iter()
                .any(|a| wildcard_match(a, request.action, true))
            && self
                .resources
                .iter()
                .any(|r| wildcard_match(r, request.resource, false))
            && self.conditions.iter().all(|c| c.holds(request))
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
            user: None,
            account_grants: true,
            action,
            resource: KEY,
            source_ip: None,
            region: "us-east-1",
        }
    }

    fn parse_resource(document: &str) -> Result<Policy, PolicyError> {
        parse(document, Kind::Resource)
    }

    fn allow(principal: &str, action: &str, resource: &str) -> String {
        format!(
            r#"{{"Version":"2012-10-17","Statement":{{"Effect":"Allow","Principal":{{"AWS":"{principal}"}},"Action":"{action}","Resource":"{resource}"}}}}"#
        )
    }

    fn invalid_message(document: &str) -> String {
        match parse_resource(document) {
            Err(PolicyError::Invalid(m)) => m,
            other => panic!("expected an invalid policy, got {other:?}"),
        }
    }

    #[test]
    fn an_allow_grants_the_named_account_the_named_action_only() {
        let policy =
            parse_resource(&allow("444455556666", "payment-cryptography:GetKey", KEY)).unwrap();
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
        let policy = parse_resource(
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
        let policy = parse_resource(&allow("444455556666", "*", &upper)).unwrap();
        assert_eq!(
            policy.decide(&request("444455556666", "payment-cryptography:GetKey")),
            Decision::NotAllowed
        );
    }

    #[test]
    fn a_deny_wins_over_an_allow() {
        let policy = parse_resource(
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
                matches!(parse_resource(&document), Err(PolicyError::Public(_))),
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
                with(r#","Condition":{"DateGreaterThan":{"aws:CurrentTime":"2020-01-01"}}"#),
                "statement S1: condition operator DateGreaterThan is not supported",
            ),
            (
                with(r#","Condition":{"StringEquals":{"aws:PrincipalTag/team":"x"}}"#),
                "condition key aws:PrincipalTag/team is not supported",
            ),
            (
                with(r#","Condition":{"StringEquals":{"aws:SourceIp":"10.0.0.1"}}"#),
                "aws:SourceIp takes IpAddress or NotIpAddress, not StringEquals",
            ),
            (
                with(r#","Condition":{"IpAddress":{"aws:RequestedRegion":"us-east-1"}}"#),
                "aws:RequestedRegion takes StringEquals",
            ),
            (
                with(r#","Condition":{"IpAddress":{"aws:SourceIp":"10.0.0.0/33"}}"#),
                "10.0.0.0/33 is not an IP address or CIDR range",
            ),
            (
                with(r#","Condition":{"IpAddress":{"aws:SourceIp":"localhost"}}"#),
                "localhost is not an IP address",
            ),
            (with(r#","Condition":[]"#), "Condition must be an object"),
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
        let policy = parse_resource(
            r#"{"Version":"2012-10-17","Id":"p","Statement":{"Effect":"Deny","Principal":{"AWS":"*"},"Action":"*","Resource":"*"}}"#,
        )
        .unwrap();
        assert_eq!(
            policy.decide(&request("111122223333", "payment-cryptography:GetKey")),
            Decision::ExplicitDeny
        );
    }

    #[test]
    fn users_are_named_by_arn_and_accounts_grant_only_across_accounts() {
        let policy = parse_resource(
            r#"{"Version":"2012-10-17","Statement":[
                {"Effect":"Allow","Principal":{"AWS":"arn:aws:iam::111122223333:user/ceremony"},"Action":"payment-cryptography:ExportKey","Resource":"*"},
                {"Effect":"Allow","Principal":{"AWS":"111122223333"},"Action":"payment-cryptography:GetKey","Resource":"*"},
                {"Effect":"Deny","Principal":{"AWS":"arn:aws:iam::111122223333:user/ci"},"Action":"payment-cryptography:GetKey","Resource":"*"}]}"#,
        )
        .unwrap();
        let ask = |user: Option<&'static str>, account_grants: bool, action: &'static str| {
            policy.decide(&Request {
                user,
                account_grants,
                ..request("111122223333", action)
            })
        };
        let export = "payment-cryptography:ExportKey";
        let get = "payment-cryptography:GetKey";
        assert_eq!(ask(Some("ceremony"), false, export), Decision::Allow);
        assert_eq!(ask(Some("issuer"), false, export), Decision::NotAllowed);
        assert_eq!(ask(None, false, export), Decision::NotAllowed);
        // Naming the account grants its users only across accounts.
        assert_eq!(ask(Some("issuer"), false, get), Decision::NotAllowed);
        assert_eq!(ask(Some("issuer"), true, get), Decision::Allow);
        assert_eq!(ask(Some("ci"), true, get), Decision::ExplicitDeny);
        // The same user name in another account is another user.
        assert_eq!(
            policy.decide(&Request {
                user: Some("ceremony"),
                ..request("444455556666", export)
            }),
            Decision::NotAllowed
        );
    }

    #[test]
    fn a_deny_naming_an_account_applies_to_its_users() {
        let policy = parse_resource(
            r#"{"Version":"2012-10-17","Statement":{"Effect":"Deny","Principal":{"AWS":"arn:aws:iam::111122223333:root"},"Action":"*","Resource":"*"}}"#,
        )
        .unwrap();
        let by_user = Request {
            user: Some("issuer"),
            account_grants: false,
            ..request("111122223333", "payment-cryptography:GetKey")
        };
        assert_eq!(policy.decide(&by_user), Decision::ExplicitDeny);
    }

    #[test]
    fn source_ip_conditions_match_addresses_and_ranges() {
        let policy = parse(
            r#"{"Version":"2012-10-17","Statement":[
                {"Effect":"Allow","Action":"*","Resource":"*","Condition":{"IpAddress":{"aws:SourceIp":["127.0.0.1/32","10.1.0.0/16","2001:db8::/32"]}}},
                {"Effect":"Deny","Action":"payment-cryptography:ExportKey","Resource":"*","Condition":{"NotIpAddress":{"aws:sourceip":"10.1.2.3"}}}]}"#,
            Kind::Identity,
        )
        .unwrap();
        let from = |ip: Option<&str>, action: &'static str| {
            policy.decide(&Request {
                source_ip: ip.map(|ip| ip.parse().unwrap()),
                ..request("111122223333", action)
            })
        };
        let get = "payment-cryptography:GetKey";
        let export = "payment-cryptography:ExportKey";
        assert_eq!(from(Some("127.0.0.1"), get), Decision::Allow);
        assert_eq!(from(Some("::ffff:127.0.0.1"), get), Decision::Allow);
        assert_eq!(from(Some("127.0.0.2"), get), Decision::NotAllowed);
        assert_eq!(from(Some("10.1.255.7"), get), Decision::Allow);
        assert_eq!(from(Some("10.2.0.1"), get), Decision::NotAllowed);
        assert_eq!(from(Some("2001:db8:1::5"), get), Decision::Allow);
        assert_eq!(from(Some("2001:db9::5"), get), Decision::NotAllowed);
        assert_eq!(from(None, get), Decision::NotAllowed);
        assert_eq!(from(Some("10.1.2.3"), export), Decision::Allow);
        assert_eq!(from(Some("10.1.2.4"), export), Decision::ExplicitDeny);
        assert_eq!(from(None, export), Decision::ExplicitDeny);
        assert!(
            ip_range("0.0.0.0/0")
                .unwrap()
                .contains("203.0.113.9".parse().unwrap())
        );
        assert!(
            ip_range("::/0")
                .unwrap()
                .contains("2001:db8::1".parse().unwrap())
        );
    }

    #[test]
    fn requested_region_conditions() {
        let allow_if = |operator: &str, values: &str| {
            parse(
                &format!(
                    r#"{{"Version":"2012-10-17","Statement":{{"Effect":"Allow","Action":"*","Resource":"*","Condition":{{"{operator}":{{"aws:RequestedRegion":{values}}}}}}}}}"#
                ),
                Kind::Identity,
            )
            .unwrap()
        };
        let decide = |policy: &Policy, region: &'static str| {
            policy.decide(&Request {
                region,
                ..request("111122223333", "payment-cryptography:GetKey")
            })
        };
        let cases = [
            ("StringEquals", r#""us-east-1""#, "us-east-1", true),
            (
                "StringEquals",
                r#"["eu-west-1","us-east-1"]"#,
                "us-east-1",
                true,
            ),
            ("StringEquals", r#""US-EAST-1""#, "us-east-1", false),
            ("StringNotEquals", r#""us-east-1""#, "us-east-1", false),
            ("StringNotEquals", r#""us-east-1""#, "eu-west-1", true),
            ("StringLike", r#""eu-*""#, "eu-west-1", true),
            ("StringLike", r#""eu-*""#, "us-east-1", false),
            ("StringNotLike", r#"["eu-*","ap-*"]"#, "us-east-1", true),
            ("StringNotLike", r#"["eu-*","ap-*"]"#, "ap-south-1", false),
        ];
        for (operator, values, region, allowed) in cases {
            let expected = if allowed {
                Decision::Allow
            } else {
                Decision::NotAllowed
            };
            assert_eq!(
                decide(&allow_if(operator, values), region),
                expected,
                "{operator} {values} {region}"
            );
        }
    }

    #[test]
    fn every_condition_of_a_statement_must_hold() {
        let policy = parse(
            r#"{"Version":"2012-10-17","Statement":{"Effect":"Allow","Action":"*","Resource":"*","Condition":{"IpAddress":{"aws:SourceIp":"127.0.0.0/8"},"StringEquals":{"aws:RequestedRegion":"us-east-1"}}}}"#,
            Kind::Identity,
        )
        .unwrap();
        let ask = |ip: &str, region: &'static str| {
            policy.decide(&Request {
                source_ip: Some(ip.parse().unwrap()),
                region,
                ..request("111122223333", "payment-cryptography:GetKey")
            })
        };
        assert_eq!(ask("127.0.0.1", "us-east-1"), Decision::Allow);
        assert_eq!(ask("127.0.0.1", "eu-west-1"), Decision::NotAllowed);
        assert_eq!(ask("10.0.0.1", "us-east-1"), Decision::NotAllowed);
    }

    #[test]
    fn identity_policies_refuse_principals_and_apply_to_their_user() {
        let policy = parse(
            r#"{"Version":"2012-10-17","Statement":{"Effect":"Allow","Action":"payment-cryptography:Verify*","Resource":"arn:aws:payment-cryptography:*:111122223333:key/*"}}"#,
            Kind::Identity,
        )
        .unwrap();
        assert_eq!(
            policy.decide(&request(
                "111122223333",
                "payment-cryptography:VerifyPinData"
            )),
            Decision::Allow
        );
        assert_eq!(
            policy.decide(&request("111122223333", "payment-cryptography:ExportKey")),
            Decision::NotAllowed
        );
        for element in [
            r#""Principal":"*""#,
            r#""NotPrincipal":{"AWS":"111122223333"}"#,
        ] {
            let document = format!(
                r#"{{"Version":"2012-10-17","Statement":{{"Sid":"S",{element},"Effect":"Allow","Action":"*","Resource":"*"}}}}"#
            );
            match parse(&document, Kind::Identity) {
                Err(PolicyError::Invalid(m)) => {
                    assert!(m.contains("does not belong in an identity policy"), "{m}")
                }
                other => panic!("{element}: {other:?}"),
            }
        }
    }

    #[test]
    fn user_principals_are_checked() {
        for bad in [
            "arn:aws:iam::111122223333:user/",
            "arn:aws:iam::111122223333:user/a b",
            "arn:aws:iam::11112222333:user/x",
            "arn:aws:iam::111122223333:user/path/x",
        ] {
            let document = allow(bad, "*", "*");
            match parse_resource(&document) {
                Err(PolicyError::Invalid(m)) => assert!(m.contains("is not supported"), "{m}"),
                other => panic!("{bad}: {other:?}"),
            }
        }
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

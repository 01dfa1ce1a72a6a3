//! Who may do what: the evaluation of a caller's identity policy together with the resource
//! policy of each key a request names, as IAM does it.
//!
//! A credential may belong to a user (`arn:aws:iam::ACCOUNT:user/NAME`) with an identity policy
//! ([`IdentityPolicy`], parsed from the configuration with [`parse_identity_policy`]). Every
//! operation of every plane is authorized for the action `payment-cryptography:<Operation>`:
//! - on each key the request names (the key an alias names; every key of a request naming
//!   several), when that key is resolved ([`crate::Service::resolve_key`]), before anything is
//!   read from or written to it;
//! - for a caller with an identity policy, also before the operation runs
//!   ([`Service::authorize`]): on every key the request names, or on `*` when it names none, so
//!   a refusal comes before any other answer and before any change.
//!
//! The rules: an explicit `Deny` in the identity policy or in the key's resource policy refuses.
//! Within the account, an `Allow` in the identity policy (a credential without a policy is
//! allowed everything) or a resource policy statement allowing the user by name grants. Across
//! accounts, both must allow: the caller's identity policy, and the key's resource policy naming
//! the caller's account or user (see [`crate::resource_policies`]). Every refusal is an
//! AccessDeniedException in AWS's words, and comes before any change.

use paycrypt_api::{AnyOperation, ApiError, ErrorCode, Operation};
use serde::Serialize;
use serde_json::Value;

use crate::policy::{self, Decision, Kind, Policy};
use crate::{Context, Service};

/// A user's identity policy, parsed and checked: what the user may do.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct IdentityPolicy(Policy);

/// Parses and checks an identity policy document, or says what is wrong with it.
pub fn parse_identity_policy(document: &str) -> Result<IdentityPolicy, String> {
    match policy::parse(document, Kind::Identity) {
        Ok(policy) => Ok(IdentityPolicy(policy)),
        Err(policy::PolicyError::Invalid(message) | policy::PolicyError::Public(message)) => {
            Err(message)
        }
    }
}

/// Whether `name` may name a user: 1 to 64 letters, digits and `+=,.@_-`, as IAM allows.
pub fn is_user_name(name: &str) -> bool {
    policy::is_user_name(name)
}

/// The IAM ARN of a caller of `account`: its user's, or the account root's for a credential
/// without a user.
pub fn principal_arn(account: &str, user: Option<&str>) -> String {
    match user {
        Some(name) => format!("arn:aws:iam::{account}:user/{name}"),
        None => format!("arn:aws:iam::{account}:root"),
    }
}

/// The stable unique id STS answers for a user (`AIDA` and 17 letters and digits, the shape of
/// IAM's user ids), derived from its account and name so it survives restarts and reloads.
pub fn user_id(account: &str, user: &str) -> String {
    const ALPHABET: &[u8; 36] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789";
    let digest = aws_lc_rs::digest::digest(
        &aws_lc_rs::digest::SHA256,
        format!("{account}:{user}").as_bytes(),
    );
    let tail: String = digest.as_ref()[..17]
        .iter()
        .map(|b| char::from(ALPHABET[usize::from(*b) % ALPHABET.len()]))
        .collect();
    format!("AIDA{tail}")
}

/// Why a request is refused.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Refusal {
    IdentityDeny,
    ResourceDeny,
    NoIdentityAllow,
    NoResourceAllow,
}

/// The action of the operation being served.
pub(crate) fn action(ctx: &Context) -> String {
    format!("payment-cryptography:{}", ctx.operation.name())
}

/// The AccessDeniedException for the caller performing the current operation on `resource`.
pub(crate) fn denied(ctx: &Context, resource: &str, why: Refusal) -> ApiError {
    let action = action(ctx);
    let reason = match why {
        Refusal::IdentityDeny => "with an explicit deny in an identity-based policy".to_string(),
        Refusal::ResourceDeny => "with an explicit deny in a resource-based policy".to_string(),
        Refusal::NoIdentityAllow => {
            format!("because no identity-based policy allows the {action} action")
        }
        Refusal::NoResourceAllow => {
            format!("because no resource-based policy allows the {action} action")
        }
    };
    ApiError::access_denied(format!(
        "User: {} is not authorized to perform: {action} on resource: {resource} {reason}",
        ctx.caller_arn()
    ))
}

/// The policy request of the caller performing the current operation on `resource`.
pub(crate) fn request<'a>(
    ctx: &'a Context,
    action: &'a str,
    resource: &'a str,
    account_grants: bool,
) -> policy::Request<'a> {
    policy::Request {
        account: &ctx.account,
        user: ctx.caller.user.as_deref(),
        account_grants,
        action,
        resource,
        source_ip: ctx.caller.source_ip,
        region: &ctx.region,
    }
}

/// Whether the caller's identity policy allows the current operation on `resource` (a credential
/// without a policy may do everything); an explicit deny refuses.
pub(crate) fn identity_allows(ctx: &Context, resource: &str) -> Result<bool, ApiError> {
    let Some(policy) = &ctx.caller.identity_policy else {
        return Ok(true);
    };
    let action = action(ctx);
    match policy.0.decide(&request(ctx, &action, resource, false)) {
        Decision::Allow => Ok(true),
        Decision::NotAllowed => Ok(false),
        Decision::ExplicitDeny => Err(denied(ctx, resource, Refusal::IdentityDeny)),
    }
}

impl Service {
    /// Authorizes a request of a caller with an identity policy before it runs: on each key it
    /// names (resolved as the operation will, with its resource policy), or on `*` when it
    /// names none. ListAliases only filters by the key it may name, so it is about no key. A
    /// named key that does not resolve for another reason (not found, not a key ARN) is left
    /// for the operation to report in its own order.
    ///
    /// A caller without a policy is not checked here: everything in its account is allowed, and
    /// the resource policies of the keys it names are evaluated when the operation resolves them.
    pub(crate) async fn authorize(
        &self,
        ctx: &Context,
        input: &impl Serialize,
    ) -> Result<(), ApiError> {
        if ctx.caller.identity_policy.is_none() {
            return Ok(());
        }
        let mut identifiers = Vec::new();
        if ctx.operation != AnyOperation::Control(Operation::ListAliases) {
            let input = serde_json::to_value(input)
                .map_err(|e| ApiError::internal(format!("The request could not be read: {e}")))?;
            key_identifiers(&input, &mut identifiers);
        }
        if identifiers.is_empty() {
            return if identity_allows(ctx, "*")? {
                Ok(())
            } else {
                Err(denied(ctx, "*", Refusal::NoIdentityAllow))
            };
        }
        for identifier in identifiers {
            match self.resolve_key(ctx, &identifier).await {
                Err(e) if e.code == ErrorCode::AccessDeniedException => return Err(e),
                _ => {}
            }
        }
        Ok(())
    }
}

/// Whether a request member of this name holds a key identifier (key ARN, alias or alias ARN).
fn is_key_member(name: &str) -> bool {
    name.ends_with("Identifier") || name == "KeyArn" || name == "ResourceArn"
}

/// The key identifiers anywhere in an input, in order.
fn key_identifiers(value: &Value, found: &mut Vec<String>) {
    match value {
        Value::Object(members) => {
            for (name, v) in members {
                match v {
                    Value::String(identifier) if is_key_member(name) => {
                        found.push(identifier.clone())
                    }
                    _ => key_identifiers(v, found),
                }
            }
        }
        Value::Array(items) => items.iter().for_each(|v| key_identifiers(v, found)),
        _ => {}
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The members [`is_key_member`] recognizes, in every shape a request of either plane can
    /// hold, are exactly those whose shape is a key identifier.
    #[test]
    fn key_members_are_those_the_models_type_as_keys() {
        for model in [
            include_str!("../../../model/service-2.json"),
            include_str!("../../../model/data/service-2.json"),
        ] {
            let model: Value = serde_json::from_str(model).unwrap();
            let shapes = &model["shapes"];
            let mut pending: Vec<&str> = model["operations"]
                .as_object()
                .unwrap()
                .values()
                .filter_map(|op| op["input"]["shape"].as_str())
                .collect();
            let mut seen = std::collections::HashSet::new();
            while let Some(name) = pending.pop() {
                if !seen.insert(name) {
                    continue;
                }
                let shape = &shapes[name];
                if let Some(member) = shape["member"]["shape"].as_str() {
                    pending.push(member);
                }
                for (member, target) in shape["members"].as_object().into_iter().flatten() {
                    let target = target["shape"].as_str().unwrap();
                    let holds_key =
                        matches!(target, "KeyArnOrKeyAliasType" | "KeyArn" | "ResourceArn");
                    assert_eq!(is_key_member(member), holds_key, "{name}.{member}");
                    pending.push(target);
                }
            }
        }
    }

    #[test]
    fn key_identifiers_are_found_at_any_depth() {
        let found = |value: Value| {
            let mut found = Vec::new();
            key_identifiers(&value, &mut found);
            found
        };
        assert_eq!(
            found(serde_json::json!({"ExportKeyIdentifier": "alias/a",
                "KeyMaterial": {"Tr31KeyBlock": {"WrappingKeyIdentifier": "alias/k"}}})),
            ["alias/a", "alias/k"]
        );
        assert!(found(serde_json::json!({"AliasName": "alias/k", "KeyArn": null})).is_empty());
        assert!(
            found(serde_json::json!({"KeyMaterial": {"RootCertificatePublicKey": {"PublicKeyCertificate": "x"}}}))
                .is_empty()
        );
    }

    #[test]
    fn user_ids_are_stable_and_distinct() {
        let id = user_id("111122223333", "issuer-host");
        assert_eq!(id, user_id("111122223333", "issuer-host"));
        assert_eq!(id.len(), 21);
        assert!(id.starts_with("AIDA") && id.bytes().all(|b| b.is_ascii_alphanumeric()));
        assert_ne!(id, user_id("111122223333", "issuer-host2"));
        assert_ne!(id, user_id("444455556666", "issuer-host"));
    }

    #[test]
    fn principal_arns() {
        assert_eq!(
            principal_arn("111122223333", Some("issuer-host")),
            "arn:aws:iam::111122223333:user/issuer-host"
        );
        assert_eq!(
            principal_arn("111122223333", None),
            "arn:aws:iam::111122223333:root"
        );
    }

    #[test]
    fn identity_policies_name_no_principal() {
        let allow = r#"{"Version":"2012-10-17","Statement":{"Effect":"Allow","Action":"payment-cryptography:GetKey","Resource":"*"}}"#;
        assert!(parse_identity_policy(allow).is_ok());
        let with_principal = allow.replace(
            r#""Effect""#,
            r#""Principal":{"AWS":"111122223333"},"Effect""#,
        );
        let message = parse_identity_policy(&with_principal).unwrap_err();
        assert!(message.contains("Principal does not belong"), "{message}");
    }
}

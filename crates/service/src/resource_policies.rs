//! Resource policies on keys: PutResourcePolicy, GetResourcePolicy and DeleteResourcePolicy, and
//! how a key's policy is enforced when a key is used.
//!
//! The policy document is kept exactly as given in the key's service-owned metadata document
//! (never in the `Key` the API returns). It decides two things:
//! - another account (in the same region) may use the key with an operation that supports
//!   cross-account use exactly when the policy allows that account the operation's action
//!   (`payment-cryptography:<Operation>`) on the key's ARN. Every refusal, including a key that
//!   does not exist, is the same AccessDeniedException, so other accounts cannot probe for keys;
//! - another account's caller must also be allowed by its own identity policy, if it has one
//!   (see [`crate::authorization`]);
//! - within the owner's account, a statement explicitly denying the account (or the calling
//!   user) applies, and a statement allowing a user by name grants that user what its identity
//!   policy does not. The three resource policy operations are exempt from the denials, as in
//!   AWS, so an owner can never lock itself out of a key's policy.

use paycrypt_api::{
    AnyOperation, ApiError, DeleteResourcePolicyInput, DeleteResourcePolicyOutput, ErrorCode,
    GetResourcePolicyInput, GetResourcePolicyOutput, KeyState, Operation, PutResourcePolicyInput,
    PutResourcePolicyOutput,
};

use crate::authorization::{self, Refusal};
use crate::keys::LoadedKey;
use crate::policy::{self, Decision, Kind, PolicyError};
use crate::{Context, Service};

/// The operations the service model documents as supporting cross-account use ("This operation
/// supports cross-account use when the key has a resource-based policy that grants access").
const CROSS_ACCOUNT_OPERATIONS: &[Operation] = &[
    Operation::AddKeyReplicationRegions,
    Operation::DeleteKey,
    Operation::ExportKey,
    Operation::GetKey,
    Operation::GetPublicKeyCertificate,
    Operation::ImportKey,
    Operation::ListTagsForResource,
    Operation::RemoveKeyReplicationRegions,
    Operation::RestoreKey,
    Operation::StartKeyUsage,
    Operation::StopKeyUsage,
    Operation::TagResource,
    Operation::UntagResource,
];

/// Whether `operation` may name a key of another account: the control-plane operations above,
/// and every data-plane operation (each uses keys, which a key's policy may share).
pub(crate) fn supports_cross_account(operation: AnyOperation) -> bool {
    match operation {
        AnyOperation::Control(op) => CROSS_ACCOUNT_OPERATIONS.contains(&op),
        AnyOperation::Data(_) => true,
    }
}

/// The operations a key's policy never restricts for its owner.
fn manages_policy(operation: AnyOperation) -> bool {
    matches!(
        operation,
        AnyOperation::Control(
            Operation::PutResourcePolicy
                | Operation::GetResourcePolicy
                | Operation::DeleteResourcePolicy
        )
    )
}

/// What `key`'s policy says about the caller performing the current operation on it;
/// `account_grants` as in [`policy::Request`].
fn decide(ctx: &Context, key: &LoadedKey, account_grants: bool) -> Decision {
    let Some(document) = key.doc.resource_policy.as_deref() else {
        return Decision::NotAllowed;
    };
    match policy::parse(document, Kind::Resource) {
        Ok(policy) => {
            let action = authorization::action(ctx);
            policy.decide(&authorization::request(
                ctx,
                &action,
                &key.doc.key.key_arn,
                account_grants,
            ))
        }
        Err(e) => {
            // Stored policies were checked when they were put; refuse rather than guess.
            tracing::error!(key_arn = %key.doc.key.key_arn, "stored resource policy is unreadable: {e:?}");
            Decision::ExplicitDeny
        }
    }
}

/// Lets another account use `key` when its policy allows the current operation to the caller's
/// account or user (the caller's identity policy was asked first). The refusal is the same
/// whether the key is missing, has no policy, or its policy does not allow the caller, so other
/// accounts cannot probe for keys.
pub(crate) fn check_cross_account(
    ctx: &Context,
    key: Option<LoadedKey>,
    identifier: &str,
) -> Result<LoadedKey, ApiError> {
    match key {
        Some(key) if decide(ctx, &key, true) == Decision::Allow => Ok(key),
        _ => Err(authorization::denied(
            ctx,
            identifier,
            Refusal::NoResourceAllow,
        )),
    }
}

/// Decides the owner's own use of `key`, given whether the caller's identity policy allows it:
/// refused when the key's policy explicitly denies the caller (except for the three policy
/// operations), else allowed when the identity policy or a statement naming the user does.
pub(crate) fn check_owner(
    ctx: &Context,
    key: &LoadedKey,
    identity_allows: bool,
) -> Result<(), ApiError> {
    let decision = decide(ctx, key, false);
    if decision == Decision::ExplicitDeny && !manages_policy(ctx.operation) {
        return Err(authorization::denied(
            ctx,
            &key.doc.key.key_arn,
            Refusal::ResourceDeny,
        ));
    }
    if identity_allows || decision == Decision::Allow {
        Ok(())
    } else {
        Err(authorization::denied(
            ctx,
            &key.doc.key.key_arn,
            Refusal::NoIdentityAllow,
        ))
    }
}

fn no_policy(arn: &str) -> ApiError {
    ApiError::not_found(
        format!("Key {arn} has no resource-based policy."),
        arn.to_string(),
    )
}

impl Service {
    pub(crate) async fn put_resource_policy(
        &self,
        ctx: &Context,
        input: PutResourcePolicyInput,
    ) -> Result<PutResourcePolicyOutput, ApiError> {
        let mut key = self.resolve_key_arn(ctx, &input.resource_arn).await?;
        policy::parse(&input.policy, Kind::Resource).map_err(|e| match e {
            PolicyError::Invalid(m) => ApiError::validation(format!("Policy is not valid: {m}.")),
            PolicyError::Public(m) => ApiError::new(ErrorCode::PublicPolicyException, m),
        })?;
        // paycrypt's own rule, listed in the README under "Where paycrypt is stricter than AWS".
        if key.doc.key.key_state == KeyState::DeleteComplete {
            return Err(ApiError::validation(format!(
                "Key {} is DELETE_COMPLETE; a policy cannot be attached to it.",
                key.doc.key.key_arn
            )));
        }
        key.doc.resource_policy = Some(input.policy);
        self.save_key(&key).await?;
        tracing::info!(key_arn = %key.doc.key.key_arn, "resource policy attached");
        Ok(PutResourcePolicyOutput {
            resource_arn: key.doc.key.key_arn,
            policy: key.doc.resource_policy.unwrap_or_default(),
        })
    }

    pub(crate) async fn get_resource_policy(
        &self,
        ctx: &Context,
        input: GetResourcePolicyInput,
    ) -> Result<GetResourcePolicyOutput, ApiError> {
        let key = self.resolve_key_arn(ctx, &input.resource_arn).await?;
        let arn = key.doc.key.key_arn;
        let policy = key.doc.resource_policy.ok_or_else(|| no_policy(&arn))?;
        Ok(GetResourcePolicyOutput {
            resource_arn: arn,
            policy,
        })
    }

    pub(crate) async fn delete_resource_policy(
        &self,
        ctx: &Context,
        input: DeleteResourcePolicyInput,
    ) -> Result<DeleteResourcePolicyOutput, ApiError> {
        let mut key = self.resolve_key_arn(ctx, &input.resource_arn).await?;
        if key.doc.resource_policy.take().is_none() {
            return Err(no_policy(&key.doc.key.key_arn));
        }
        self.save_key(&key).await?;
        tracing::info!(key_arn = %key.doc.key.key_arn, "resource policy removed");
        Ok(DeleteResourcePolicyOutput {})
    }
}

#[cfg(test)]
mod tests {
    use paycrypt_api::data;

    use super::*;

    /// The list above is the one the service model documents, operation by operation.
    #[test]
    fn cross_account_operations_are_those_the_model_documents() {
        let model: serde_json::Value =
            serde_json::from_str(include_str!("../../../model/service-2.json")).unwrap();
        let operations = model["operations"].as_object().unwrap();
        assert_eq!(operations.len(), Operation::ALL.len());
        for (name, op) in operations {
            let doc = op["documentation"].as_str().unwrap_or_default();
            let documented = doc.contains("supports cross-account use");
            let operation = AnyOperation::Control(Operation::from_name(name).unwrap());
            assert_eq!(supports_cross_account(operation), documented, "{name}");
        }
    }

    /// Every data-plane operation's documentation says it supports cross-account use.
    #[test]
    fn every_data_plane_operation_supports_cross_account_use_as_documented() {
        let model: serde_json::Value =
            serde_json::from_str(include_str!("../../../model/data/service-2.json")).unwrap();
        let operations = model["operations"].as_object().unwrap();
        assert_eq!(operations.len(), data::Operation::ALL.len());
        for (name, op) in operations {
            let doc = op["documentation"].as_str().unwrap_or_default();
            assert!(doc.contains("supports cross-account use"), "{name}");
            let operation = AnyOperation::Data(data::Operation::from_name(name).unwrap());
            assert!(supports_cross_account(operation), "{name}");
        }
    }
}

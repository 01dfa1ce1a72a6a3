//! Multi-party approval (MPA) of the protected action `IMPORT_ROOT_PUBLIC_KEY_CERTIFICATE`:
//! AssociateMpaTeam, DisassociateMpaTeam, GetMpaTeamAssociation, the approval gate of ImportKey
//! with a RootCertificatePublicKey, and the operator's side of an approval session
//! ([`Service::mpa_sessions`], [`Service::decide_mpa_session`], behind `paycrypt admin mpa`).
//!
//! paycrypt has no approval team service: the team ARN is recorded as given, and the operator
//! approves, denies or cancels sessions with the admin command. A session's ARN follows the
//! model's pattern, `arn:aws:mpa:REGION:ACCOUNT:session/TEAM/ID`, with the account and region of
//! what it guards, so the operator tool can find it: ID is `key-KEYID` for an import and
//! `association-RANDOM` for a change of the association.
//!
//! While a team is associated, an imported root certificate is stored in `CREATE_IN_PROGRESS`
//! with a PENDING session and refused by every operation that uses a key. Approval completes it;
//! denial (FAILED) or cancellation (CANCELLED) leaves it unusable, and it can then be deleted.
//! The first association takes effect at once (no team exists yet to approve it); changing the
//! team (UPDATE_PENDING) and removing it (DELETE_PENDING) need the current team's approval, and
//! until then the current team keeps guarding imports.

use paycrypt_api::{
    AnyOperation, ApiError, AssociateMpaTeamInput, AssociateMpaTeamOutput, AssociationState,
    DisassociateMpaTeamInput, DisassociateMpaTeamOutput, GetMpaTeamAssociationInput,
    GetMpaTeamAssociationOutput, Key, KeyState, MpaStatus, MpaTeamAssociation, MultiRegionKeyType,
    Operation, SessionStatus, Timestamp,
};
use paycrypt_store::{Scope, StoreError};
use serde::{Deserialize, Serialize};

use crate::keys::LoadedKey;
use crate::{Caller, Context, Service, ids, store_error};

/// The scope setting holding the association of the one protected action.
const ASSOCIATION: &str = "mpa_association";

/// The stored association: what GetMpaTeamAssociation reports, plus the team in force while a
/// change awaits approval.
#[derive(Debug, Clone, Serialize, Deserialize)]
struct AssociationRecord {
    association: MpaTeamAssociation,
    active_team_arn: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    requester_comment: Option<String>,
}

/// The error of using a key whose import awaits, or was refused, multi-party approval.
pub(crate) fn unapproved(key_arn: &str, mpa: &MpaStatus) -> ApiError {
    let session = &mpa.mpa_session_arn;
    match mpa.status {
        SessionStatus::Pending => ApiError::validation(format!(
            "Key {key_arn} cannot be used: multi-party approval is pending (session {session})."
        )),
        status => ApiError::validation(format!(
            "Key {key_arn} cannot be used: its multi-party approval session {session} is {}{}.",
            status.as_str(),
            mpa.status_message
                .as_deref()
                .map(|m| format!(" ({m})"))
                .unwrap_or_default()
        )),
    }
}

/// The state a restored key returns to: complete, unless its import was never approved.
pub(crate) fn restored_state(key: &Key) -> KeyState {
    match &key.mpa_status {
        Some(mpa) if mpa.status != SessionStatus::Approved => KeyState::CreateInProgress,
        _ => KeyState::CreateComplete,
    }
}

impl LoadedKey {
    /// Refuses deletion unless the key is complete or its approval was denied or cancelled.
    pub fn require_deletable(&self) -> Result<(), ApiError> {
        let closed = matches!(
            &self.doc.key.mpa_status,
            Some(MpaStatus {
                status: SessionStatus::Failed | SessionStatus::Cancelled,
                ..
            })
        );
        if closed && self.doc.key.key_state == KeyState::CreateInProgress {
            Ok(())
        } else {
            self.require_complete()
        }
    }
}

fn session_arn(scope_region: &str, account: &str, team_arn: &str, id: &str) -> String {
    let team = team_arn.rsplit('/').next().unwrap_or("team");
    format!("arn:aws:mpa:{scope_region}:{account}:session/{team}/{id}")
}

fn pending_session(arn: String, now: Timestamp) -> MpaStatus {
    MpaStatus {
        mpa_session_arn: arn,
        status: SessionStatus::Pending,
        initiation_date: now,
        status_message: None,
    }
}

/// An import that must wait for the team's approval.
pub(crate) struct PendingApproval {
    team_arn: String,
    comment: String,
}

impl PendingApproval {
    /// Puts the new key `key_id` in `CREATE_IN_PROGRESS` with a pending session, and returns the
    /// requester's comment to keep for the approvers.
    pub fn apply(self, ctx: &Context, key_id: &str, key: &mut Key) -> String {
        let arn = session_arn(
            &ctx.region,
            &ctx.account,
            &self.team_arn,
            &format!("key-{key_id}"),
        );
        key.key_state = KeyState::CreateInProgress;
        key.usage_start_timestamp = None;
        key.mpa_status = Some(pending_session(arn, ctx.now));
        self.comment
    }
}

/// What the operator decides about a session.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum MpaDecision {
    Approve,
    Deny,
    Cancel,
}

/// An approval session as the operator sees it.
#[derive(Debug, Clone, Serialize)]
pub struct MpaSession {
    #[serde(rename = "MpaSessionArn")]
    pub session_arn: String,
    #[serde(rename = "Status")]
    pub status: SessionStatus,
    #[serde(rename = "StatusMessage", skip_serializing_if = "Option::is_none")]
    pub status_message: Option<String>,
    #[serde(rename = "InitiationDate")]
    pub initiation_date: Timestamp,
    #[serde(rename = "Account")]
    pub account: String,
    #[serde(rename = "Region")]
    pub region: String,
    /// What is to be approved: `ImportKey KEY_ARN`, `AssociateMpaTeam TEAM_ARN` or
    /// `DisassociateMpaTeam TEAM_ARN`.
    #[serde(rename = "Request")]
    pub request: String,
    #[serde(rename = "RequesterComment", skip_serializing_if = "Option::is_none")]
    pub requester_comment: Option<String>,
}

/// The parts of a session ARN: its scope and session id.
fn parse_session_arn(arn: &str) -> Result<(Scope, String), ApiError> {
    let bad = || {
        ApiError::validation(format!(
            "{arn} is not a paycrypt MPA session ARN (arn:aws:mpa:REGION:ACCOUNT:session/TEAM/ID)."
        ))
    };
    let parts: Vec<&str> = arn.splitn(6, ':').collect();
    let [_, _, "mpa", region, account, resource] = parts[..] else {
        return Err(bad());
    };
    let mut path = resource.split('/');
    let (Some("session"), Some(_team), Some(id), None) =
        (path.next(), path.next(), path.next(), path.next())
    else {
        return Err(bad());
    };
    let scope = Scope {
        account: account.to_string(),
        region: region.to_string(),
    };
    Ok((scope, id.to_string()))
}

fn not_pending(arn: &str, status: Option<SessionStatus>) -> ApiError {
    match status {
        Some(status) => ApiError::validation(format!(
            "Session {arn} is {}, not PENDING; only a pending session can be decided.",
            status.as_str()
        )),
        None => ApiError::not_found(format!("Session {arn} is not found."), arn.to_string()),
    }
}

fn closing(decision: MpaDecision, message: Option<String>) -> (SessionStatus, Option<String>) {
    match decision {
        MpaDecision::Approve => (SessionStatus::Approved, message),
        MpaDecision::Deny => (
            SessionStatus::Failed,
            Some(message.unwrap_or_else(|| "Denied by the approval team.".to_string())),
        ),
        MpaDecision::Cancel => (
            SessionStatus::Cancelled,
            Some(message.unwrap_or_else(|| "Cancelled by the operator.".to_string())),
        ),
    }
}

fn no_association() -> ApiError {
    ApiError::not_found(
        "No MPA team is associated with IMPORT_ROOT_PUBLIC_KEY_CERTIFICATE.",
        "IMPORT_ROOT_PUBLIC_KEY_CERTIFICATE",
    )
}

impl Service {
    async fn association(
        &self,
        scope: &Scope,
    ) -> Result<Option<(AssociationRecord, Vec<u8>)>, ApiError> {
        let Some(bytes) = self
            .store
            .get_scope_setting(scope, ASSOCIATION)
            .await
            .map_err(store_error)?
        else {
            return Ok(None);
        };
        let record = serde_json::from_slice(&bytes).map_err(|e| {
            tracing::error!("unreadable MPA association: {e}");
            ApiError::internal("The MPA team association could not be read.")
        })?;
        Ok(Some((record, bytes)))
    }

    async fn put_association(
        &self,
        scope: &Scope,
        record: Option<&AssociationRecord>,
        expected: Option<&[u8]>,
    ) -> Result<(), ApiError> {
        let value = record
            .map(serde_json::to_vec)
            .transpose()
            .map_err(|e| ApiError::internal(format!("Encoding failed: {e}")))?;
        self.store
            .put_scope_setting(scope, ASSOCIATION, value.as_deref(), expected)
            .await
            .map_err(|e| match e {
                StoreError::Conflict => ApiError::conflict(
                    "The MPA team association changed while this request ran; read it again and retry.",
                ),
                other => store_error(other),
            })
    }

    /// For an import of a root certificate: the approval it must wait for, if a team guards
    /// the action here. The requester's comment is then required, as AWS requires it.
    pub(crate) async fn import_approval(
        &self,
        ctx: &Context,
        comment: Option<String>,
    ) -> Result<Option<PendingApproval>, ApiError> {
        let Some((record, _)) = self.association(&ctx.scope()).await? else {
            return Ok(None);
        };
        let comment = comment.ok_or_else(|| {
            ApiError::validation(
                "RequesterComment is required: an MPA team must approve imports of root certificates (IMPORT_ROOT_PUBLIC_KEY_CERTIFICATE).",
            )
        })?;
        Ok(Some(PendingApproval {
            team_arn: record.active_team_arn,
            comment,
        }))
    }

    pub(crate) async fn associate_mpa_team(
        &self,
        ctx: &Context,
        input: AssociateMpaTeamInput,
    ) -> Result<AssociateMpaTeamOutput, ApiError> {
        let scope = ctx.scope();
        let record = match self.association(&scope).await? {
            None => {
                let record = AssociationRecord {
                    association: MpaTeamAssociation {
                        action: input.action,
                        mpa_team_arn: input.mpa_team_arn.clone(),
                        association_state: AssociationState::Active,
                        mpa_status: None,
                    },
                    active_team_arn: input.mpa_team_arn,
                    requester_comment: input.requester_comment,
                };
                self.put_association(&scope, Some(&record), None).await?;
                record
            }
            Some((current, bytes)) => {
                require_settled(&current)?;
                if current.active_team_arn == input.mpa_team_arn {
                    return Err(ApiError::conflict(format!(
                        "{} is already associated with IMPORT_ROOT_PUBLIC_KEY_CERTIFICATE.",
                        input.mpa_team_arn
                    )));
                }
                let session = self.association_session(ctx, &current.active_team_arn);
                let record = AssociationRecord {
                    association: MpaTeamAssociation {
                        action: input.action,
                        mpa_team_arn: input.mpa_team_arn,
                        association_state: AssociationState::UpdatePending,
                        mpa_status: Some(session),
                    },
                    active_team_arn: current.active_team_arn,
                    requester_comment: input.requester_comment,
                };
                self.put_association(&scope, Some(&record), Some(&bytes))
                    .await?;
                record
            }
        };
        Ok(AssociateMpaTeamOutput {
            mpa_team_association: record.association,
        })
    }

    pub(crate) async fn disassociate_mpa_team(
        &self,
        ctx: &Context,
        input: DisassociateMpaTeamInput,
    ) -> Result<DisassociateMpaTeamOutput, ApiError> {
        let scope = ctx.scope();
        let (current, bytes) = self.association(&scope).await?.ok_or_else(no_association)?;
        require_settled(&current)?;
        let session = self.association_session(ctx, &current.active_team_arn);
        let record = AssociationRecord {
            association: MpaTeamAssociation {
                action: input.action,
                mpa_team_arn: current.active_team_arn.clone(),
                association_state: AssociationState::DeletePending,
                mpa_status: Some(session),
            },
            active_team_arn: current.active_team_arn,
            requester_comment: input.requester_comment,
        };
        self.put_association(&scope, Some(&record), Some(&bytes))
            .await?;
        Ok(DisassociateMpaTeamOutput {
            mpa_team_association: record.association,
        })
    }

    pub(crate) async fn get_mpa_team_association(
        &self,
        ctx: &Context,
        _input: GetMpaTeamAssociationInput,
    ) -> Result<GetMpaTeamAssociationOutput, ApiError> {
        let (record, _) = self
            .association(&ctx.scope())
            .await?
            .ok_or_else(no_association)?;
        Ok(GetMpaTeamAssociationOutput {
            mpa_team_association: record.association,
        })
    }

    fn association_session(&self, ctx: &Context, team_arn: &str) -> MpaStatus {
        let id = format!("association-{}", ids::random_lower_alphanumeric(16));
        pending_session(
            session_arn(&ctx.region, &ctx.account, team_arn, &id),
            ctx.now,
        )
    }

    /// Every approval session in the store (all accounts and regions), oldest first; with
    /// `include_closed` false, only those still pending.
    pub async fn mpa_sessions(&self, include_closed: bool) -> Result<Vec<MpaSession>, ApiError> {
        let mut sessions = Vec::new();
        // Pending sessions are on keys in CREATE_IN_PROGRESS; decided ones may be on keys in
        // any state since.
        let states: &[KeyState] = if include_closed {
            KeyState::ALL
        } else {
            &[KeyState::CreateInProgress]
        };
        let mut keys = Vec::new();
        for state in states {
            keys.extend(
                self.store
                    .keys_in_state_everywhere(state.as_str())
                    .await
                    .map_err(store_error)?,
            );
        }
        for (scope, stored) in keys {
            let key = LoadedKey::from_stored(scope.clone(), stored)?;
            if key.doc.key.multi_region_key_type == Some(MultiRegionKeyType::Replica) {
                continue;
            }
            if let Some(mpa) = key.doc.key.mpa_status.clone() {
                sessions.push(session_of(
                    &scope,
                    mpa,
                    format!("ImportKey {}", key.doc.key.key_arn),
                    key.doc.requester_comment.clone(),
                ));
            }
        }
        let associations = self
            .store
            .scope_settings_everywhere(ASSOCIATION)
            .await
            .map_err(store_error)?;
        for (scope, bytes) in associations {
            let record: AssociationRecord = serde_json::from_slice(&bytes).map_err(|e| {
                tracing::error!("unreadable MPA association: {e}");
                ApiError::internal("The MPA team association could not be read.")
            })?;
            let a = record.association;
            if let Some(mpa) = a.mpa_status {
                let verb = match a.association_state {
                    AssociationState::DeletePending => "DisassociateMpaTeam",
                    _ => "AssociateMpaTeam",
                };
                sessions.push(session_of(
                    &scope,
                    mpa,
                    format!("{verb} {}", a.mpa_team_arn),
                    record.requester_comment,
                ));
            }
        }
        sessions.retain(|s| include_closed || s.status == SessionStatus::Pending);
        sessions.sort_by_key(|s| s.initiation_date);
        Ok(sessions)
    }

    /// Approves, denies or cancels a pending session at `now`, with an optional message for
    /// the requester (StatusMessage), and returns the session as it then stands.
    pub async fn decide_mpa_session(
        &self,
        session_arn: &str,
        decision: MpaDecision,
        message: Option<String>,
        now: Timestamp,
    ) -> Result<MpaSession, ApiError> {
        let (scope, id) = parse_session_arn(session_arn)?;
        let ctx = Context {
            account: scope.account.clone(),
            region: scope.region.clone(),
            caller: Caller::admin(),
            // The operation the session guards: an import, or a change of the association.
            operation: AnyOperation::Control(if id.starts_with("key-") {
                Operation::ImportKey
            } else {
                Operation::AssociateMpaTeam
            }),
            request_id: format!("admin-{}", ids::random_lower_alphanumeric(16)),
            now,
        };
        if let Some(key_id) = id.strip_prefix("key-") {
            self.decide_import(&ctx, session_arn, key_id, decision, message)
                .await
        } else {
            self.decide_association(&ctx, session_arn, decision, message)
                .await
        }
    }

    async fn decide_import(
        &self,
        ctx: &Context,
        session_arn: &str,
        key_id: &str,
        decision: MpaDecision,
        message: Option<String>,
    ) -> Result<MpaSession, ApiError> {
        let mut key = self
            .load_key(&ctx.scope(), key_id)
            .await?
            .ok_or_else(|| not_pending(session_arn, None))?;
        let k = &mut key.doc.key;
        let Some(mpa) = k
            .mpa_status
            .as_mut()
            .filter(|m| m.mpa_session_arn == session_arn)
        else {
            return Err(not_pending(session_arn, None));
        };
        if mpa.status != SessionStatus::Pending || k.key_state != KeyState::CreateInProgress {
            return Err(not_pending(session_arn, Some(mpa.status)));
        }
        (mpa.status, mpa.status_message) = closing(decision, message);
        let mpa = mpa.clone();
        if decision == MpaDecision::Approve {
            k.key_state = KeyState::CreateComplete;
            if k.enabled {
                k.usage_start_timestamp = Some(ctx.now);
            }
        }
        let request = format!("ImportKey {}", k.key_arn);
        self.save_with_replicas(ctx, &key, &[], &[], &[]).await?;
        tracing::info!(key_id, status = mpa.status.as_str(), "MPA session decided");
        Ok(session_of(
            &ctx.scope(),
            mpa,
            request,
            key.doc.requester_comment,
        ))
    }

    async fn decide_association(
        &self,
        ctx: &Context,
        session_arn: &str,
        decision: MpaDecision,
        message: Option<String>,
    ) -> Result<MpaSession, ApiError> {
        let scope = ctx.scope();
        let (record, bytes) = self
            .association(&scope)
            .await?
            .ok_or_else(|| not_pending(session_arn, None))?;
        let Some(mpa) = record
            .association
            .mpa_status
            .clone()
            .filter(|m| m.mpa_session_arn == session_arn)
        else {
            return Err(not_pending(session_arn, None));
        };
        if mpa.status != SessionStatus::Pending {
            return Err(not_pending(session_arn, Some(mpa.status)));
        }
        let (status, status_message) = closing(decision, message);
        let closed = MpaStatus {
            status,
            status_message,
            ..mpa
        };
        let a = &record.association;
        let verb = match a.association_state {
            AssociationState::DeletePending => "DisassociateMpaTeam",
            _ => "AssociateMpaTeam",
        };
        let request = format!("{verb} {}", a.mpa_team_arn);
        let next = match (decision, a.association_state) {
            (MpaDecision::Approve, AssociationState::DeletePending) => None,
            (MpaDecision::Approve, _) => Some(AssociationRecord {
                association: MpaTeamAssociation {
                    association_state: AssociationState::Active,
                    mpa_status: Some(closed.clone()),
                    ..a.clone()
                },
                active_team_arn: a.mpa_team_arn.clone(),
                requester_comment: record.requester_comment.clone(),
            }),
            _ => Some(AssociationRecord {
                association: MpaTeamAssociation {
                    mpa_team_arn: record.active_team_arn.clone(),
                    association_state: AssociationState::Active,
                    mpa_status: Some(closed.clone()),
                    ..a.clone()
                },
                active_team_arn: record.active_team_arn.clone(),
                requester_comment: record.requester_comment.clone(),
            }),
        };
        self.put_association(&scope, next.as_ref(), Some(&bytes))
            .await?;
        tracing::info!(
            status = closed.status.as_str(),
            "MPA association session decided"
        );
        Ok(session_of(
            &scope,
            closed,
            request,
            record.requester_comment,
        ))
    }
}

/// Refuses to change an association whose last change still awaits approval.
fn require_settled(record: &AssociationRecord) -> Result<(), ApiError> {
    if record.association.association_state == AssociationState::Active {
        Ok(())
    } else {
        Err(ApiError::conflict(format!(
            "The MPA team association is {} until its session is decided.",
            record.association.association_state.as_str()
        )))
    }
}

fn session_of(
    scope: &Scope,
    mpa: MpaStatus,
    request: String,
    requester_comment: Option<String>,
) -> MpaSession {
    MpaSession {
        session_arn: mpa.mpa_session_arn,
        status: mpa.status,
        status_message: mpa.status_message,
        initiation_date: mpa.initiation_date,
        account: scope.account.clone(),
        region: scope.region.clone(),
        request,
        requester_comment,
    }
}

//! Multi-party approval of root certificate imports: the association through the AWS SDK for
//! Rust, and the approver's side through the same service functions `paycrypt admin mpa` calls,
//! on a second service opened over the running server's data directory.

mod common;

use aws_sdk_paymentcryptography::Client;
use aws_sdk_paymentcryptography::types::{
    AssociationState, ImportKeyMaterial, Key, KeyAlgorithm, KeyAttributes, KeyClass, KeyModesOfUse,
    KeyState, KeyUsage, MpaOperation, MpaTeamAssociation, RootCertificatePublicKey, SessionStatus,
    TrustedCertificatePublicKey,
};
use common::{ACCOUNT, REGION, TestServer, code, code_and_message, start};
use paycrypt_keyblock::keygen::{self, AsymmetricAlgorithm};
use paycrypt_pki::{LeafUsage, SubjectFields, ValidityPeriod};
use paycrypt_service::{Clock, MpaDecision};

const TEAM: &str = "arn:aws:mpa:us-east-1:111122223333:approval-team/payments-leads";
const NEW_TEAM: &str = "arn:aws:mpa:us-east-1:111122223333:approval-team/security";
const ACTION: MpaOperation = MpaOperation::ImportRootPublicKeyCertificate;

/// A CA certificate and a leaf certificate it issued, both RSA-2048, DER.
struct Pki {
    ca: Vec<u8>,
    leaf: Vec<u8>,
}

fn pki(server: &TestServer) -> Pki {
    let now = server.clock_secs();
    let validity = ValidityPeriod {
        not_before: now - 3600,
        not_after: now + 86_400,
    };
    let ca_key = keygen::generate_key_pair(AsymmetricAlgorithm::Rsa2048).unwrap();
    let ca = paycrypt_pki::create_ca(
        &ca_key,
        &SubjectFields::new("MPA test CA"),
        validity,
        [3; 16],
    )
    .unwrap();
    let leaf_key = keygen::generate_key_pair(AsymmetricAlgorithm::Rsa2048).unwrap();
    let leaf = paycrypt_pki::issue_leaf(
        &ca,
        ca_key.private_pkcs8_der.expose(),
        &leaf_key.public_spki_der,
        &SubjectFields::new("MPA test leaf"),
        validity,
        [4; 16],
        LeafUsage::General,
    )
    .unwrap();
    Pki { ca, leaf }
}

fn verify_attributes() -> KeyAttributes {
    KeyAttributes::builder()
        .key_usage(KeyUsage::Tr31S0AsymmetricKeyForDigitalSignature)
        .key_class(KeyClass::PublicKey)
        .key_algorithm(KeyAlgorithm::Rsa2048)
        .key_modes_of_use(KeyModesOfUse::builder().verify(true).build())
        .build()
        .unwrap()
}

async fn import_root(
    client: &Client,
    ca: &[u8],
    comment: Option<&str>,
) -> Result<Key, (String, String)> {
    let material = ImportKeyMaterial::RootCertificatePublicKey(
        RootCertificatePublicKey::builder()
            .key_attributes(verify_attributes())
            .public_key_certificate(paycrypt_pki::to_wire(ca))
            .build()
            .unwrap(),
    );
    let result = client
        .import_key()
        .key_material(material)
        .set_requester_comment(comment.map(str::to_string))
        .send()
        .await;
    match result {
        Ok(output) => Ok(output.key.unwrap()),
        Err(e) => Err(code_and_message(Err::<(), _>(e))),
    }
}

/// Imports the leaf certificate under the root `ca_arn`: a use of the root key.
async fn import_trusted(
    client: &Client,
    leaf: &[u8],
    ca_arn: &str,
) -> Result<Key, (String, String)> {
    let material = ImportKeyMaterial::TrustedCertificatePublicKey(
        TrustedCertificatePublicKey::builder()
            .key_attributes(verify_attributes())
            .public_key_certificate(paycrypt_pki::to_wire(leaf))
            .certificate_authority_public_key_identifier(ca_arn)
            .build()
            .unwrap(),
    );
    match client.import_key().key_material(material).send().await {
        Ok(output) => Ok(output.key.unwrap()),
        Err(e) => Err(code_and_message(Err::<(), _>(e))),
    }
}

async fn get(client: &Client, arn: &str) -> Key {
    client
        .get_key()
        .key_identifier(arn)
        .send()
        .await
        .unwrap()
        .key
        .unwrap()
}

async fn associate(client: &Client, team: &str) {
    client
        .associate_mpa_team()
        .action(ACTION)
        .mpa_team_arn(team)
        .send()
        .await
        .unwrap();
}

/// GetMpaTeamAssociation for the protected action.
async fn association(client: &Client) -> MpaTeamAssociation {
    client
        .get_mpa_team_association()
        .action(ACTION)
        .send()
        .await
        .unwrap()
        .mpa_team_association
        .unwrap()
}

/// The error code of GetMpaTeamAssociation for the protected action.
async fn association_error(client: &Client) -> String {
    code(
        client
            .get_mpa_team_association()
            .action(ACTION)
            .send()
            .await,
    )
}

/// DisassociateMpaTeam for the protected action.
async fn disassociate(client: &Client) -> MpaTeamAssociation {
    client
        .disassociate_mpa_team()
        .action(ACTION)
        .send()
        .await
        .unwrap()
        .mpa_team_association
        .unwrap()
}

#[tokio::test]
async fn root_imports_wait_for_approval_and_denied_ones_stay_unusable() {
    let server = start().await;
    let client = server.client();
    let pki = pki(&server);
    assert_eq!(
        association_error(&client).await,
        "ResourceNotFoundException"
    );
    let association = client
        .associate_mpa_team()
        .action(ACTION)
        .mpa_team_arn(TEAM)
        .requester_comment("dual control for root CAs")
        .send()
        .await
        .unwrap()
        .mpa_team_association
        .unwrap();
    assert_eq!(association.association_state, AssociationState::Active);
    assert_eq!(association.mpa_team_arn, TEAM);
    assert!(association.mpa_status.is_none());

    // The comment is required while a team guards the action; nothing is stored without it.
    let (code_, message) = import_root(&client, &pki.ca, None).await.unwrap_err();
    assert_eq!(code_, "ValidationException");
    assert!(message.contains("RequesterComment"), "{message}");
    assert!(client.list_keys().send().await.unwrap().keys.is_empty());

    let pending = import_root(&client, &pki.ca, Some("new acquirer root"))
        .await
        .unwrap();
    assert_eq!(pending.key_state, KeyState::CreateInProgress);
    let mpa = pending.mpa_status.clone().unwrap();
    assert_eq!(mpa.status, SessionStatus::Pending);
    let key_id = pending.key_arn.rsplit('/').next().unwrap();
    assert_eq!(
        mpa.mpa_session_arn,
        format!("arn:aws:mpa:{REGION}:{ACCOUNT}:session/payments-leads/key-{key_id}")
    );
    assert_eq!(mpa.initiation_date.secs(), server.clock_secs());
    // Using it is refused while approval is pending.
    let (code_, message) = import_trusted(&client, &pki.leaf, &pending.key_arn)
        .await
        .unwrap_err();
    assert_eq!(code_, "ValidationException");
    assert!(message.contains("approval is pending"), "{message}");
    // Pending keys cannot be deleted either.
    assert_eq!(
        code(
            client
                .delete_key()
                .key_identifier(&pending.key_arn)
                .send()
                .await
        ),
        "ValidationException"
    );

    // The operator sees the session, with the requester's comment, and approves it.
    let operator = server.operator_service().await;
    let sessions = operator.mpa_sessions(false).await.unwrap();
    assert_eq!(sessions.len(), 1);
    assert_eq!(sessions[0].session_arn, mpa.mpa_session_arn);
    assert_eq!(
        sessions[0].request,
        format!("ImportKey {}", pending.key_arn)
    );
    assert_eq!(
        sessions[0].requester_comment.as_deref(),
        Some("new acquirer root")
    );
    let approved = operator
        .decide_mpa_session(
            &mpa.mpa_session_arn,
            MpaDecision::Approve,
            None,
            server.clock.now(),
        )
        .await
        .unwrap();
    assert_eq!(approved.status.as_str(), "APPROVED");
    let key = get(&client, &pending.key_arn).await;
    assert_eq!(key.key_state, KeyState::CreateComplete);
    assert_eq!(key.mpa_status.unwrap().status, SessionStatus::Approved);
    let trusted = import_trusted(&client, &pki.leaf, &pending.key_arn)
        .await
        .unwrap();
    assert_eq!(trusted.key_state, KeyState::CreateComplete);
    // A decided session cannot be decided again.
    let again = operator
        .decide_mpa_session(
            &mpa.mpa_session_arn,
            MpaDecision::Deny,
            None,
            server.clock.now(),
        )
        .await
        .unwrap_err();
    assert!(again.message.contains("APPROVED"), "{}", again.message);
    assert!(operator.mpa_sessions(false).await.unwrap().is_empty());

    // A denied import stays unusable, says why, and can be deleted.
    let denied = import_root(&client, &pki.ca, Some("second root"))
        .await
        .unwrap();
    let session = denied.mpa_status.unwrap().mpa_session_arn;
    operator
        .decide_mpa_session(
            &session,
            MpaDecision::Deny,
            Some("not on the change calendar".into()),
            server.clock.now(),
        )
        .await
        .unwrap();
    let key = get(&client, &denied.key_arn).await;
    assert_eq!(key.key_state, KeyState::CreateInProgress);
    let status = key.mpa_status.unwrap();
    assert_eq!(status.status, SessionStatus::Failed);
    assert_eq!(
        status.status_message.as_deref(),
        Some("not on the change calendar")
    );
    let (code_, message) = import_trusted(&client, &pki.leaf, &denied.key_arn)
        .await
        .unwrap_err();
    assert_eq!(code_, "ValidationException");
    assert!(message.contains("FAILED"), "{message}");
    let deleted = client
        .delete_key()
        .key_identifier(&denied.key_arn)
        .send()
        .await
        .unwrap()
        .key
        .unwrap();
    assert_eq!(deleted.key_state, KeyState::DeletePending);
    let all = operator.mpa_sessions(true).await.unwrap();
    assert_eq!(all.len(), 2);

    // A session ARN that names nothing is refused with a clear error.
    let unknown =
        format!("arn:aws:mpa:{REGION}:{ACCOUNT}:session/payments-leads/key-nosuchkey0000000");
    let err = operator
        .decide_mpa_session(&unknown, MpaDecision::Approve, None, server.clock.now())
        .await
        .unwrap_err();
    assert!(err.message.contains("not found"), "{}", err.message);
    let err = operator
        .decide_mpa_session(
            "arn:aws:kms:x",
            MpaDecision::Approve,
            None,
            server.clock.now(),
        )
        .await
        .unwrap_err();
    assert!(err.message.contains("session ARN"), "{}", err.message);
}

#[tokio::test]
async fn association_changes_need_the_current_teams_approval() {
    let server = start().await;
    let client = server.client();
    let operator = server.operator_service().await;
    associate(&client, TEAM).await;
    assert_eq!(
        code(
            client
                .associate_mpa_team()
                .action(ACTION)
                .mpa_team_arn(TEAM)
                .send()
                .await
        ),
        "ConflictException"
    );

    // Changing the team waits for the current team; meanwhile the current team still guards.
    let update = client
        .associate_mpa_team()
        .action(ACTION)
        .mpa_team_arn(NEW_TEAM)
        .send()
        .await
        .unwrap()
        .mpa_team_association
        .unwrap();
    assert_eq!(update.association_state, AssociationState::UpdatePending);
    let session = update.mpa_status.unwrap();
    assert_eq!(session.status, SessionStatus::Pending);
    assert!(
        session
            .mpa_session_arn
            .contains(":session/payments-leads/association-")
    );
    assert_eq!(
        code(client.disassociate_mpa_team().action(ACTION).send().await),
        "ConflictException"
    );
    let pki = pki(&server);
    let pending = import_root(&client, &pki.ca, Some("during the change"))
        .await
        .unwrap();
    assert!(
        pending
            .mpa_status
            .unwrap()
            .mpa_session_arn
            .contains("/payments-leads/")
    );
    let listed = operator.mpa_sessions(false).await.unwrap();
    assert_eq!(listed.len(), 2);
    assert!(
        listed
            .iter()
            .any(|s| s.request == format!("AssociateMpaTeam {NEW_TEAM}"))
    );
    operator
        .decide_mpa_session(
            &session.mpa_session_arn,
            MpaDecision::Approve,
            None,
            server.clock.now(),
        )
        .await
        .unwrap();
    let now = association(&client).await;
    assert_eq!(now.association_state, AssociationState::Active);
    assert_eq!(now.mpa_team_arn, NEW_TEAM);
    assert_eq!(now.mpa_status.unwrap().status, SessionStatus::Approved);

    // Removing the team: cancelled keeps it, approved removes it.
    let removal = disassociate(&client).await;
    assert_eq!(removal.association_state, AssociationState::DeletePending);
    let session = removal.mpa_status.unwrap().mpa_session_arn;
    assert!(
        session.contains(":session/security/association-"),
        "{session}"
    );
    operator
        .decide_mpa_session(&session, MpaDecision::Cancel, None, server.clock.now())
        .await
        .unwrap();
    let kept = association(&client).await;
    assert_eq!(kept.association_state, AssociationState::Active);
    assert_eq!(kept.mpa_team_arn, NEW_TEAM);
    assert_eq!(kept.mpa_status.unwrap().status, SessionStatus::Cancelled);
    let removal = disassociate(&client).await;
    operator
        .decide_mpa_session(
            &removal.mpa_status.unwrap().mpa_session_arn,
            MpaDecision::Approve,
            None,
            server.clock.now(),
        )
        .await
        .unwrap();
    assert_eq!(
        association_error(&client).await,
        "ResourceNotFoundException"
    );
    // Without a team, a root import completes at once, comment or not.
    let key = import_root(&client, &pki.ca, None).await.unwrap();
    assert_eq!(key.key_state, KeyState::CreateComplete);
    assert!(key.mpa_status.is_none());
    // Another account was never guarded.
    let other = server.client_as("other", "other-secret", REGION, 0);
    assert_eq!(association_error(&other).await, "ResourceNotFoundException");
}

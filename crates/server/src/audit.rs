//! The audit log: one JSON line per mutating control-plane request (every operation but `Get*`
//! and `List*`), per data-plane request (each uses a key), and per request of any operation
//! refused with AccessDeniedException, written and flushed before the response leaves, so a
//! change the client saw acknowledged is on record even when the process is killed right after
//! answering.
//!
//! Each line holds, in this order:
//! - `time`: when the request was handled, RFC 3339 in UTC with milliseconds;
//! - `account`: the account that signed it, or null when it did not authenticate;
//! - `access_key_id`: the access key it was signed with, or null when it did not authenticate;
//! - `user_arn`: who signed it, `arn:aws:iam::ACCOUNT:user/NAME` for a user's access key or
//!   `arn:aws:iam::ACCOUNT:root` for an account's root credential, or null when it did not
//!   authenticate;
//! - `region`: the region of its signature's credential scope (the region of the keys it names),
//!   or null when it did not authenticate;
//! - `plane`: which way it came in: `control`, `data`, `console` (or `admin`);
//! - `source_ip`: the address it came from (null when unknown);
//! - `user_agent`: its `User-Agent` header, at most 256 characters (null when absent);
//! - `operation`: the operation name, e.g. `CreateKey` or `VerifyPinData`;
//! - `key_arn`: the key the request creates or names (the key an alias names, looked up when the
//!   line is written; for a PIN operation, its verification or generation key), or null;
//! - `request_id`: the `x-amzn-RequestId` of the response;
//! - `outcome`: `success`, or the error code the response carries.
//!
//! Nothing else: never key material, never request or response bodies (no data, PINs, MACs or
//! cryptograms of the data plane).

use std::fs::{File, OpenOptions};
use std::io::{BufWriter, Write};
use std::net::IpAddr;
use std::os::unix::fs::OpenOptionsExt;
use std::path::{Path, PathBuf};
use std::sync::Mutex;

use paycrypt_api::{AnyOperation, ApiError, ErrorCode, GetAliasInput, Input, Operation, Timestamp};
use paycrypt_service::{Caller, Context, Plane, Service};
use serde::{Deserialize, Serialize};
use serde_json::Value;

/// The request members that name a key (by key ARN, alias or alias ARN).
const KEY_MEMBERS: [&str; 5] = [
    "KeyIdentifier",
    "ExportKeyIdentifier",
    "IncomingKeyIdentifier",
    "KeyArn",
    "ResourceArn",
];

/// An append-only file of audit lines.
pub struct AuditLog {
    path: PathBuf,
    writer: Mutex<BufWriter<File>>,
}

/// What the request pipeline learned about one request, as far as it got.
pub(crate) struct RequestFacts {
    /// Which plane it was sent to.
    pub plane: Plane,
    /// Where it came from and what sent it, known before it is authenticated.
    pub source_ip: Option<IpAddr>,
    pub user_agent: Option<String>,
    /// The operation of `X-Amz-Target` or of the data plane's path, when it names one.
    pub operation: Option<AnyOperation>,
    /// Who signed it, once the signature verified.
    pub context: Option<Context>,
    /// The request's input, once it validated (or, for a refused data-plane request, its key
    /// members): where the audit line finds the key a request named.
    pub input: Option<RequestInput>,
    /// The key a data-plane operation used, once it succeeded.
    pub used_key_arn: Option<String>,
}

/// A request's input as the audit log keeps it.
pub(crate) enum RequestInput {
    /// A control-plane body that validated, parsed only when the response names no key (most
    /// answers that change a key describe it).
    Body(Vec<u8>),
    /// Members already parsed.
    Value(Value),
}

impl RequestFacts {
    /// A request of `plane` from `source_ip`, sent by `user_agent`, of which nothing else is known
    /// yet.
    pub fn new(plane: Plane, source_ip: Option<IpAddr>, user_agent: Option<String>) -> Self {
        Self {
            plane,
            source_ip,
            user_agent,
            operation: None,
            context: None,
            input: None,
            used_key_arn: None,
        }
    }
}

/// One line of the log; the field order is the order on disk.
#[derive(Serialize)]
struct AuditLine<'a> {
    time: String,
    account: Option<&'a str>,
    access_key_id: Option<&'a str>,
    user_arn: Option<String>,
    region: Option<&'a str>,
    plane: Plane,
    source_ip: Option<IpAddr>,
    user_agent: Option<&'a str>,
    operation: &'a str,
    key_arn: Option<String>,
    request_id: &'a str,
    outcome: &'a str,
}

/// The members of a data-plane request that name keys, from its path labels and its body: all
/// the audit line needs, so nothing else of the request (data, PINs, MACs) is kept.
pub(crate) fn key_members(body: &[u8], labels: &[(&str, String)]) -> Value {
    /// The data plane's key members of a body; the rest (data, PINs, MACs) is skipped unread.
    #[derive(Deserialize)]
    struct BodyKeys {
        #[serde(rename = "KeyIdentifier")]
        key_identifier: Option<String>,
        #[serde(rename = "IncomingKeyIdentifier")]
        incoming_key_identifier: Option<String>,
    }
    let mut members = serde_json::Map::new();
    if let Ok(keys) = serde_json::from_slice::<BodyKeys>(body) {
        for (name, value) in [
            ("KeyIdentifier", keys.key_identifier),
            ("IncomingKeyIdentifier", keys.incoming_key_identifier),
        ] {
            if let Some(value) = value {
                members.insert(name.to_string(), Value::String(value));
            }
        }
    }
    for (name, value) in labels {
        members.insert((*name).to_string(), Value::String(value.clone()));
    }
    Value::Object(members)
}

/// Whether requests of `operation` go into the audit log: every data-plane operation, and the
/// control plane's but `Get*` and `List*`.
pub(crate) fn is_audited(operation: AnyOperation) -> bool {
    match operation {
        AnyOperation::Control(op) => {
            let name = op.name();
            !name.starts_with("Get") && !name.starts_with("List")
        }
        AnyOperation::Data(_) => true,
    }
}

impl AuditLog {
    /// Opens `path` for appending, creating it (mode 0600) when it does not exist.
    pub fn open(path: &Path) -> std::io::Result<Self> {
        Ok(Self {
            path: path.to_path_buf(),
            writer: Mutex::new(append_to(path)?),
        })
    }

    /// Opens the file at the log's path again, so lines go to a new file after the old one was
    /// renamed away (log rotation). On failure the log keeps writing where it did.
    pub fn reopen(&self) -> std::io::Result<()> {
        let fresh = append_to(&self.path)?;
        let mut writer = self.writer.lock().unwrap_or_else(|e| e.into_inner());
        writer.flush()?;
        *writer = fresh;
        Ok(())
    }

    /// Where the log is written.
    pub fn path(&self) -> &Path {
        &self.path
    }

    /// Writes the line of one request handled at `now` whose response is `result`, if its
    /// operation is audited or it was refused access.
    pub(crate) async fn record(
        &self,
        service: &Service,
        facts: &RequestFacts,
        result: Result<&[u8], &ApiError>,
        request_id: &str,
        now: Timestamp,
    ) {
        let denied = matches!(result, Err(e) if e.code == ErrorCode::AccessDeniedException);
        let Some(operation) = facts.operation.filter(|op| denied || is_audited(*op)) else {
            return;
        };
        let key_arn = key_arn(service, facts, result.ok()).await;
        let ctx = facts.context.as_ref();
        let line = AuditLine {
            time: rfc3339(now),
            account: ctx.map(|c| c.account.as_str()),
            access_key_id: ctx.and_then(|c| c.caller.access_key_id.as_deref()),
            user_arn: ctx.map(Context::caller_arn),
            region: ctx.map(|c| c.region.as_str()),
            plane: facts.plane,
            source_ip: facts.source_ip,
            user_agent: facts.user_agent.as_deref(),
            operation: operation.name(),
            key_arn,
            request_id,
            outcome: match result {
                Ok(_) => "success",
                Err(error) => error.code.as_str(),
            },
        };
        self.append(&line);
    }

    fn append(&self, line: &AuditLine<'_>) {
        // Room for a whole line at once (they run to a few hundred bytes).
        let mut text = Vec::with_capacity(1024);
        if let Err(e) = paycrypt_api::write_json(&mut text, line) {
            tracing::error!("cannot encode an audit line: {e}");
            return;
        }
        text.push(b'\n');
        let mut writer = self.writer.lock().unwrap_or_else(|e| e.into_inner());
        if let Err(e) = writer.write_all(&text).and_then(|()| writer.flush()) {
            tracing::error!(
                path = %self.path.display(),
                request_id = line.request_id,
                "cannot write the audit log: {e}"
            );
        }
    }
}

fn append_to(path: &Path) -> std::io::Result<BufWriter<File>> {
    let file = OpenOptions::new()
        .create(true)
        .append(true)
        .mode(0o600)
        .open(path)?;
    Ok(BufWriter::new(file))
}

/// The key a request creates or names: the key a data-plane operation used, else the `Key` of
/// the response when it has one, else the key ARN a key member of the request holds, else the key
/// an alias member names now.
async fn key_arn(service: &Service, facts: &RequestFacts, output: Option<&[u8]>) -> Option<String> {
    if let Some(used) = &facts.used_key_arn {
        return Some(used.clone());
    }
    /// The key ARN of a control-plane output: the `Key` it describes; every other member is
    /// skipped unread.
    #[derive(Deserialize)]
    struct OutputKey {
        #[serde(rename = "Key")]
        key: Option<KeyOfOutput>,
    }
    #[derive(Deserialize)]
    struct KeyOfOutput {
        #[serde(rename = "KeyArn")]
        key_arn: Option<String>,
    }
    let from_output = output
        .and_then(|body| serde_json::from_slice::<OutputKey>(body).ok())
        .and_then(|o| o.key.and_then(|k| k.key_arn));
    if from_output.is_some() {
        return from_output;
    }
    let ctx = facts.context.as_ref()?;
    let parsed: Value;
    let input = match facts.input.as_ref()? {
        RequestInput::Value(value) => value,
        RequestInput::Body(body) => {
            parsed = serde_json::from_slice(body).ok()?;
            &parsed
        }
    };
    let identifier = KEY_MEMBERS
        .iter()
        .find_map(|member| input.get(*member)?.as_str())?;
    if identifier.contains(":key/") {
        return Some(identifier.to_string());
    }
    let alias = named_alias(ctx, identifier)?;
    // The log's own lookup, not the caller's: it is not subject to the caller's policies.
    let lookup = Context {
        operation: AnyOperation::Control(Operation::GetAlias),
        caller: Caller::admin(),
        ..ctx.clone()
    };
    let found = service
        .handle(
            &lookup,
            Input::GetAlias(GetAliasInput {
                alias_name: alias.to_string(),
            }),
        )
        .await
        .ok()?;
    let found: Value = serde_json::from_slice(&found).ok()?;
    found.pointer("/Alias/KeyArn")?.as_str().map(str::to_string)
}

/// The `alias/...` name of an alias or of an alias ARN in the caller's account and region.
fn named_alias<'a>(ctx: &Context, identifier: &'a str) -> Option<&'a str> {
    if identifier.starts_with("alias/") {
        return Some(identifier);
    }
    let own = format!(
        "arn:aws:payment-cryptography:{}:{}:",
        ctx.region, ctx.account
    );
    identifier
        .strip_prefix(&own)
        .filter(|resource| resource.starts_with("alias/"))
}

/// `2026-11-28T15:26:40.123Z`.
pub(crate) fn rfc3339(now: Timestamp) -> String {
    let nanos = i128::from(now.as_millis()) * 1_000_000;
    match time::OffsetDateTime::from_unix_timestamp_nanos(nanos) {
        // Digit by digit: every audited request writes one, and `format!` costs more than the
        // rest of the line's fields together.
        Ok(t) if (0..=9999).contains(&t.year()) => {
            let mut text = String::with_capacity(24);
            let fields = [
                (t.year().unsigned_abs(), 4, '-'),
                (u32::from(u8::from(t.month())), 2, '-'),
                (u32::from(t.day()), 2, 'T'),
                (u32::from(t.hour()), 2, ':'),
                (u32::from(t.minute()), 2, ':'),
                (u32::from(t.second()), 2, '.'),
                (u32::from(t.millisecond()), 3, 'Z'),
            ];
            for (value, width, after) in fields {
                for place in (0..width).rev() {
                    let digit = value / 10u32.pow(place) % 10;
                    text.push(char::from_digit(digit, 10).unwrap_or('0'));
                }
                text.push(after);
            }
            text
        }
        // Out of the calendar's four-digit years (a clock gone wild): the raw count is still
        // honest.
        _ => format!("@{}ms", now.as_millis()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn times_are_rfc3339_utc_with_milliseconds() {
        assert_eq!(
            rfc3339(Timestamp::from_millis(0)),
            "1970-01-01T00:00:00.000Z"
        );
        assert_eq!(
            rfc3339(Timestamp::from_millis(1_698_245_002_065)),
            "2023-10-25T14:43:22.065Z"
        );
        assert_eq!(
            rfc3339(Timestamp::from_millis(253_402_300_799_999)),
            "9999-12-31T23:59:59.999Z"
        );
        assert_eq!(
            rfc3339(Timestamp::from_millis(253_402_300_800_000)),
            "@253402300800000ms"
        );
    }

    #[test]
    fn gets_and_lists_are_not_audited_but_every_data_plane_use_is() {
        let control = AnyOperation::Control;
        assert!(is_audited(control(Operation::CreateKey)));
        assert!(is_audited(control(Operation::ExportKey)));
        assert!(is_audited(control(Operation::DeleteAlias)));
        assert!(!is_audited(control(Operation::GetKey)));
        assert!(!is_audited(control(Operation::GetParametersForExport)));
        assert!(!is_audited(control(Operation::ListTagsForResource)));
        for &op in paycrypt_api::data::Operation::ALL {
            assert!(is_audited(AnyOperation::Data(op)), "{}", op.name());
        }
    }
}

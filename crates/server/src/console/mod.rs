//! The web console at `/console/`: server-rendered HTML (no JavaScript, nothing fetched from
//! elsewhere) for the people who run paycrypt. Sign in with an access key of the config; see the
//! keys of that account per region, a key's facts (never its material), create keys and change
//! their state, aliases and tags; read what a TR-31 or TR-34 block says about itself; read the
//! account's recent audit lines.
//!
//! Every read and change goes through [`paycrypt_service::Service::handle`] with a [`Context`]
//! of plane [`Plane::Console`] (the signed-in access key, the source address and user agent of the
//! browser, the region picked), after the API's own input validation: the console can do nothing
//! the signed-in key could not do through the API, its changes are in the audit log like the
//! API's, and a bad form value gets the API's message.
//!
//! Sessions and sign-in throttling are in [`session`]; the HTML in [`pages`]. Every response carries
//! a strict Content-Security-Policy (this origin's stylesheet, nothing else), `X-Frame-Options:
//! DENY`, `Cache-Control: no-store` and no referrer; every form posts back its session's CSRF
//! token (the sign-in form a token of its own cookie), checked before anything else.

mod pages;
mod session;

use std::collections::HashMap;
use std::net::IpAddr;
use std::sync::Arc;
use std::time::Instant;

use axum::Router;
use axum::body::Bytes;
use axum::extract::{Path, State};
use axum::http::request::Parts;
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Redirect, Response};
use axum::routing::{get, post};
use paycrypt_api::{AnyOperation, ApiError, ErrorCode, Operation, decode_input, is_region};
use paycrypt_service::{Caller, Context, IdentityPolicy, Plane};
use serde_json::{Value, json};

use crate::AppState;
use crate::audit::{RequestFacts, RequestInput};
use crate::dispatch::{record, source_ip, user_agent};
use session::Sessions;

const SESSION_COOKIE: &str = "paycrypt_session";
const SIGNIN_COOKIE: &str = "paycrypt_signin";
/// The region shown when the request names none and the account has no keys yet.
const DEFAULT_REGION: &str = "us-east-1";

/// The console of one server: its sessions, and whether its cookies need HTTPS.
pub struct Console {
    sessions: Sessions,
    secure_cookies: bool,
}

impl Console {
    /// A console whose cookies are marked `Secure` when `secure_cookies` (the server speaks
    /// HTTPS).
    pub fn new(secure_cookies: bool) -> Self {
        Self {
            sessions: Sessions::default(),
            secure_cookies,
        }
    }

    fn cookie(&self, name: &str, value: &str, max_age: Option<i64>) -> HeaderValue {
        let mut cookie = format!("{name}={value}; Path=/console; HttpOnly; SameSite=Strict");
        if let Some(seconds) = max_age {
            cookie.push_str(&format!("; Max-Age={seconds}"));
        }
        if self.secure_cookies {
            cookie.push_str("; Secure");
        }
        HeaderValue::from_str(&cookie).unwrap_or_else(|_| HeaderValue::from_static(""))
    }
}

/// The console's routes (added to the server's router when the console is on).
pub(crate) fn routes() -> Router<AppState> {
    Router::new()
        .route("/console", get(home))
        .route("/console/", get(home))
        .route("/console/console.css", get(stylesheet))
        .route("/console/signin", get(signin_form).post(signin))
        .route("/console/signout", post(signout))
        .route("/console/keys", get(keys).post(create_key))
        .route("/console/keys/new", get(new_key))
        .route("/console/keys/{key_id}", get(key))
        .route("/console/keys/{key_id}/{action}", post(key_action))
        .route("/console/inspect", get(inspector).post(inspect))
        .route("/console/audit", get(audit))
        .route("/console/{*rest}", get(not_found).post(not_found))
        .layer(axum::middleware::map_response(security_headers))
}

async fn security_headers(mut response: Response) -> Response {
    let headers = response.headers_mut();
    for (name, value) in [
        (
            "content-security-policy",
            "default-src 'none'; style-src 'self'; img-src 'self'; form-action 'self'; \
             frame-ancestors 'none'; base-uri 'none'",
        ),
        ("x-frame-options", "DENY"),
        ("x-content-type-options", "nosniff"),
        ("referrer-policy", "no-referrer"),
        ("cache-control", "no-store"),
    ] {
        headers.insert(name, HeaderValue::from_static(value));
    }
    response
}

fn html(status: StatusCode, markup: maud::Markup) -> Response {
    (
        status,
        [(header::CONTENT_TYPE, "text/html; charset=utf-8")],
        markup.into_string(),
    )
        .into_response()
}

async fn stylesheet() -> Response {
    (
        [(header::CONTENT_TYPE, "text/css; charset=utf-8")],
        include_str!("console.css"),
    )
        .into_response()
}

/// The value of cookie `name` of a request.
fn cookie<'a>(headers: &'a HeaderMap, name: &str) -> Option<&'a str> {
    headers
        .get_all(header::COOKIE)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(';'))
        .filter_map(|pair| pair.trim().split_once('='))
        .find(|(n, _)| *n == name)
        .map(|(_, v)| v)
}

/// The name=value pairs of a query string or form body (the first of a repeated name wins).
fn pairs(text: &[u8]) -> HashMap<String, String> {
    let mut map = HashMap::new();
    for (k, v) in form_urlencoded::parse(text) {
        map.entry(k.into_owned()).or_insert_with(|| v.into_owned());
    }
    map
}

fn query(parts: &Parts) -> HashMap<String, String> {
    pairs(parts.uri.query().unwrap_or("").as_bytes())
}

/// `path?name=value&...`, encoded.
pub(crate) fn url(path: &str, params: &[(&str, &str)]) -> String {
    let mut query = form_urlencoded::Serializer::new(String::new());
    for (name, value) in params.iter().filter(|(_, v)| !v.is_empty()) {
        query.append_pair(name, value);
    }
    let query = query.finish();
    if query.is_empty() {
        path.to_string()
    } else {
        format!("{path}?{query}")
    }
}

/// A signed-in request: the session, where it came from, and the region it is about.
pub(crate) struct Visit {
    session_id: String,
    pub account: String,
    pub access_key_id: String,
    /// The user of the signed-in key and its identity policy, which every action is checked
    /// against (see `paycrypt_service::Caller`).
    pub user: Option<String>,
    pub identity_policy: Option<Arc<IdentityPolicy>>,
    pub csrf: String,
    pub source_ip: Option<IpAddr>,
    pub user_agent: Option<String>,
    pub region: String,
    /// The regions that have keys of the account, and the one asked for.
    pub regions: Vec<String>,
}

/// The signed-in visit of a request, or the redirect to the sign-in page. `region` is the region
/// the request names (a query or form field), if any.
async fn visit(state: &AppState, parts: &Parts, region: Option<&str>) -> Result<Visit, Response> {
    let console = console(state).ok_or_else(|| StatusCode::NOT_FOUND.into_response())?;
    let to_signin = || Redirect::to("/console/signin").into_response();
    let id = cookie(&parts.headers, SESSION_COOKIE).ok_or_else(to_signin)?;
    let session = console
        .sessions
        .get(id, state.clock.now())
        .ok_or_else(to_signin)?;
    // A key removed from the config (SIGHUP) ends its sessions too; a changed user or policy
    // applies from the next page on.
    let Some(key) = state
        .credentials
        .get(&session.access_key_id)
        .filter(|key| key.account == session.account)
    else {
        console.sessions.close(id);
        return Err(to_signin());
    };
    let mut regions = state
        .service
        .regions_with_keys(&session.account)
        .await
        .unwrap_or_default();
    let region = match region.filter(|r| !r.is_empty()) {
        Some(r) if is_region(r) => r.to_string(),
        Some(_) => {
            return Err(error_page(
                None,
                &ApiError::validation("The region must look like us-east-1."),
            ));
        }
        None => regions
            .first()
            .cloned()
            .unwrap_or_else(|| DEFAULT_REGION.to_string()),
    };
    if !regions.contains(&region) {
        regions.push(region.clone());
        regions.sort();
    }
    Ok(Visit {
        session_id: id.to_string(),
        account: session.account,
        access_key_id: session.access_key_id,
        user: key.user,
        identity_policy: key.identity_policy,
        csrf: session.csrf,
        source_ip: source_ip(parts),
        user_agent: user_agent(&parts.headers),
        region,
        regions,
    })
}

/// A signed-in form post: the visit, once the form's CSRF token is the session's.
async fn posted(
    state: &AppState,
    parts: &Parts,
    form: &HashMap<String, String>,
) -> Result<Visit, Response> {
    let visit = visit(state, parts, form.get("region").map(String::as_str)).await?;
    let sent = form.get("csrf").map_or("", String::as_str);
    if !session::same_token(sent, &visit.csrf) {
        return Err(forbidden());
    }
    Ok(visit)
}

fn forbidden() -> Response {
    html(
        StatusCode::FORBIDDEN,
        pages::message(
            "Form refused",
            "This form did not come from this console session (its CSRF token is missing or \
             wrong), so nothing was done. Reload the page and try again.",
        ),
    )
}

fn console(state: &AppState) -> Option<&Console> {
    state.console.as_deref()
}

fn error_page(visit: Option<&Visit>, error: &ApiError) -> Response {
    let status =
        StatusCode::from_u16(error.code.http_status()).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR);
    html(status, pages::error(visit, error))
}

async fn not_found(State(state): State<AppState>, parts: Parts) -> Response {
    let visit = visit(&state, &parts, None).await.ok();
    let error = ApiError::new(
        ErrorCode::ResourceNotFoundException,
        "There is no such page in the console.",
    );
    error_page(visit.as_ref(), &error)
}

/// Runs one API operation for the visit, through the API's validation and the service, and
/// records it like an API request (audit log, metrics) with the console as its plane.
async fn call(
    state: &AppState,
    visit: &Visit,
    operation: Operation,
    input: Value,
) -> Result<Value, ApiError> {
    let started = Instant::now();
    let request_id = uuid::Uuid::new_v4().to_string();
    let now = state.clock.now();
    let ctx = Context {
        account: visit.account.clone(),
        caller: Caller {
            access_key_id: Some(visit.access_key_id.clone()),
            source_ip: visit.source_ip,
            user_agent: visit.user_agent.clone(),
            plane: Plane::Console,
            user: visit.user.clone(),
            identity_policy: visit.identity_policy.clone(),
        },
        region: visit.region.clone(),
        operation: AnyOperation::Control(operation),
        request_id: request_id.clone(),
        now,
    };
    let body = serde_json::to_vec(&input).unwrap_or_default();
    let result = match decode_input(operation, &body) {
        Ok(decoded) => state.service.handle(&ctx, decoded).await,
        Err(e) => Err(e),
    };
    let mut facts = RequestFacts::new(Plane::Console, visit.source_ip, visit.user_agent.clone());
    facts.operation = Some(ctx.operation);
    facts.context = Some(ctx);
    facts.input = Some(RequestInput::Value(input));
    let outcome = result.as_ref().map(Vec::as_slice);
    record(state, &facts, outcome, &request_id, started).await;
    let output = result?;
    serde_json::from_slice(&output).map_err(|_| ApiError::internal("The answer was not JSON."))
}

// ---------------------------------------------------------------------------------------------
// Sign-in and sign-out

async fn home(State(state): State<AppState>, parts: Parts) -> Response {
    match visit(&state, &parts, None).await {
        Ok(_) => Redirect::to("/console/keys").into_response(),
        Err(response) => response,
    }
}

async fn signin_form(State(state): State<AppState>) -> Response {
    let Some(console) = console(&state) else {
        return StatusCode::NOT_FOUND.into_response();
    };
    signin_page(console, StatusCode::OK, None)
}

/// The sign-in form with a fresh token, set in its cookie too.
fn signin_page(console: &Console, status: StatusCode, problem: Option<&str>) -> Response {
    let token = session::random_token();
    let mut response = html(status, pages::signin(&token, problem));
    response.headers_mut().insert(
        header::SET_COOKIE,
        console.cookie(SIGNIN_COOKIE, &token, Some(3600)),
    );
    response
}

async fn signin(State(state): State<AppState>, parts: Parts, body: Bytes) -> Response {
    let Some(console) = console(&state) else {
        return StatusCode::NOT_FOUND.into_response();
    };
    let form = pairs(&body);
    let sent = form.get("csrf").map_or("", String::as_str);
    let expected = cookie(&parts.headers, SIGNIN_COOKIE).unwrap_or("");
    if expected.is_empty() || !session::same_token(sent, expected) {
        return forbidden();
    }
    let access_key_id = form.get("access_key_id").map_or("", |v| v.trim());
    let secret = form.get("secret_access_key").map_or("", String::as_str);
    let address = source_ip(&parts);
    let wait = console
        .sessions
        .delay(address, access_key_id, state.clock.now());
    if !wait.is_zero() {
        tokio::time::sleep(wait).await;
    }
    let now = state.clock.now();
    let Some(key) = state.credentials.authenticate(access_key_id, secret) else {
        console.sessions.failed(address, access_key_id, now);
        tracing::info!(source_ip = ?address, "console sign-in refused");
        return signin_page(
            console,
            StatusCode::UNAUTHORIZED,
            Some("The access key id or the secret access key is wrong."),
        );
    };
    console.sessions.succeeded(address, access_key_id);
    let id = console.sessions.open(&key.account, &key.access_key_id, now);
    tracing::info!(access_key_id = key.access_key_id, source_ip = ?address, "console sign-in");
    let mut response = Redirect::to("/console/keys").into_response();
    let headers = response.headers_mut();
    headers.append(
        header::SET_COOKIE,
        console.cookie(SESSION_COOKIE, &id, None),
    );
    headers.append(
        header::SET_COOKIE,
        console.cookie(SIGNIN_COOKIE, "", Some(0)),
    );
    response
}

async fn signout(State(state): State<AppState>, parts: Parts, body: Bytes) -> Response {
    let form = pairs(&body);
    let visit = match posted(&state, &parts, &form).await {
        Ok(visit) => visit,
        Err(response) => return response,
    };
    let Some(console) = console(&state) else {
        return StatusCode::NOT_FOUND.into_response();
    };
    console.sessions.close(&visit.session_id);
    let mut response = Redirect::to("/console/signin").into_response();
    response.headers_mut().insert(
        header::SET_COOKIE,
        console.cookie(SESSION_COOKIE, "", Some(0)),
    );
    response
}

// ---------------------------------------------------------------------------------------------
// Keys

/// Keys shown on one page of the list.
const PAGE_SIZE: usize = 25;
/// The most keys (or aliases) of a region the list reads, in pages of 100.
const MAX_LISTED: usize = 10_000;

/// Every item of a paged List* operation (`member` of each page), at most [`MAX_LISTED`].
async fn list_all(
    state: &AppState,
    visit: &Visit,
    operation: Operation,
    mut input: Value,
    member: &str,
) -> Result<Vec<Value>, ApiError> {
    let mut items = Vec::new();
    loop {
        input["MaxResults"] = json!(100);
        let page = call(state, visit, operation, input.clone()).await?;
        if let Some(found) = page.get(member).and_then(Value::as_array) {
            items.extend(found.iter().cloned());
        }
        match page.get("NextToken").and_then(Value::as_str) {
            Some(token) if items.len() < MAX_LISTED => input["NextToken"] = json!(token),
            _ => return Ok(items),
        }
    }
}

/// The list's filters, as the query names them.
pub(crate) struct Filters {
    pub state: String,
    pub usage: String,
    pub algorithm: String,
    pub alias: String,
    pub page: usize,
}

async fn keys(State(state): State<AppState>, parts: Parts) -> Response {
    let q = query(&parts);
    let visit = match visit(&state, &parts, q.get("region").map(String::as_str)).await {
        Ok(visit) => visit,
        Err(response) => return response,
    };
    let field = |name: &str| q.get(name).map_or(String::new(), |v| v.trim().to_string());
    let filters = Filters {
        state: field("state"),
        usage: field("usage"),
        algorithm: field("algorithm"),
        alias: field("alias"),
        page: q
            .get("page")
            .and_then(|p| p.parse().ok())
            .unwrap_or(1)
            .max(1),
    };
    let mut list_input = json!({});
    if !filters.state.is_empty() {
        list_input["KeyState"] = json!(filters.state);
    }
    let listed = async {
        let keys = list_all(&state, &visit, Operation::ListKeys, list_input, "Keys").await?;
        let aliases =
            list_all(&state, &visit, Operation::ListAliases, json!({}), "Aliases").await?;
        Ok::<_, ApiError>((keys, aliases))
    };
    let (keys, aliases) = match listed.await {
        Ok(found) => found,
        Err(e) => return error_page(Some(&visit), &e),
    };
    let mut alias_of: HashMap<String, Vec<String>> = HashMap::new();
    for alias in &aliases {
        if let (Some(name), Some(arn)) = (
            alias.get("AliasName").and_then(Value::as_str),
            alias.get("KeyArn").and_then(Value::as_str),
        ) {
            alias_of
                .entry(arn.to_string())
                .or_default()
                .push(name.to_string());
        }
    }
    let rows: Vec<pages::KeyRow> = keys
        .iter()
        .map(|k| pages::KeyRow::new(k, &alias_of))
        .filter(|row| {
            let attr = |name: &str| row.attributes.get(name).and_then(Value::as_str);
            (filters.usage.is_empty() || attr("KeyUsage") == Some(filters.usage.as_str()))
                && (filters.algorithm.is_empty()
                    || attr("KeyAlgorithm") == Some(filters.algorithm.as_str()))
                && (filters.alias.is_empty()
                    || row
                        .aliases
                        .iter()
                        .any(|a| a.contains(filters.alias.as_str())))
        })
        .collect();
    html(
        StatusCode::OK,
        pages::keys(&visit, &filters, &rows, PAGE_SIZE),
    )
}

/// The key ARN of `key_id` in the visit's account and region, when `key_id` looks like a key id.
fn key_arn(visit: &Visit, key_id: &str) -> Result<String, ApiError> {
    if key_id.is_empty() || key_id.len() > 64 || !key_id.bytes().all(|b| b.is_ascii_alphanumeric())
    {
        return Err(ApiError::new(
            ErrorCode::ResourceNotFoundException,
            "There is no key with that id.",
        ));
    }
    Ok(format!(
        "arn:aws:payment-cryptography:{}:{}:key/{key_id}",
        visit.region, visit.account
    ))
}

async fn key(State(state): State<AppState>, parts: Parts, Path(key_id): Path<String>) -> Response {
    let q = query(&parts);
    let visit = match visit(&state, &parts, q.get("region").map(String::as_str)).await {
        Ok(visit) => visit,
        Err(response) => return response,
    };
    let notice = q.get("done").and_then(|done| pages::done_message(done));
    key_page(&state, &visit, &key_id, notice.map(pages::Notice::Done)).await
}

/// A key's page, with a notice above it (what was just done, or why it was not).
async fn key_page(
    state: &AppState,
    visit: &Visit,
    key_id: &str,
    notice: Option<pages::Notice>,
) -> Response {
    let arn = match key_arn(visit, key_id) {
        Ok(arn) => arn,
        Err(e) => return error_page(Some(visit), &e),
    };
    let facts = async {
        let key = call(
            state,
            visit,
            Operation::GetKey,
            json!({"KeyIdentifier": arn}),
        )
        .await?;
        let aliases = list_all(
            state,
            visit,
            Operation::ListAliases,
            json!({"KeyArn": arn}),
            "Aliases",
        )
        .await?;
        let tags = list_all(
            state,
            visit,
            Operation::ListTagsForResource,
            json!({"ResourceArn": arn}),
            "Tags",
        )
        .await?;
        Ok::<_, ApiError>((key, aliases, tags))
    };
    let (key, aliases, tags) = match facts.await {
        Ok(found) => found,
        Err(e) => return error_page(Some(visit), &e),
    };
    // A key without a policy answers ResourceNotFoundException: shown as none.
    let policy = call(
        state,
        visit,
        Operation::GetResourcePolicy,
        json!({"ResourceArn": arn}),
    )
    .await
    .ok()
    .and_then(|p| p.get("Policy").and_then(Value::as_str).map(str::to_string));
    let status = match &notice {
        Some(pages::Notice::Failed(e)) => {
            StatusCode::from_u16(e.code.http_status()).unwrap_or(StatusCode::BAD_REQUEST)
        }
        _ => StatusCode::OK,
    };
    let page = pages::KeyPage {
        key: key.get("Key").cloned().unwrap_or(Value::Null),
        aliases,
        tags,
        policy,
    };
    html(status, pages::key(visit, &page, notice.as_ref()))
}

/// `POST /console/keys/{id}/{action}`: one change to a key, then its page again.
async fn key_action(
    State(state): State<AppState>,
    parts: Parts,
    Path((key_id, action)): Path<(String, String)>,
    body: Bytes,
) -> Response {
    let form = pairs(&body);
    let visit = match posted(&state, &parts, &form).await {
        Ok(visit) => visit,
        Err(response) => return response,
    };
    let arn = match key_arn(&visit, &key_id) {
        Ok(arn) => arn,
        Err(e) => return error_page(Some(&visit), &e),
    };
    let field = |name: &str| form.get(name).map_or("", |v| v.trim());
    let (operation, input) = match action.as_str() {
        "enable" => (Operation::StartKeyUsage, json!({"KeyIdentifier": arn})),
        "disable" => (Operation::StopKeyUsage, json!({"KeyIdentifier": arn})),
        "delete" => {
            // Not a number: sent as text, which the API's own validation refuses by name.
            let days = field("days")
                .parse::<i64>()
                .map_or_else(|_| json!(field("days")), |days| json!(days));
            (
                Operation::DeleteKey,
                json!({"KeyIdentifier": arn, "DeleteKeyInDays": days}),
            )
        }
        "restore" => (Operation::RestoreKey, json!({"KeyIdentifier": arn})),
        "add-alias" => (
            Operation::CreateAlias,
            json!({"AliasName": field("alias"), "KeyArn": arn}),
        ),
        "remove-alias" => (Operation::DeleteAlias, json!({"AliasName": field("alias")})),
        "add-tag" => (
            Operation::TagResource,
            json!({"ResourceArn": arn, "Tags": [{"Key": field("tag_key"), "Value": field("tag_value")}]}),
        ),
        "remove-tag" => (
            Operation::UntagResource,
            json!({"ResourceArn": arn, "TagKeys": [field("tag_key")]}),
        ),
        _ => return not_found(State(state), parts).await,
    };
    match call(&state, &visit, operation, input).await {
        Ok(_) => Redirect::to(&url(
            &format!("/console/keys/{key_id}"),
            &[("region", &visit.region), ("done", &action)],
        ))
        .into_response(),
        Err(e) => key_page(&state, &visit, &key_id, Some(pages::Notice::Failed(e))).await,
    }
}

async fn new_key(State(state): State<AppState>, parts: Parts) -> Response {
    let q = query(&parts);
    let visit = match visit(&state, &parts, q.get("region").map(String::as_str)).await {
        Ok(visit) => visit,
        Err(response) => return response,
    };
    let usage = q.get("usage").map(String::as_str).unwrap_or("");
    html(
        StatusCode::OK,
        pages::new_key(&visit, usage, &HashMap::new(), None),
    )
}

/// `POST /console/keys`: CreateKey from the form (and CreateAlias when it names an alias).
async fn create_key(State(state): State<AppState>, parts: Parts, body: Bytes) -> Response {
    let form = pairs(&body);
    let visit = match posted(&state, &parts, &form).await {
        Ok(visit) => visit,
        Err(response) => return response,
    };
    let field = |name: &str| form.get(name).map_or("", |v| v.trim());
    let usage = field("usage");
    let algorithm = field("algorithm");
    let mut modes = serde_json::Map::new();
    for mode in field("modes").split('+').filter(|m| !m.is_empty()) {
        modes.insert(mode.to_string(), json!(true));
    }
    let class = match algorithm.split('_').next() {
        Some("RSA" | "ECC") => "ASYMMETRIC_KEY_PAIR",
        _ => "SYMMETRIC_KEY",
    };
    let mut input = json!({
        "KeyAttributes": {
            "KeyUsage": usage,
            "KeyClass": class,
            "KeyAlgorithm": algorithm,
            "KeyModesOfUse": modes,
        },
        "Exportable": form.contains_key("exportable"),
        "Enabled": form.contains_key("enabled"),
    });
    if !field("kcv").is_empty() {
        input["KeyCheckValueAlgorithm"] = json!(field("kcv"));
    }
    if !field("tag_key").is_empty() {
        input["Tags"] = json!([{"Key": field("tag_key"), "Value": field("tag_value")}]);
    }
    let failed = |e: ApiError| {
        let status = StatusCode::from_u16(e.code.http_status()).unwrap_or(StatusCode::BAD_REQUEST);
        html(status, pages::new_key(&visit, usage, &form, Some(&e)))
    };
    let created = match call(&state, &visit, Operation::CreateKey, input).await {
        Ok(created) => created,
        Err(e) => return failed(e),
    };
    let arn = created
        .pointer("/Key/KeyArn")
        .and_then(Value::as_str)
        .unwrap_or_default()
        .to_string();
    let key_id = arn.rsplit_once("key/").map_or("", |(_, id)| id).to_string();
    let mut done = "created";
    if !field("alias").is_empty() {
        let alias = json!({"AliasName": field("alias"), "KeyArn": arn});
        if let Err(e) = call(&state, &visit, Operation::CreateAlias, alias).await {
            let notice = pages::Notice::Failed(ApiError::new(
                e.code,
                format!("The key was created, but not its alias: {}", e.message),
            ));
            return key_page(&state, &visit, &key_id, Some(notice)).await;
        }
        done = "created-with-alias";
    }
    Redirect::to(&url(
        &format!("/console/keys/{key_id}"),
        &[("region", &visit.region), ("done", done)],
    ))
    .into_response()
}

// ---------------------------------------------------------------------------------------------
// Key block inspector and audit log

async fn inspector(State(state): State<AppState>, parts: Parts) -> Response {
    let q = query(&parts);
    match visit(&state, &parts, q.get("region").map(String::as_str)).await {
        Ok(visit) => html(StatusCode::OK, pages::inspector(&visit, "", None)),
        Err(response) => response,
    }
}

/// `POST /console/inspect`: what `paycrypt keyblock inspect` prints, as a table. The block
/// travels in the body, never in a URL.
async fn inspect(State(state): State<AppState>, parts: Parts, body: Bytes) -> Response {
    let form = pairs(&body);
    let visit = match posted(&state, &parts, &form).await {
        Ok(visit) => visit,
        Err(response) => return response,
    };
    let block = form.get("block").map_or("", String::as_str);
    let result = paycrypt_keyblock::describe::inspect(block)
        .map_err(|e| e.to_string())
        .and_then(|seen| serde_json::to_value(&seen).map_err(|e| e.to_string()));
    let status = if result.is_ok() {
        StatusCode::OK
    } else {
        StatusCode::BAD_REQUEST
    };
    html(status, pages::inspector(&visit, block, Some(&result)))
}

/// Audit lines shown at most, newest first.
const AUDIT_LINES: usize = 200;
/// How much of the end of the audit log is read for them.
const AUDIT_TAIL_BYTES: u64 = 4 * 1024 * 1024;

async fn audit(State(state): State<AppState>, parts: Parts) -> Response {
    let q = query(&parts);
    let visit = match visit(&state, &parts, q.get("region").map(String::as_str)).await {
        Ok(visit) => visit,
        Err(response) => return response,
    };
    let Some(log) = state.audit.clone() else {
        return html(StatusCode::OK, pages::audit(&visit, None));
    };
    let account = visit.account.clone();
    let lines = tokio::task::spawn_blocking(move || read_audit_tail(log.path(), &account))
        .await
        .unwrap_or_else(|_| Ok(Vec::new()));
    match lines {
        Ok(lines) => html(StatusCode::OK, pages::audit(&visit, Some(&lines))),
        Err(e) => {
            tracing::error!("console: cannot read the audit log: {e}");
            let error = ApiError::internal("The audit log could not be read.");
            error_page(Some(&visit), &error)
        }
    }
}

/// The newest [`AUDIT_LINES`] lines of `account` among the last [`AUDIT_TAIL_BYTES`] of the log.
fn read_audit_tail(path: &std::path::Path, account: &str) -> std::io::Result<Vec<Value>> {
    use std::io::{Read, Seek, SeekFrom};
    let mut file = std::fs::File::open(path)?;
    let length = file.metadata()?.len();
    let start = length.saturating_sub(AUDIT_TAIL_BYTES);
    file.seek(SeekFrom::Start(start))?;
    let mut text = Vec::new();
    file.read_to_end(&mut text)?;
    let mut lines: Vec<&[u8]> = text.split(|b| *b == b'\n').collect();
    if start > 0 && !lines.is_empty() {
        lines.remove(0); // cut in the middle
    }
    Ok(lines
        .iter()
        .rev()
        .filter_map(|line| serde_json::from_slice::<Value>(line).ok())
        .filter(|line| line.get("account").and_then(Value::as_str) == Some(account))
        .take(AUDIT_LINES)
        .collect())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn cookies_and_forms_parse() {
        let mut headers = HeaderMap::new();
        headers.insert(
            header::COOKIE,
            HeaderValue::from_static("a=1; paycrypt_session=abc; b=2"),
        );
        assert_eq!(cookie(&headers, SESSION_COOKIE), Some("abc"));
        assert_eq!(cookie(&headers, "c"), None);
        let form = pairs(b"csrf=x%2By&alias=alias%2Fa+b&csrf=second");
        assert_eq!(form["csrf"], "x+y");
        assert_eq!(form["alias"], "alias/a b");
        assert_eq!(
            url(
                "/console/keys",
                &[("region", "us-east-1"), ("alias", "a&b"), ("x", "")]
            ),
            "/console/keys?region=us-east-1&alias=a%26b"
        );
    }

    #[test]
    fn cookies_are_http_only_strict_and_secure_under_tls() {
        let plain = Console::new(false).cookie(SESSION_COOKIE, "v", None);
        assert_eq!(
            plain.to_str().unwrap(),
            "paycrypt_session=v; Path=/console; HttpOnly; SameSite=Strict"
        );
        let tls = Console::new(true).cookie(SESSION_COOKIE, "", Some(0));
        assert!(tls.to_str().unwrap().ends_with("; Max-Age=0; Secure"));
    }

    #[test]
    fn audit_tail_keeps_the_accounts_newest_lines() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("audit.log");
        let mut text = String::new();
        for i in 0..5 {
            let account = if i % 2 == 0 {
                "111122223333"
            } else {
                "444455556666"
            };
            text.push_str(&format!("{{\"account\":\"{account}\",\"n\":{i}}}\n"));
        }
        std::fs::write(&path, text).unwrap();
        let lines = read_audit_tail(&path, "111122223333").unwrap();
        let numbers: Vec<i64> = lines.iter().map(|l| l["n"].as_i64().unwrap()).collect();
        assert_eq!(numbers, [4, 2, 0]);
    }
}

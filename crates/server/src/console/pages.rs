//! The console's HTML, written with `maud`, which escapes every interpolated value: a key's tag,
//! alias or policy can hold any text and still only ever shows as text. No inline style or
//! script anywhere (the Content-Security-Policy forbids them); the one stylesheet is
//! `console.css`, served by the console itself.

use std::collections::HashMap;

use maud::{DOCTYPE, Markup, html};
use paycrypt_api::{ApiError, KeyAlgorithm, KeyState, KeyUsage, Timestamp};
use serde_json::Value;

use super::{Filters, Visit, url};
use crate::audit::rfc3339;

/// What a key page says above its facts.
pub(crate) enum Notice {
    /// A change that was made (one of [`done_message`]'s).
    Done(&'static str),
    /// A change that was refused, with the API's error.
    Failed(ApiError),
}

/// The sentence for a change made on the key page (the `done` query value after the redirect).
pub(crate) fn done_message(done: &str) -> Option<&'static str> {
    Some(match done {
        "created" => "Key created.",
        "created-with-alias" => "Key created, with its alias.",
        "enable" => "Key enabled.",
        "disable" => "Key disabled.",
        "delete" => "Key deletion scheduled.",
        "restore" => "Key restored: its deletion is cancelled.",
        "add-alias" => "Alias added.",
        "remove-alias" => "Alias removed.",
        "add-tag" => "Tag saved.",
        "remove-tag" => "Tag removed.",
        _ => return None,
    })
}

fn layout(title: &str, visit: Option<&Visit>, content: Markup) -> Markup {
    html! {
        (DOCTYPE)
        html lang="en" {
            head {
                meta charset="utf-8";
                meta name="viewport" content="width=device-width, initial-scale=1";
                title { (title) " · paycrypt console" }
                link rel="stylesheet" href="/console/console.css";
            }
            body {
                header.top {
                    a.brand href="/console/keys" { "paycrypt" }
                    @if let Some(v) = visit {
                        nav aria-label="Console" {
                            a href=(url("/console/keys", &[("region", &v.region)])) { "Keys" }
                            a href=(url("/console/keys/new", &[("region", &v.region)])) { "Create key" }
                            a href=(url("/console/inspect", &[("region", &v.region)])) { "Inspect key block" }
                            a href=(url("/console/audit", &[("region", &v.region)])) { "Audit log" }
                        }
                        div.who {
                            span { "Account " strong { (v.account) } " · " (v.access_key_id) }
                            form method="post" action="/console/signout" {
                                input type="hidden" name="csrf" value=(v.csrf);
                                button type="submit" { "Sign out" }
                            }
                        }
                    }
                }
                main { h1 { (title) } (content) }
            }
        }
    }
}

fn region_picker(visit: &Visit, action: &str) -> Markup {
    html! {
        form.picker method="get" action=(action) {
            label for="region" { "Region" }
            select id="region" name="region" {
                @for r in &visit.regions {
                    option value=(r) selected[*r == visit.region] { (r) }
                }
            }
            button type="submit" { "Show" }
        }
    }
}

pub(crate) fn message(title: &str, text: &str) -> Markup {
    layout(
        title,
        None,
        html! { p { (text) } p { a href="/console/" { "Back to the console" } } },
    )
}

pub(crate) fn error(visit: Option<&Visit>, error: &ApiError) -> Markup {
    layout(
        "Not done",
        visit,
        html! { p.error role="alert" { strong { (error.code.as_str()) } ": " (error.message) } },
    )
}

pub(crate) fn signin(token: &str, problem: Option<&str>) -> Markup {
    layout(
        "Sign in",
        None,
        html! {
            p { "Sign in with an access key of this server's configuration: the one you sign API requests with." }
            @if let Some(problem) = problem { p.error role="alert" { (problem) } }
            form.stack method="post" action="/console/signin" {
                input type="hidden" name="csrf" value=(token);
                label for="access_key_id" { "Access key id" }
                input id="access_key_id" name="access_key_id" autocomplete="username" required autofocus;
                label for="secret_access_key" { "Secret access key" }
                input id="secret_access_key" name="secret_access_key" type="password" autocomplete="current-password" required;
                button type="submit" { "Sign in" }
            }
        },
    )
}

/// One key of the list.
pub(crate) struct KeyRow {
    pub key_id: String,
    pub attributes: Value,
    pub state: String,
    pub enabled: bool,
    pub kcv: String,
    pub aliases: Vec<String>,
}

fn text(value: &Value, name: &str) -> String {
    value
        .get(name)
        .and_then(Value::as_str)
        .unwrap_or("")
        .to_string()
}

fn key_id_of(arn: &str) -> &str {
    arn.rsplit_once("key/").map_or(arn, |(_, id)| id)
}

impl KeyRow {
    pub fn new(summary: &Value, alias_of: &HashMap<String, Vec<String>>) -> Self {
        let arn = text(summary, "KeyArn");
        let mut aliases = alias_of.get(&arn).cloned().unwrap_or_default();
        aliases.sort();
        Self {
            key_id: key_id_of(&arn).to_string(),
            attributes: summary.get("KeyAttributes").cloned().unwrap_or(Value::Null),
            state: text(summary, "KeyState"),
            enabled: summary
                .get("Enabled")
                .and_then(Value::as_bool)
                .unwrap_or(false),
            kcv: text(summary, "KeyCheckValue"),
            aliases,
        }
    }
}

fn select(id: &str, label: &str, options: &[&str], chosen: &str, any: &str) -> Markup {
    html! {
        div.field {
            label for=(id) { (label) }
            select id=(id) name=(id) {
                option value="" { (any) }
                @for o in options { option value=(o) selected[*o == chosen] { (o) } }
            }
        }
    }
}

pub(crate) fn keys(visit: &Visit, filters: &Filters, rows: &[KeyRow], page_size: usize) -> Markup {
    let states: Vec<&str> = KeyState::ALL.iter().map(|s| s.as_str()).collect();
    let usages: Vec<&str> = KeyUsage::ALL.iter().map(|u| u.as_str()).collect();
    let algorithms: Vec<&str> = KeyAlgorithm::ALL.iter().map(|a| a.as_str()).collect();
    let pages = rows.len().div_ceil(page_size).max(1);
    let page = filters.page.min(pages);
    let shown = rows.iter().skip((page - 1) * page_size).take(page_size);
    let link = |page: usize| {
        url(
            "/console/keys",
            &[
                ("region", &visit.region),
                ("state", &filters.state),
                ("usage", &filters.usage),
                ("algorithm", &filters.algorithm),
                ("alias", &filters.alias),
                ("page", &page.to_string()),
            ],
        )
    };
    layout(
        "Keys",
        Some(visit),
        html! {
            (region_picker(visit, "/console/keys"))
            form.filters method="get" action="/console/keys" aria-label="Filter keys" {
                input type="hidden" name="region" value=(visit.region);
                (select("state", "State", &states, &filters.state, "any"))
                (select("usage", "Usage", &usages, &filters.usage, "any"))
                (select("algorithm", "Algorithm", &algorithms, &filters.algorithm, "any"))
                div.field {
                    label for="alias" { "Alias contains" }
                    input id="alias" name="alias" value=(filters.alias);
                }
                button type="submit" { "Filter" }
            }
            p { (rows.len()) " key(s) in " (visit.region) " of account " (visit.account) "." }
            div.scroll {
                table {
                    thead { tr {
                        th scope="col" { "Key" } th scope="col" { "Aliases" } th scope="col" { "Usage" }
                        th scope="col" { "Algorithm" } th scope="col" { "State" } th scope="col" { "Enabled" }
                        th scope="col" { "KCV" }
                    } }
                    tbody {
                        @for row in shown {
                            tr {
                                td { a href=(url(&format!("/console/keys/{}", row.key_id), &[("region", &visit.region)])) { code { (row.key_id) } } }
                                td { (row.aliases.join(", ")) }
                                td { (text(&row.attributes, "KeyUsage")) }
                                td { (text(&row.attributes, "KeyAlgorithm")) }
                                td { (row.state) }
                                td { @if row.enabled { "yes" } @else { "no" } }
                                td { code { (row.kcv) } }
                            }
                        }
                    }
                }
            }
            nav.pages aria-label="Pages" {
                @if page > 1 { a href=(link(page - 1)) rel="prev" { "← Previous" } }
                span { "Page " (page) " of " (pages) }
                @if page < pages { a href=(link(page + 1)) rel="next" { "Next →" } }
            }
        },
    )
}

/// A timestamp of the API (seconds since the epoch) in RFC 3339, UTC, as the audit log writes it.
fn when(value: Option<&Value>) -> String {
    let Some(seconds) = value.and_then(Value::as_f64) else {
        return String::new();
    };
    // To the millisecond, which is what the API keeps.
    #[allow(clippy::cast_possible_truncation)]
    let millis = (seconds * 1000.0).round() as i64;
    rfc3339(Timestamp::from_millis(millis))
}

/// What a key page shows.
pub(crate) struct KeyPage {
    pub key: Value,
    pub aliases: Vec<Value>,
    pub tags: Vec<Value>,
    pub policy: Option<String>,
}

fn yes_no(value: Option<&Value>) -> &'static str {
    match value.and_then(Value::as_bool) {
        Some(true) => "yes",
        Some(false) => "no",
        None => "",
    }
}

fn action(visit: &Visit, key_id: &str, action: &str, fields: Markup, label: &str) -> Markup {
    html! {
        form.inline method="post" action=(format!("/console/keys/{key_id}/{action}")) {
            input type="hidden" name="csrf" value=(visit.csrf);
            input type="hidden" name="region" value=(visit.region);
            (fields)
            button type="submit" { (label) }
        }
    }
}

pub(crate) fn key(visit: &Visit, page: &KeyPage, notice: Option<&Notice>) -> Markup {
    let key = &page.key;
    let attributes = key.get("KeyAttributes").cloned().unwrap_or(Value::Null);
    let arn = text(key, "KeyArn");
    let key_id = key_id_of(&arn).to_string();
    let modes: Vec<String> = attributes
        .get("KeyModesOfUse")
        .and_then(Value::as_object)
        .map(|m| {
            m.iter()
                .filter(|(_, v)| v.as_bool() == Some(true))
                .map(|(k, _)| k.clone())
                .collect()
        })
        .unwrap_or_default();
    let state = text(key, "KeyState");
    let facts: Vec<(&str, String)> = vec![
        ("Key ARN", arn.clone()),
        ("State", state.clone()),
        ("Enabled", yes_no(key.get("Enabled")).into()),
        ("Exportable", yes_no(key.get("Exportable")).into()),
        ("Key usage", text(&attributes, "KeyUsage")),
        ("Key class", text(&attributes, "KeyClass")),
        ("Key algorithm", text(&attributes, "KeyAlgorithm")),
        ("Modes of use", modes.join(", ")),
        ("Key check value", text(key, "KeyCheckValue")),
        ("KCV algorithm", text(key, "KeyCheckValueAlgorithm")),
        ("Origin", text(key, "KeyOrigin")),
        ("Created", when(key.get("CreateTimestamp"))),
        ("Usage start", when(key.get("UsageStartTimestamp"))),
        ("Usage stop", when(key.get("UsageStopTimestamp"))),
        (
            "Deletion pending until",
            when(key.get("DeletePendingTimestamp")),
        ),
        ("Deleted", when(key.get("DeleteTimestamp"))),
        ("Derive key usage", text(key, "DeriveKeyUsage")),
        ("Multi-Region key type", text(key, "MultiRegionKeyType")),
        ("Primary region", text(key, "PrimaryRegion")),
        (
            "Uses default replication regions",
            yes_no(key.get("UsingDefaultReplicationRegions")).into(),
        ),
    ];
    let replication: Vec<(String, Value)> = key
        .get("ReplicationStatus")
        .and_then(Value::as_object)
        .map(|m| m.iter().map(|(k, v)| (k.clone(), v.clone())).collect())
        .unwrap_or_default();
    let mpa = key.get("MpaStatus");
    let enabled = key.get("Enabled").and_then(Value::as_bool) == Some(true);
    layout(
        &format!("Key {key_id}"),
        Some(visit),
        html! {
            @match notice {
                Some(Notice::Done(text)) => p.notice role="status" { (text) },
                Some(Notice::Failed(e)) => p.error role="alert" { strong { (e.code.as_str()) } ": " (e.message) },
                None => {},
            }
            p { a href=(url("/console/keys", &[("region", &visit.region)])) { "← All keys in " (visit.region) } }
            section aria-labelledby="facts" {
                h2 id="facts" { "Facts" }
                dl.facts {
                    @for (name, value) in &facts {
                        @if !value.is_empty() { dt { (name) } dd { (value) } }
                    }
                }
            }
            section aria-labelledby="actions" {
                h2 id="actions" { "Actions" }
                div.actions {
                    @if state == "CREATE_COMPLETE" {
                        @if enabled {
                            (action(visit, &key_id, "disable", html!{}, "Disable"))
                        } @else {
                            (action(visit, &key_id, "enable", html!{}, "Enable"))
                        }
                        (action(visit, &key_id, "delete", html! {
                            label for="days" { "Delete after (days, 3–180)" }
                            input id="days" name="days" type="number" min="3" max="180" value="7" required;
                        }, "Schedule deletion"))
                    }
                    @if state == "DELETE_PENDING" {
                        (action(visit, &key_id, "restore", html!{}, "Restore"))
                    }
                }
            }
            section aria-labelledby="aliases" {
                h2 id="aliases" { "Aliases" }
                @if page.aliases.is_empty() { p { "None." } }
                ul {
                    @for alias in &page.aliases {
                        @let name = text(alias, "AliasName");
                        li {
                            code { (name) } " "
                            (action(visit, &key_id, "remove-alias", html! {
                                input type="hidden" name="alias" value=(name);
                            }, "Remove"))
                        }
                    }
                }
                (action(visit, &key_id, "add-alias", html! {
                    label for="new-alias" { "New alias" }
                    input id="new-alias" name="alias" placeholder="alias/name" required;
                }, "Add alias"))
            }
            section aria-labelledby="tags" {
                h2 id="tags" { "Tags" }
                @if page.tags.is_empty() { p { "None." } }
                div.scroll { table {
                    @if !page.tags.is_empty() { thead { tr { th scope="col" { "Key" } th scope="col" { "Value" } th {} } } }
                    tbody {
                        @for tag in &page.tags {
                            @let tag_key = text(tag, "Key");
                            tr {
                                td { (tag_key) } td { (text(tag, "Value")) }
                                td { (action(visit, &key_id, "remove-tag", html! {
                                    input type="hidden" name="tag_key" value=(tag_key);
                                }, "Remove")) }
                            }
                        }
                    }
                } }
                (action(visit, &key_id, "add-tag", html! {
                    label for="tag-key" { "Tag key" }
                    input id="tag-key" name="tag_key" required;
                    label for="tag-value" { "Value" }
                    input id="tag-value" name="tag_value";
                }, "Save tag"))
            }
            section aria-labelledby="policy" {
                h2 id="policy" { "Resource policy" }
                @match &page.policy {
                    Some(policy) => pre { (pretty(policy)) },
                    None => p { "None." },
                }
            }
            section aria-labelledby="replication" {
                h2 id="replication" { "Replication" }
                @if replication.is_empty() { p { "Not replicated." } } @else {
                    div.scroll { table {
                        thead { tr { th scope="col" { "Region" } th scope="col" { "Status" } th scope="col" { "Message" } } }
                        tbody { @for (region, status) in &replication {
                            tr { td { (region) } td { (text(status, "Status")) } td { (text(status, "StatusMessage")) } }
                        } }
                    } }
                }
            }
            section aria-labelledby="mpa" {
                h2 id="mpa" { "Multi-party approval" }
                @match mpa {
                    Some(m) => dl.facts {
                        dt { "Session" } dd { (text(m, "MpaSessionArn")) }
                        dt { "Status" } dd { (text(m, "Status")) }
                        dt { "Started" } dd { (when(m.get("InitiationDate"))) }
                        @if !text(m, "StatusMessage").is_empty() { dt { "Message" } dd { (text(m, "StatusMessage")) } }
                    },
                    None => p { "No approval session." },
                }
            }
        },
    )
}

/// A JSON document indented for reading (as given when it is not JSON).
fn pretty(document: &str) -> String {
    serde_json::from_str::<Value>(document)
        .ok()
        .and_then(|v| serde_json::to_string_pretty(&v).ok())
        .unwrap_or_else(|| document.to_string())
}

pub(crate) fn new_key(
    visit: &Visit,
    usage: &str,
    form: &HashMap<String, String>,
    error: Option<&ApiError>,
) -> Markup {
    let creatable: Vec<&str> = KeyUsage::ALL
        .iter()
        .filter(|u| paycrypt_service::create_options(**u).is_some())
        .map(|u| u.as_str())
        .collect();
    let options = KeyUsage::parse(usage).and_then(paycrypt_service::create_options);
    let previous = |name: &str| form.get(name).map_or("", String::as_str).to_string();
    layout(
        "Create a key",
        Some(visit),
        html! {
            @if let Some(e) = error { p.error role="alert" { strong { (e.code.as_str()) } ": " (e.message) } }
            form.stack method="get" action="/console/keys/new" {
                input type="hidden" name="region" value=(visit.region);
                label for="usage" { "1. Key usage" }
                select id="usage" name="usage" {
                    @for u in &creatable { option value=(u) selected[*u == usage] { (u) } }
                }
                button type="submit" { "Choose" }
            }
            @if let Some((algorithms, mode_sets)) = options {
                form.stack method="post" action="/console/keys" {
                    input type="hidden" name="csrf" value=(visit.csrf);
                    input type="hidden" name="usage" value=(usage);
                    p { "2. The algorithms and modes of use " code { (usage) } " allows:" }
                    label for="region-new" { "Region" }
                    input id="region-new" name="region" value=(visit.region) required;
                    label for="algorithm" { "Key algorithm" }
                    select id="algorithm" name="algorithm" {
                        @for a in &algorithms { option value=(a.as_str()) selected[a.as_str() == previous("algorithm")] { (a.as_str()) } }
                    }
                    label for="modes" { "Modes of use" }
                    select id="modes" name="modes" {
                        @for set in mode_sets.iter() {
                            @let value = set.join("+");
                            option value=(value) selected[value == previous("modes")] { (set.join(", ")) }
                        }
                    }
                    label.check { input type="checkbox" name="exportable" checked[form.is_empty() || form.contains_key("exportable")]; " Exportable" }
                    label.check { input type="checkbox" name="enabled" checked[form.is_empty() || form.contains_key("enabled")]; " Enabled" }
                    label for="alias" { "Alias (optional)" }
                    input id="alias" name="alias" placeholder="alias/name" value=(previous("alias"));
                    label for="tag_key" { "Tag key (optional)" }
                    input id="tag_key" name="tag_key" value=(previous("tag_key"));
                    label for="tag_value" { "Tag value" }
                    input id="tag_value" name="tag_value" value=(previous("tag_value"));
                    button type="submit" { "Create key" }
                }
            }
        },
    )
}

/// Rows of a JSON object, nested objects and lists flattened into dotted names.
fn flatten(prefix: &str, value: &Value, rows: &mut Vec<(String, String)>) {
    match value {
        Value::Object(map) => {
            for (k, v) in map {
                let name = if prefix.is_empty() {
                    k.clone()
                } else {
                    format!("{prefix}.{k}")
                };
                flatten(&name, v, rows);
            }
        }
        Value::Array(items) => {
            if items.is_empty() {
                rows.push((prefix.to_string(), "none".into()));
            }
            for (i, v) in items.iter().enumerate() {
                flatten(&format!("{prefix}[{i}]"), v, rows);
            }
        }
        Value::String(s) => rows.push((prefix.to_string(), s.clone())),
        Value::Null => rows.push((prefix.to_string(), "(none)".into())),
        other => rows.push((prefix.to_string(), other.to_string())),
    }
}

pub(crate) fn inspector(
    visit: &Visit,
    block: &str,
    result: Option<&Result<Value, String>>,
) -> Markup {
    let mut rows = Vec::new();
    if let Some(Ok(facts)) = result {
        flatten("", facts, &mut rows);
    }
    layout(
        "Inspect a key block",
        Some(visit),
        html! {
            p { "Paste a TR-31 key block, or a TR-34 key block as hex of its DER. Its header or public facts are read; nothing is decrypted or verified, and the block is not stored." }
            form.stack method="post" action="/console/inspect" {
                input type="hidden" name="csrf" value=(visit.csrf);
                input type="hidden" name="region" value=(visit.region);
                label for="block" { "Key block" }
                textarea id="block" name="block" rows="6" spellcheck="false" required { (block) }
                button type="submit" { "Inspect" }
            }
            @match result {
                Some(Ok(_)) => {
                    h2 { "What the block says" }
                    div.scroll { table.facts-table {
                        tbody { @for (name, value) in &rows { tr { th scope="row" { (name) } td { code { (value) } } } } }
                    } }
                },
                Some(Err(problem)) => p.error role="alert" { (problem) },
                None => {},
            }
        },
    )
}

pub(crate) fn audit(visit: &Visit, lines: Option<&[Value]>) -> Markup {
    layout(
        "Audit log",
        Some(visit),
        html! {
            @match lines {
                None => p { "This server keeps no audit log." },
                Some(lines) => {
                    p { "The newest " (lines.len()) " entries of account " (visit.account) ", newest first, in every region." }
                    div.scroll { table {
                        thead { tr {
                            th scope="col" { "Time (UTC)" } th scope="col" { "Operation" } th scope="col" { "Outcome" }
                            th scope="col" { "Plane" } th scope="col" { "Access key" } th scope="col" { "Region" }
                            th scope="col" { "Source" } th scope="col" { "Key" }
                        } }
                        tbody { @for line in lines {
                            tr {
                                td { (text(line, "time")) } td { (text(line, "operation")) } td { (text(line, "outcome")) }
                                td { (text(line, "plane")) } td { (text(line, "access_key_id")) } td { (text(line, "region")) }
                                td { (text(line, "source_ip")) } td { code { (key_id_of(&text(line, "key_arn"))) } }
                            }
                        } }
                    } }
                }
            }
        },
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn values_are_escaped() {
        let page = message("<b>", "a \"quoted\" <script>alert(1)</script> & more");
        let page = page.into_string();
        assert!(!page.contains("<script>"), "{page}");
        assert!(page.contains("&lt;script&gt;"));
        assert!(page.contains("&lt;b&gt;"));
    }

    #[test]
    fn nested_facts_flatten_into_named_rows() {
        let mut rows = Vec::new();
        let facts = serde_json::json!({"header": {"optional_blocks": [{"id": "KS"}], "v": "B"}, "n": 1, "x": null});
        flatten("", &facts, &mut rows);
        assert_eq!(
            rows,
            [
                ("header.optional_blocks[0].id".to_string(), "KS".to_string()),
                ("header.v".into(), "B".into()),
                ("n".into(), "1".into()),
                ("x".into(), "(none)".into()),
            ]
        );
    }

    #[test]
    fn timestamps_read_as_utc() {
        assert_eq!(
            when(Some(&serde_json::json!(1_698_245_002.065))),
            "2023-10-25T14:43:22.065Z"
        );
        assert_eq!(when(None), "");
    }
}

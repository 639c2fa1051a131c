//! `/admin/authentication` — cookie login (SPEC §5.1): cookie name, endpoint, JSON
//! mapping, custom headers (values write-only), timeout, re-verify interval; and a
//! **Test** button that runs the admin API's cookie test on the values in the form,
//! saved or not, showing the request, the raw answer and the mapped profile.

use askama::Template;
use axum::extract::{RawQuery, State};
use axum::http::StatusCode;
use axum::response::Response;

use super::page::{self, ConsoleError, Form, Layout};
use super::session::{Console, ConsolePost};
use crate::admin::api::site::endpoint_policy;
use crate::admin::cookie_test::{self, CookieTestReport, CookieTestRequest};
use crate::admin::site::{self, SitePatch};
use crate::admin::AdminError;
use crate::app::AppState;
use crate::cookie_login::patch::{CookieLoginPatch, HeaderEntry, KEEP_VALUE};
use crate::settings::cookie_login::{CookieLoginSettings, CookieLoginView, Field};

/// Most characters of the endpoint's answer shown on the page (pages stay small).
const SHOWN_BODY_CHARS: usize = 16 * 1024;

/// One row of a mapping fieldset (`templates/console/mapping_rows.html`).
pub(super) struct MapRow {
    pub(super) field: String,
    pub(super) label: &'static str,
    pub(super) value: String,
}

struct HeaderRow {
    name: String,
    /// A value is stored for this name: an empty value field keeps it.
    stored: bool,
}

struct Report {
    outcome: &'static str,
    ok: bool,
    detail: String,
    url: String,
    headers: Vec<(String, String)>,
    status: Option<u16>,
    content_type: String,
    body: String,
    cut: bool,
    mapped: Vec<(&'static str, String)>,
}

#[derive(Template)]
#[template(path = "console/authentication.html")]
struct AuthenticationPage {
    layout: Layout,
    csrf_token: String,
    configured: bool,
    cookie_name: String,
    endpoint: String,
    http_warning: bool,
    mapping: Vec<MapRow>,
    headers: Vec<HeaderRow>,
    timeout_ms: String,
    reverify_interval: String,
    cookie: String,
    report: Option<Report>,
    /// How the site's endpoint has answered this node's logins lately, if at all.
    endpoint_health: Option<String>,
}

/// One sentence on the endpoint's recent latency and errors (this node's logins).
fn endpoint_health(state: &AppState, site_id: i64) -> Option<String> {
    let s = state.cookie_login.site_stats(site_id)?;
    let paused = if s.circuit_open {
        " Logins are paused after repeated failures; one probe will try again shortly."
    } else {
        ""
    };
    Some(format!(
        "Your endpoint lately (logins on this server): {:.0} ms on average, p50 {:.0} ms, p99 {:.0} ms, {:.0} % failed; up to {} verifications at once, {} in progress, {} waiting.{paused}",
        s.recent_latency_ms, s.p50_latency_ms, s.p99_latency_ms, s.error_rate * 100.0, s.limit, s.in_flight, s.queued,
    ))
}

fn map_rows(value: impl Fn(Field) -> String) -> Vec<MapRow> {
    Field::ALL
        .into_iter()
        .map(|f| MapRow {
            field: format!("map_{}", f.name()),
            label: f.name(),
            value: value(f),
        })
        .collect()
}

fn is_http(endpoint: &str) -> bool {
    endpoint
        .trim()
        .get(..7)
        .is_some_and(|s| s.eq_ignore_ascii_case("http://"))
}

fn blank_rows(rows: &mut Vec<HeaderRow>) {
    for _ in 0..2 {
        rows.push(HeaderRow {
            name: String::new(),
            stored: false,
        });
    }
}

impl AuthenticationPage {
    /// The saved settings.
    fn saved(layout: Layout, console: &Console, saved: Option<&CookieLoginView>) -> Self {
        let default = CookieLoginSettings::default().view();
        let view = saved.unwrap_or(&default);
        let mut headers: Vec<HeaderRow> = view
            .headers
            .iter()
            .map(|h| HeaderRow {
                name: h.name.clone(),
                stored: true,
            })
            .collect();
        blank_rows(&mut headers);
        let endpoint = view.endpoint.clone().unwrap_or_default();
        Self {
            layout,
            csrf_token: console.csrf_token.clone(),
            configured: view.configured,
            cookie_name: view.cookie_name.clone().unwrap_or_default(),
            http_warning: is_http(&endpoint),
            endpoint,
            mapping: map_rows(|f| view.mapping.path(f).to_string()),
            headers,
            timeout_ms: view.timeout_ms.to_string(),
            reverify_interval: view.reverify_interval.clone(),
            cookie: String::new(),
            report: None,
            endpoint_health: None,
        }
    }

    /// The values as typed (after a refused save, or with a test's report).
    fn typed(
        layout: Layout,
        console: &Console,
        saved: Option<&CookieLoginView>,
        form: &Form,
    ) -> Self {
        let stored = |name: &str| {
            saved.is_some_and(|v| v.headers.iter().any(|h| h.name.eq_ignore_ascii_case(name)))
        };
        let mut headers: Vec<HeaderRow> = header_rows(form)
            .filter(|(name, _)| !name.is_empty())
            .map(|(name, _)| HeaderRow {
                stored: stored(name),
                name: name.to_string(),
            })
            .collect();
        blank_rows(&mut headers);
        let text = |name: &str| form.get(name).unwrap_or("").to_string();
        Self {
            layout,
            csrf_token: console.csrf_token.clone(),
            configured: saved.is_some_and(|v| v.configured),
            cookie_name: text("cookie_name"),
            endpoint: text("endpoint"),
            http_warning: is_http(form.get("endpoint").unwrap_or("")),
            mapping: map_rows(|f| text(&format!("map_{}", f.name()))),
            headers,
            timeout_ms: text("timeout_ms"),
            reverify_interval: text("reverify_interval"),
            cookie: text("cookie"),
            report: None,
            endpoint_health: None,
        }
    }
}

/// `(header_name, header_value)` rows, in order.
fn header_rows(form: &Form) -> impl Iterator<Item = (&str, &str)> {
    form.all("header_name")
        .map(str::trim)
        .zip(form.all("header_value").chain(std::iter::repeat("")))
}

fn invalid(field: &str, message: &str) -> AdminError {
    AdminError::invalid(field.to_string(), message.to_string())
}

/// The settings the form describes, as the admin API's `cookie_login` patch.
fn patch_of(form: &Form) -> Result<CookieLoginPatch, AdminError> {
    let mut headers = Vec::new();
    for (name, value) in header_rows(form) {
        match (name.is_empty(), value.is_empty()) {
            (true, true) => {}
            (true, false) => return Err(invalid("header_name", "a header value needs a name")),
            (false, empty) => headers.push(HeaderEntry {
                name: name.to_string(),
                value: if empty {
                    KEEP_VALUE.into()
                } else {
                    value.into()
                },
            }),
        }
    }
    let timeout_ms = form
        .non_empty("timeout_ms")
        .map(|t| {
            t.parse::<u64>()
                .map_err(|_| invalid("timeout_ms", "must be a whole number of milliseconds"))
        })
        .transpose()?;
    let reverify_interval_s = form
        .non_empty("reverify_interval")
        .map(|t| {
            t.parse::<u64>()
                .ok()
                .or_else(|| humantime::parse_duration(t).ok().map(|d| d.as_secs()))
                .ok_or_else(|| invalid("reverify_interval", "must be a duration like 24h or 90m"))
        })
        .transpose()?;
    let mapping = Field::ALL
        .into_iter()
        .map(|f| {
            let path = form
                .non_empty(&format!("map_{}", f.name()))
                .unwrap_or(f.name());
            (f.name().to_string(), path.to_string())
        })
        .collect();
    Ok(CookieLoginPatch {
        cookie_name: form.non_empty("cookie_name").map(str::to_string),
        endpoint: Some(form.get("endpoint").unwrap_or("").trim().to_string()),
        mapping: Some(mapping),
        headers: Some(headers),
        timeout_ms,
        reverify_interval_s,
    })
}

/// The page's layout and the saved settings, from one read of the site.
async fn layout_and_saved(
    state: &AppState,
    console: &Console,
) -> Result<(Layout, Option<CookieLoginView>), ConsoleError> {
    let site = site::get(&console.ctx(state)).await?;
    let layout = Layout::for_site(&site, console, "authentication", "Authentication");
    Ok((layout, site.cookie_login))
}

/// `GET /admin/authentication`
pub async fn page(
    State(state): State<AppState>,
    console: Console,
    RawQuery(query): RawQuery,
) -> Result<Response, ConsoleError> {
    let query = Form::query(query.as_deref());
    let (layout, saved) = layout_and_saved(&state, &console).await?;
    let layout = layout.with_flash(&query);
    let mut body = AuthenticationPage::saved(layout, &console, saved.as_ref());
    body.endpoint_health = endpoint_health(&state, console.site_id);
    Ok(page::ok(&body))
}

/// The form again as typed, with the field at fault named.
async fn refused(
    state: &AppState,
    console: &Console,
    form: &Form,
    field: &str,
    message: &str,
) -> Result<Response, ConsoleError> {
    let (layout, saved) = layout_and_saved(state, console).await?;
    let layout = layout.with_error(Some(page::field_message(field, message)));
    let page = AuthenticationPage::typed(layout, console, saved.as_ref(), form);
    Ok(page::render(StatusCode::BAD_REQUEST, &page))
}

/// `POST /admin/authentication`: saves, validated like the CLI and the admin API.
pub async fn save(
    State(state): State<AppState>,
    ConsolePost { console, form }: ConsolePost,
) -> Result<Response, ConsoleError> {
    let patch = patch_of(&form).map(|cookie| SitePatch {
        cookie_login: Some(cookie),
        ..SitePatch::default()
    });
    match page::save_site_patch(&state, &console, patch).await? {
        None => Ok(page::done("/admin/authentication", "settings_saved")),
        Some((field, message)) => refused(&state, &console, &form, &field, &message).await,
    }
}

/// `POST /admin/authentication/test` (`cookie` and the settings as typed).
pub async fn test(
    State(state): State<AppState>,
    ConsolePost { console, form }: ConsolePost,
) -> Result<Response, ConsoleError> {
    let result = match patch_of(&form) {
        Ok(settings) => {
            let request = CookieTestRequest {
                cookie: form.get("cookie").unwrap_or("").trim().to_string(),
                settings: Some(settings),
            };
            let ctx = console.ctx(&state);
            cookie_test::run(&ctx, &state.cookie_login, endpoint_policy(&state), &request).await
        }
        Err(e) => Err(e),
    };
    match result {
        Ok(report) => {
            let (layout, saved) = layout_and_saved(&state, &console).await?;
            let mut page = AuthenticationPage::typed(layout, &console, saved.as_ref(), &form);
            page.report = Some(report_of(report));
            Ok(page::ok(&page))
        }
        Err(AdminError::Invalid { field, message }) => {
            refused(&state, &console, &form, &field, &message).await
        }
        Err(e) => Err(e.into()),
    }
}

fn report_of(report: CookieTestReport) -> Report {
    let (status, content_type, body, cut) = match report.response {
        Some(answer) => {
            let pretty = serde_json::from_str::<serde_json::Value>(&answer.body)
                .ok()
                .and_then(|json| serde_json::to_string_pretty(&json).ok())
                .unwrap_or(answer.body);
            let cut = pretty.chars().count() > SHOWN_BODY_CHARS;
            let body = pretty.chars().take(SHOWN_BODY_CHARS).collect();
            (
                Some(answer.status),
                answer.content_type.unwrap_or_default(),
                body,
                cut,
            )
        }
        None => (None, String::new(), String::new(), false),
    };
    let mapped = report
        .mapped
        .map(|m| {
            vec![
                ("uid", m.uid),
                ("displayName", m.display_name),
                ("email", m.email),
                ("photoURL", m.photo_url.unwrap_or_default()),
                (
                    "socialData",
                    m.social_data.map(|v| v.to_string()).unwrap_or_default(),
                ),
            ]
        })
        .unwrap_or_default();
    Report {
        ok: report.outcome == "ok",
        outcome: report.outcome,
        detail: report.detail,
        url: report.request.url,
        headers: report
            .request
            .headers
            .into_iter()
            .map(|h| (h.name, h.value))
            .collect(),
        status,
        content_type,
        body,
        cut,
        mapped,
    }
}

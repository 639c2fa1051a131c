//! `/admin/authentication/tokens` — the token logins (SPEC §5.3, §5.4): ID-token login
//! settings (issuer, client id, JWKS, algorithms, claim mapping, max age, skew) with a
//! **Test** button for a pasted ID token, and the signed-token SSO secrets (create,
//! the secret shown once; delete after a confirmation page).

use askama::Template;
use axum::extract::{Path, RawQuery, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};

use super::authentication::MapRow;
use super::page::{self, Confirm, ConsoleError, Form, Layout};
use super::session::{Console, ConsolePost};
use crate::admin::id_token_test::{self, IdTokenTestReport, IdTokenTestRequest};
use crate::admin::site::{self, SitePatch, SiteView};
use crate::admin::sso_secrets::{self, SsoSecretView};
use crate::admin::AdminError;
use crate::app::AppState;
use crate::id_token::patch::IdTokenLoginPatch;
use crate::settings::id_token::{ClaimMapping, IdTokenLoginSettings};

struct Report {
    ok: bool,
    outcome: &'static str,
    cause: String,
    detail: String,
    mapped: Vec<(&'static str, String)>,
}

#[derive(Template)]
#[template(path = "console/token_login.html")]
struct TokenLoginPage {
    layout: Layout,
    csrf_token: String,
    configured: bool,
    issuer: String,
    client_id: String,
    jwks_uri: String,
    algorithms: String,
    mapping: Vec<MapRow>,
    max_age_s: String,
    skew_s: String,
    http_warning: bool,
    report: Option<Report>,
    secrets: Vec<SsoSecretView>,
    /// A secret just created: (kid, secret), shown this once.
    created: Option<(String, String)>,
}

fn map_rows(value: impl Fn(crate::settings::cookie_login::Field) -> String) -> Vec<MapRow> {
    ClaimMapping::FIELDS
        .into_iter()
        .map(|f| MapRow {
            field: format!("oidc_map_{}", f.name()),
            label: f.name(),
            value: value(f),
        })
        .collect()
}

impl TokenLoginPage {
    async fn load(
        state: &AppState,
        console: &Console,
        form: Option<&Form>,
    ) -> Result<Self, ConsoleError> {
        let site: SiteView = site::get(&console.ctx(state)).await?;
        let secrets = sso_secrets::list(&console.ctx(state)).await?.secrets;
        let layout = Layout::for_site(&site, console, "authentication", "Token logins");
        let view = site
            .id_token_login
            .unwrap_or_else(|| IdTokenLoginSettings::default().view());
        let (configured, saved) = (view.configured, view.settings);
        let text = |name: &str, saved: String| match form {
            Some(form) => form.get(name).unwrap_or("").to_string(),
            None => saved,
        };
        let algorithms: Vec<&str> = saved.algorithms.iter().map(|a| a.name()).collect();
        let issuer = text("issuer", saved.issuer.clone().unwrap_or_default());
        Ok(Self {
            layout,
            csrf_token: console.csrf_token.clone(),
            configured,
            http_warning: issuer.trim().to_ascii_lowercase().starts_with("http://"),
            issuer,
            client_id: text("client_id", saved.client_id.clone().unwrap_or_default()),
            jwks_uri: text("jwks_uri", saved.jwks_uri.clone().unwrap_or_default()),
            algorithms: text("algorithms", algorithms.join(", ")),
            mapping: map_rows(|f| {
                let stored = saved.mapping.path(f).unwrap_or_default().to_string();
                text(&format!("oidc_map_{}", f.name()), stored)
            }),
            max_age_s: text("max_age_s", saved.max_age_s.to_string()),
            skew_s: text("skew_s", saved.skew_s.to_string()),
            report: None,
            secrets,
            created: None,
        })
    }
}

fn invalid(field: &str, message: &str) -> AdminError {
    AdminError::invalid(field.to_string(), message.to_string())
}

fn seconds(form: &Form, name: &str) -> Result<Option<u64>, AdminError> {
    form.non_empty(name)
        .map(|t| {
            t.trim()
                .parse::<u64>()
                .map_err(|_| invalid(name, "must be a whole number of seconds"))
        })
        .transpose()
}

/// The settings the form describes, as the admin API's `id_token_login` patch.
fn patch_of(form: &Form) -> Result<IdTokenLoginPatch, AdminError> {
    let algorithms = form
        .get("algorithms")
        .unwrap_or("")
        .split([',', ' '])
        .filter(|a| !a.is_empty())
        .map(str::to_string)
        .collect();
    let mapping = ClaimMapping::FIELDS
        .into_iter()
        .filter_map(|f| {
            let claim = form.non_empty(&format!("oidc_map_{}", f.name()))?;
            Some((f.name().to_string(), claim.to_string()))
        })
        .collect();
    Ok(IdTokenLoginPatch {
        issuer: Some(form.get("issuer").unwrap_or("").trim().to_string()),
        client_id: form.non_empty("client_id").map(str::to_string),
        jwks_uri: Some(form.get("jwks_uri").unwrap_or("").trim().to_string()),
        algorithms: Some(algorithms),
        mapping: Some(mapping),
        max_age_s: seconds(form, "max_age_s")?,
        skew_s: seconds(form, "skew_s")?,
    })
}

/// `GET /admin/authentication/tokens`
pub async fn page(
    State(state): State<AppState>,
    console: Console,
    RawQuery(query): RawQuery,
) -> Result<Response, ConsoleError> {
    let query = Form::query(query.as_deref());
    let mut body = TokenLoginPage::load(&state, &console, None).await?;
    body.layout = body.layout.with_flash(&query);
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
    let mut body = TokenLoginPage::load(state, console, Some(form)).await?;
    body.layout = body
        .layout
        .with_error(Some(page::field_message(field, message)));
    Ok(page::render(StatusCode::BAD_REQUEST, &body))
}

/// `POST /admin/authentication/tokens`: saves, validated like the CLI and the admin API.
pub async fn save(
    State(state): State<AppState>,
    ConsolePost { console, form }: ConsolePost,
) -> Result<Response, ConsoleError> {
    let patch = patch_of(&form).map(|id_token| SitePatch {
        id_token_login: Some(id_token),
        ..SitePatch::default()
    });
    match page::save_site_patch(&state, &console, patch).await? {
        None => Ok(page::done("/admin/authentication/tokens", "settings_saved")),
        Some((field, message)) => refused(&state, &console, &form, &field, &message).await,
    }
}

/// `POST /admin/authentication/tokens/test` (`id_token`, `nonce`): the saved settings.
pub async fn test(
    State(state): State<AppState>,
    ConsolePost { console, form }: ConsolePost,
) -> Result<Response, ConsoleError> {
    let request = IdTokenTestRequest {
        id_token: form.get("id_token").unwrap_or("").trim().to_string(),
        nonce: form.non_empty("nonce").map(str::to_string),
    };
    match id_token_test::run(&console.ctx(&state), &state.id_token, &request).await {
        Ok(report) => {
            let mut body = TokenLoginPage::load(&state, &console, None).await?;
            body.report = Some(report_of(report));
            Ok(page::ok(&body))
        }
        Err(AdminError::Invalid { field, message }) => {
            refused(&state, &console, &form, &field, &message).await
        }
        Err(e) => Err(e.into()),
    }
}

fn report_of(report: IdTokenTestReport) -> Report {
    let mapped = report
        .mapped
        .map(|m| {
            vec![
                ("uid", m.uid),
                ("displayName", m.display_name),
                ("email", m.email),
                ("photoURL", m.photo_url.unwrap_or_default()),
            ]
        })
        .unwrap_or_default();
    Report {
        ok: report.outcome == "ok",
        outcome: report.outcome,
        cause: report.cause.unwrap_or_default().to_string(),
        detail: report.detail,
        mapped,
    }
}

/// `POST /admin/authentication/sso-secrets`: a new secret, shown this once.
pub async fn create_secret(
    State(state): State<AppState>,
    ConsolePost { console, .. }: ConsolePost,
) -> Result<Response, ConsoleError> {
    match sso_secrets::create(&console.ctx(&state)).await {
        Ok(created) => {
            let mut body = TokenLoginPage::load(&state, &console, None).await?;
            body.layout.flash =
                Some("The secret was created. Copy it now: it is not shown again.".into());
            let secret = secrecy::ExposeSecret::expose_secret(&created.secret).to_string();
            body.created = Some((created.kid, secret));
            Ok(page::ok(&body))
        }
        Err(AdminError::Conflict(message)) => {
            let mut body = TokenLoginPage::load(&state, &console, None).await?;
            body.layout = body.layout.with_error(Some(message));
            Ok(page::render(StatusCode::CONFLICT, &body))
        }
        Err(e) => Err(e.into()),
    }
}

/// `GET /admin/authentication/sso-secrets/{kid}/delete`: asks first.
pub async fn confirm_delete_secret(
    State(state): State<AppState>,
    console: Console,
    Path(kid): Path<String>,
) -> Result<Response, ConsoleError> {
    let list = sso_secrets::list(&console.ctx(&state)).await?;
    let secret = list
        .secrets
        .iter()
        .find(|s| s.kid == kid)
        .ok_or_else(|| ConsoleError::NotFound("There is no such secret.".into()))?;
    let site = site::get(&console.ctx(&state)).await?;
    let page = Confirm {
        layout: Layout::for_site(&site, &console, "authentication", "Delete an SSO secret"),
        message: format!(
            "Delete the SSO secret {} (created {})? Tokens signed with it are refused at once. This cannot be undone.",
            secret.kid, secret.created_at
        ),
        action: format!("/admin/authentication/sso-secrets/{}/delete", secret.kid),
        button: "Delete the secret",
        back: "/admin/authentication/tokens".into(),
        csrf_token: console.csrf_token.clone(),
    };
    Ok(page::ok(&page))
}

/// `POST /admin/authentication/sso-secrets/{kid}/delete`
pub async fn delete_secret(
    State(state): State<AppState>,
    Path(kid): Path<String>,
    ConsolePost { console, .. }: ConsolePost,
) -> Result<Response, ConsoleError> {
    sso_secrets::delete(&console.ctx(&state), &kid).await?;
    Ok(page::done("/admin/authentication/tokens", "settings_saved").into_response())
}

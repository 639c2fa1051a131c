//! `/admin/general` — the account-handling switches (SPEC §6.1), *API key mandatory*
//! and the allowed origins, one per line.

use askama::Template;
use axum::extract::{RawQuery, State};
use axum::http::StatusCode;
use axum::response::Response;

use super::page::{self, ConsoleError, Form, Layout};
use super::session::{Console, ConsolePost};
use crate::admin::api::site::endpoint_policy;
use crate::admin::site::{self, AccountHandlingPatch, SitePatch, SiteView};
use crate::admin::AdminError;
use crate::app::AppState;

#[derive(Template)]
#[template(path = "console/general.html")]
struct GeneralPage {
    layout: Layout,
    csrf_token: String,
    disable_account_handling: bool,
    disable_avatar_changing: bool,
    disable_display_name_changing: bool,
    api_key_mandatory: bool,
    origins: String,
}

impl GeneralPage {
    fn of(layout: Layout, console: &Console, site: &SiteView) -> Self {
        let a = site.account_handling;
        Self {
            layout,
            csrf_token: console.csrf_token.clone(),
            disable_account_handling: a.disable_account_handling,
            disable_avatar_changing: a.disable_avatar_changing,
            disable_display_name_changing: a.disable_display_name_changing,
            api_key_mandatory: site.api_key_mandatory,
            origins: site.origins.join("\n"),
        }
    }
}

/// `GET /admin/general`
pub async fn page(
    State(state): State<AppState>,
    console: Console,
    RawQuery(query): RawQuery,
) -> Result<Response, ConsoleError> {
    let query = Form::query(query.as_deref());
    let site = site::get(&console.ctx(&state)).await?;
    let layout = Layout::for_site(&site, &console, "general", "General").with_flash(&query);
    Ok(page::ok(&GeneralPage::of(layout, &console, &site)))
}

/// The patch the form describes: every field, since a form sends them all.
fn patch_of(form: &Form) -> SitePatch {
    let origins = form
        .get("origins")
        .unwrap_or("")
        .lines()
        .map(str::trim)
        .filter(|line| !line.is_empty())
        .map(str::to_string)
        .collect();
    SitePatch {
        origins: Some(origins),
        api_key_mandatory: Some(form.checked("api_key_mandatory")),
        account_handling: Some(AccountHandlingPatch {
            disable_account_handling: Some(form.checked("disable_account_handling")),
            disable_avatar_changing: Some(form.checked("disable_avatar_changing")),
            disable_display_name_changing: Some(form.checked("disable_display_name_changing")),
        }),
        ..SitePatch::default()
    }
}

/// `POST /admin/general`
pub async fn save(
    State(state): State<AppState>,
    ConsolePost { console, form }: ConsolePost,
) -> Result<Response, ConsoleError> {
    let patch = patch_of(&form);
    match site::patch(&console.ctx(&state), &patch, endpoint_policy(&state)).await {
        Ok(_) => Ok(page::done("/admin/general", "settings_saved")),
        Err(AdminError::Invalid { field, message }) => {
            // Shown again as typed, with the field at fault named.
            let layout = Layout::of(&state, &console, "general", "General")
                .await?
                .with_error(Some(page::field_message(&field, &message)));
            let page = GeneralPage {
                layout,
                csrf_token: console.csrf_token.clone(),
                disable_account_handling: form.checked("disable_account_handling"),
                disable_avatar_changing: form.checked("disable_avatar_changing"),
                disable_display_name_changing: form.checked("disable_display_name_changing"),
                api_key_mandatory: form.checked("api_key_mandatory"),
                origins: form.get("origins").unwrap_or("").to_string(),
            };
            Ok(page::render(StatusCode::BAD_REQUEST, &page))
        }
        Err(e) => Err(e.into()),
    }
}

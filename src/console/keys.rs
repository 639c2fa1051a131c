//! `/admin/keys` — API keys: the Site ID, the keys, create (secret shown once, with
//! the token request ready to copy) and delete (after a confirmation page).

use askama::Template;
use axum::extract::{Path, RawQuery, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};

use super::page::{self, Confirm, ConsoleError, Form, Layout};
use super::session::{Console, ConsolePost};
use crate::admin::keys::{self, KeyView, NewKey};
use crate::admin::AdminError;
use crate::app::AppState;

/// A key just created, shown once.
struct Created {
    api_key: String,
    prefix: String,
    curl: String,
}

#[derive(Template)]
#[template(path = "console/keys.html")]
struct KeysPage {
    layout: Layout,
    site_id: i64,
    keys: Vec<KeyView>,
    created: Option<Created>,
    csrf_token: String,
    label: String,
}

async fn render(
    state: &AppState,
    console: &Console,
    layout: Layout,
    created: Option<Created>,
    label: String,
    status: StatusCode,
) -> Result<Response, ConsoleError> {
    let list = keys::list(&console.ctx(state)).await?;
    let page = KeysPage {
        layout,
        site_id: console.site_id,
        keys: list.keys,
        created,
        csrf_token: console.csrf_token.clone(),
        label,
    };
    Ok(page::render(status, &page))
}

/// `GET /admin/keys`
pub async fn page(
    State(state): State<AppState>,
    console: Console,
    RawQuery(query): RawQuery,
) -> Result<Response, ConsoleError> {
    let query = Form::query(query.as_deref());
    let layout = Layout::of(&state, &console, "keys", "API keys")
        .await?
        .with_flash(&query);
    render(
        &state,
        &console,
        layout,
        None,
        String::new(),
        StatusCode::OK,
    )
    .await
}

/// `POST /admin/keys` (`label`): the new key's secret, this once.
pub async fn create(
    State(state): State<AppState>,
    ConsolePost { console, form }: ConsolePost,
) -> Result<Response, ConsoleError> {
    let label = form.get("label").unwrap_or("").to_string();
    let layout = Layout::of(&state, &console, "keys", "API keys").await?;
    match keys::create(
        &console.ctx(&state),
        &NewKey {
            label: label.clone(),
        },
    )
    .await
    {
        Ok(key) => {
            let curl = format!(
                "curl --user {}:{} -d grant_type=client_credentials {}/oauth2/token",
                console.site_id,
                key.api_key,
                state.config.public_base()
            );
            let created = Created {
                api_key: key.api_key,
                prefix: key.prefix,
                curl,
            };
            let mut layout = layout;
            layout.flash = Some("The key was created. Copy it now: it is not shown again.".into());
            render(
                &state,
                &console,
                layout,
                Some(created),
                String::new(),
                StatusCode::OK,
            )
            .await
        }
        Err(AdminError::Invalid { field, message }) => {
            let layout = layout.with_error(Some(page::field_message(&field, &message)));
            render(
                &state,
                &console,
                layout,
                None,
                label,
                StatusCode::BAD_REQUEST,
            )
            .await
        }
        Err(e) => Err(e.into()),
    }
}

fn key_id(text: &str) -> Result<i64, ConsoleError> {
    text.parse::<i64>()
        .ok()
        .filter(|id| *id > 0)
        .ok_or_else(|| ConsoleError::NotFound("There is no such key.".into()))
}

/// `GET /admin/keys/{key_id}/delete`: asks first.
pub async fn confirm_delete(
    State(state): State<AppState>,
    console: Console,
    Path(key): Path<String>,
) -> Result<Response, ConsoleError> {
    let key_id = key_id(&key)?;
    let list = keys::list(&console.ctx(&state)).await?;
    let key = list
        .keys
        .iter()
        .find(|k| k.key_id == key_id)
        .ok_or_else(|| ConsoleError::NotFound("There is no such key.".into()))?;
    let page = Confirm {
        layout: Layout::of(&state, &console, "keys", "Delete an API key").await?,
        message: format!(
            "Delete the key {}… ({})? Every access token minted with it stops working at once. This cannot be undone.",
            key.prefix,
            if key.label.is_empty() { "no label" } else { &key.label }
        ),
        action: format!("/admin/keys/{key_id}/delete"),
        button: "Delete the key",
        back: "/admin/keys".into(),
        csrf_token: console.csrf_token.clone(),
    };
    Ok(page::ok(&page))
}

/// `POST /admin/keys/{key_id}/delete`
pub async fn delete(
    State(state): State<AppState>,
    Path(key): Path<String>,
    ConsolePost { console, .. }: ConsolePost,
) -> Result<Response, ConsoleError> {
    let key_id = key_id(&key)?;
    keys::delete(&console.ctx(&state), key_id).await?;
    Ok(page::done("/admin/keys", "key_deleted").into_response())
}

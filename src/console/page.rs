//! What every console page shares: the layout (navigation bar, flash message, error
//! banner), form and query parsing, error pages in the console's look, the
//! confirmation page of destructive actions, and the security headers.

use askama::Template;
use axum::extract::{Request, State};
use axum::http::{header, HeaderMap, HeaderValue, StatusCode};
use axum::middleware::Next;
use axum::response::{Html, IntoResponse, Redirect, Response};

use super::session::Console;
use crate::admin::AdminError;
use crate::app::AppState;
use crate::store::StoreError;

/// One link of the navigation bar.
pub struct NavLink {
    pub href: &'static str,
    pub label: &'static str,
    pub current: bool,
}

const SECTIONS: [(&str, &str, &str); 5] = [
    ("keys", "/admin/keys", "API keys"),
    ("authentication", "/admin/authentication", "Authentication"),
    ("general", "/admin/general", "General"),
    ("users", "/admin/users", "Users"),
    ("audit", "/admin/audit", "Audit log"),
];

/// The navigation bar of a logged-in admin.
pub struct Nav {
    pub site_name: String,
    pub site_id: i64,
    pub csrf_token: String,
    pub links: Vec<NavLink>,
}

/// What the base template shows around a page.
pub struct Layout {
    pub title: String,
    pub nav: Option<Nav>,
    pub flash: Option<String>,
    pub error: Option<String>,
}

impl Layout {
    /// The layout of a page of `section`, for this admin (reads the site's name).
    pub async fn of(
        state: &AppState,
        console: &Console,
        section: &str,
        title: impl Into<String>,
    ) -> Result<Layout, ConsoleError> {
        let site = crate::admin::site::get(&console.ctx(state)).await?;
        Ok(Self::for_site(&site, console, section, title))
    }

    /// [`Layout::of`] for a page that has read its site already (one read, not two).
    pub fn for_site(
        site: &crate::admin::site::SiteView,
        console: &Console,
        section: &str,
        title: impl Into<String>,
    ) -> Layout {
        let links = SECTIONS
            .iter()
            .map(|(key, href, label)| NavLink {
                href,
                label,
                current: *key == section,
            })
            .collect();
        Layout {
            title: title.into(),
            nav: Some(Nav {
                site_name: site.name.clone(),
                site_id: site.site_id,
                csrf_token: console.csrf_token.clone(),
                links,
            }),
            flash: None,
            error: None,
        }
    }

    /// A page outside the logged-in console (login, errors).
    pub fn bare(title: impl Into<String>) -> Layout {
        Layout {
            title: title.into(),
            nav: None,
            flash: None,
            error: None,
        }
    }

    /// Shows the message of a one-shot `?done=` flag of the query, if it is one we set.
    pub fn with_flash(mut self, query: &Form) -> Layout {
        self.flash = query
            .get("done")
            .and_then(flash_message)
            .map(str::to_string);
        self
    }

    pub fn with_error(mut self, error: Option<String>) -> Layout {
        self.error = error;
        self
    }
}

/// The flash messages, by the code a redirect after an action puts in `?done=`.
fn flash_message(code: &str) -> Option<&'static str> {
    Some(match code {
        "key_deleted" => "The key was deleted; tokens minted with it no longer work.",
        "settings_saved" => "The settings were saved.",
        "user_banned" => "The user was banned; their sessions ended.",
        "user_unbanned" => "The ban was lifted.",
        "user_activated" => "The user was activated.",
        "user_deactivated" => "The user was deactivated; their sessions ended.",
        "user_logged_out" => "Every session of the user ended.",
        "session_ended" => "The session ended.",
        "user_deleted" => "The user was deleted.",
        "logged_out" => "You are logged out.",
        _ => return None,
    })
}

/// A redirect after a successful action, with its flash message.
pub fn done(path: &str, code: &str) -> Response {
    let separator = if path.contains('?') { '&' } else { '?' };
    Redirect::to(&format!("{path}{separator}done={code}")).into_response()
}

/// Form fields or query parameters in their order; a name may repeat (header rows).
#[derive(Debug, Clone, Default)]
pub struct Form(pub Vec<(String, String)>);

impl Form {
    pub fn parse(bytes: &[u8]) -> Result<Form, ConsoleError> {
        serde_urlencoded::from_bytes(bytes)
            .map(Form)
            .map_err(|_| ConsoleError::Invalid("the form could not be read".into()))
    }

    /// The query string, leniently (a malformed one counts as empty).
    pub fn query(query: Option<&str>) -> Form {
        Form::parse(query.unwrap_or("").as_bytes()).unwrap_or_default()
    }

    /// The first value of `name`.
    pub fn get(&self, name: &str) -> Option<&str> {
        self.0
            .iter()
            .find(|(k, _)| k == name)
            .map(|(_, v)| v.as_str())
    }

    /// The first value of `name`, trimmed, unless empty.
    pub fn non_empty(&self, name: &str) -> Option<&str> {
        self.get(name).map(str::trim).filter(|v| !v.is_empty())
    }

    /// Every value of `name`, in order.
    pub fn all<'a>(&'a self, name: &'a str) -> impl Iterator<Item = &'a str> + 'a {
        self.0
            .iter()
            .filter(move |(k, _)| k == name)
            .map(|(_, v)| v.as_str())
    }

    /// A checkbox: present and not `off`/`false`.
    pub fn checked(&self, name: &str) -> bool {
        self.get(name)
            .is_some_and(|v| !matches!(v, "" | "off" | "false" | "0"))
    }
}

/// Why a console request failed, shown as a page in the console's look.
#[derive(Debug, thiserror::Error)]
pub enum ConsoleError {
    #[error("{0}")]
    Forbidden(String),
    #[error("{0}")]
    NotFound(String),
    #[error("{0}")]
    Invalid(String),
    #[error("{0}")]
    Conflict(String),
    #[error(transparent)]
    Internal(#[from] anyhow::Error),
}

impl From<AdminError> for ConsoleError {
    fn from(e: AdminError) -> Self {
        match e {
            AdminError::Invalid { field, message } => {
                ConsoleError::Invalid(field_message(&field, &message))
            }
            AdminError::NotFound(what) => ConsoleError::NotFound(what),
            AdminError::Conflict(what) => ConsoleError::Conflict(what),
            AdminError::Store(e) => e.into(),
            AdminError::Internal(e) => ConsoleError::Internal(e),
        }
    }
}

impl From<StoreError> for ConsoleError {
    fn from(e: StoreError) -> Self {
        ConsoleError::Internal(anyhow::Error::new(e))
    }
}

/// "field: message", with the form's name of the field.
pub fn field_message(field: &str, message: &str) -> String {
    let field = field
        .trim_start_matches("settings.")
        .trim_start_matches("cookie_login.");
    format!("{field}: {message}")
}

#[derive(Template)]
#[template(path = "console/error.html")]
struct ErrorPage {
    layout: Layout,
    heading: &'static str,
    message: String,
}

/// What an error page says, kept on its response so that [`with_nav`] can show it again
/// with the navigation bar.
#[derive(Clone)]
struct ErrorShown {
    heading: &'static str,
    message: String,
}

impl ErrorShown {
    fn render(&self, status: StatusCode, layout: Layout) -> Response {
        let page = ErrorPage {
            layout,
            heading: self.heading,
            message: self.message.clone(),
        };
        render(status, &page)
    }
}

impl IntoResponse for ConsoleError {
    fn into_response(self) -> Response {
        let (status, heading, message) = match self {
            ConsoleError::Forbidden(m) => (StatusCode::FORBIDDEN, "Refused", m),
            ConsoleError::NotFound(m) => (StatusCode::NOT_FOUND, "Not found", m),
            ConsoleError::Invalid(m) => (StatusCode::BAD_REQUEST, "Invalid input", m),
            ConsoleError::Conflict(m) => (StatusCode::CONFLICT, "Not possible", m),
            ConsoleError::Internal(e) => {
                tracing::error!(error = ?e, "console request failed");
                (
                    StatusCode::INTERNAL_SERVER_ERROR,
                    "Something went wrong",
                    "The server could not complete this request; nothing was changed by it. Try again in a moment.".to_string(),
                )
            }
        };
        let shown = ErrorShown { heading, message };
        let mut response = shown.render(status, Layout::bare(heading));
        response.extensions_mut().insert(shown);
        response
    }
}

/// An error page shown to a logged-in admin gets the navigation bar, like every other
/// page. Error pages are made where no session is at hand (an extractor's rejection, a
/// `?` deep in a handler, the fallback); the session is read again for those only.
pub async fn with_nav(State(state): State<AppState>, request: Request, next: Next) -> Response {
    let mut cookies = HeaderMap::new();
    for cookie in request.headers().get_all(header::COOKIE) {
        cookies.append(header::COOKIE, cookie.clone());
    }
    let response = next.run(request).await;
    let Some(shown) = response.extensions().get::<ErrorShown>().cloned() else {
        return response;
    };
    let Ok(Some(console)) = super::session::lookup(&state, &cookies).await else {
        return response;
    };
    let Ok(layout) = Layout::of(&state, &console, "", shown.heading).await else {
        return response;
    };
    let (_, body) = shown.render(response.status(), layout).into_parts();
    let (mut parts, _) = response.into_parts();
    parts.headers.remove(header::CONTENT_LENGTH);
    Response::from_parts(parts, body)
}

/// A rendered page with its status.
pub fn render<T: Template>(status: StatusCode, page: &T) -> Response {
    match page.render() {
        Ok(html) => (status, Html(html)).into_response(),
        Err(e) => {
            tracing::error!(error = %e, "a console template failed to render");
            (
                StatusCode::INTERNAL_SERVER_ERROR,
                Html("<!doctype html><title>Error</title><p>The page could not be shown.</p>"),
            )
                .into_response()
        }
    }
}

pub fn ok<T: Template>(page: &T) -> Response {
    render(StatusCode::OK, page)
}

/// Paths of the console (not of the admin JSON API, which keeps its own shape).
pub fn is_console_path(path: &str) -> bool {
    (path == "/admin" || path.starts_with("/admin/")) && !path.starts_with("/admin/api/")
}

/// Unknown paths under `/admin`: a page, except under the JSON API, which keeps its shape.
pub async fn not_found(request: Request) -> Response {
    if !is_console_path(request.uri().path()) {
        return crate::http::not_found(request.uri().clone()).await;
    }
    ConsoleError::NotFound("There is no such page in the console.".into()).into_response()
}

/// A console path with a method it does not take: a page (axum adds `Allow`).
pub async fn method_not_allowed() -> Response {
    let mut response =
        ConsoleError::Invalid("This page does not accept that kind of request.".into())
            .into_response();
    *response.status_mut() = StatusCode::METHOD_NOT_ALLOWED;
    security_headers(response).await
}

/// The confirmation step of a destructive action: a page whose form posts to `action`.
#[derive(Template)]
#[template(path = "console/confirm.html")]
pub struct Confirm {
    pub layout: Layout,
    pub message: String,
    pub action: String,
    pub button: &'static str,
    pub back: String,
    pub csrf_token: String,
}

/// Headers of every console answer (SPEC §7.3). The JSON API keeps its own.
pub async fn security_headers(mut response: Response) -> Response {
    let headers = response.headers_mut();
    for (name, value) in [
        (header::CONTENT_SECURITY_POLICY, "default-src 'self'"),
        (header::X_FRAME_OPTIONS, "DENY"),
        (header::REFERRER_POLICY, "same-origin"),
        (header::X_CONTENT_TYPE_OPTIONS, "nosniff"),
    ] {
        headers.insert(name, HeaderValue::from_static(value));
    }
    if !headers.contains_key(header::CACHE_CONTROL) {
        headers.insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
    }
    response
}

/// Saves a site patch a form described (validated like the CLI and the admin API);
/// the field at fault and why, when it is refused.
pub async fn save_site_patch(
    state: &crate::app::AppState,
    console: &super::session::Console,
    patch: Result<crate::admin::site::SitePatch, crate::admin::AdminError>,
) -> Result<Option<(String, String)>, ConsoleError> {
    use crate::admin::AdminError;
    let policy = crate::admin::api::site::endpoint_policy(state);
    let result = match patch {
        Ok(patch) => crate::admin::site::patch(&console.ctx(state), &patch, policy)
            .await
            .map(drop),
        Err(e) => Err(e),
    };
    match result {
        Ok(()) => Ok(None),
        Err(AdminError::Invalid { field, message }) => Ok(Some((field.into_owned(), message))),
        Err(e) => Err(e.into()),
    }
}

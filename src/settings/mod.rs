//! What a site's admin can set (SPEC §5.1, §5.3, §6.1): the types and their validation,
//! one definition shared by the store (which keeps them as one JSON document per
//! site), the flows that obey them, and the CLI, admin API and console that change them.

pub mod cookie_login;
pub mod id_token;

use serde::{Deserialize, Serialize};

pub use cookie_login::CookieLoginSettings;
pub use id_token::IdTokenLoginSettings;

/// Per-site settings, stored as one JSON document so that new settings need no migration.
/// Unknown fields are ignored and missing ones take their defaults.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(default)]
pub struct SiteSettings {
    /// Password login (`/api/v1/authenticate`) requires a valid `api_key` of the site.
    pub api_key_mandatory: bool,
    /// What the platform's widget lets users do on their own (SPEC §6.1).
    pub account_handling: AccountHandling,
    /// Cookie login (SPEC §5.1); `None` until configured.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub cookie_login: Option<CookieLoginSettings>,
    /// ID-token login (SPEC §5.3); `None` until configured.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub id_token_login: Option<IdTokenLoginSettings>,
}

/// The three switches of SPEC §6.1, all off by default.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(default)]
pub struct AccountHandling {
    /// The platform's own sign-in (the widget's form) is off: the site logs users in.
    pub disable_account_handling: bool,
    pub disable_avatar_changing: bool,
    pub disable_display_name_changing: bool,
}

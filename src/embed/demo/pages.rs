//! The demo site's HTML. Everything interpolated is escaped; the inline scripts are
//! what a real customer site would write around the embed script.

use super::{DemoConfig, DemoUser, DEMO_USERS};

pub(super) fn esc(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for c in text.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&#39;"),
            c => out.push(c),
        }
    }
    out
}

const CSS: &str = "body{font:16px/1.5 system-ui,sans-serif;margin:0;background:#f8fafc;color:#0f172a}\
header{display:flex;flex-wrap:wrap;align-items:center;gap:.4em 1.5em;padding:.8em 1.5em;background:#1e293b;color:#fff}\
header a{color:#e2e8f0;text-decoration:none}header .brand{font-weight:700;font-size:1.2em;color:#fff}\
header form{margin:0;display:flex;flex-wrap:wrap;gap:.4em}.bar{margin-left:auto;display:flex;flex-wrap:wrap;gap:.6em;align-items:center;min-width:0}\
#platform-user{color:#a7f3d0;font-size:.9em}\
@media (max-width:30em){header{padding:.6em .8em}.bar{margin-left:0;width:100%}.bar input{width:8em}}\
.bar input,.bar select{padding:.3em}main{max-width:52em;margin:1.5em auto;padding:0 1.5em}\
.card{background:#fff;border:1px solid #e2e8f0;border-radius:12px;padding:1em 1.5em;margin:1em 0}\
#events{font:13px/1.4 ui-monospace,monospace;background:#0f172a;color:#a7f3d0;padding:.8em 2.5em;border-radius:8px;min-height:2em}\
.hint{color:#64748b;font-size:.9em}.flash{outline:3px solid #f59e0b}\
.card,#events li{overflow-wrap:anywhere}";

pub(super) fn layout(title: &str, user: Option<&DemoUser>, return_to: &str, body: &str) -> String {
    let bar = match user {
        Some(user) => format!(
            "<span id=\"site-user\">Signed in to Acme as <b>{name}</b></span>\
             <form id=\"site-logout\" method=\"post\" action=\"/logout\">\
             <input type=\"hidden\" name=\"return_to\" value=\"{back}\">\
             <button type=\"submit\">Sign out</button></form>",
            name = esc(user.name),
            back = esc(return_to)
        ),
        None => {
            let options: String = DEMO_USERS
                .iter()
                .map(|u| {
                    format!(
                        "<option value=\"{}\">{}</option>",
                        esc(u.username),
                        esc(u.name)
                    )
                })
                .collect();
            format!(
                "<form id=\"site-login\" method=\"post\" action=\"/login\">\
                 <select name=\"username\" id=\"username\">{options}</select>\
                 <input type=\"password\" name=\"password\" placeholder=\"any password\" value=\"demo\">\
                 <input type=\"hidden\" name=\"return_to\" value=\"{back}\">\
                 <button type=\"submit\">Sign in to Acme</button></form>",
                back = esc(return_to)
            )
        }
    };
    format!(
        "<!doctype html><html lang=\"en\"><head><meta charset=\"utf-8\">\
         <meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">\
         <title>{title} · Acme News (Tessera demo)</title><style>{CSS}</style></head><body>\
         <header><a class=\"brand\" href=\"/\">Acme News</a><a href=\"/cookie\">Cookie login</a>\
         <a href=\"/server\">Server-side login</a><a href=\"/native\">Native sign-in</a><a href=\"/id-token\">ID-token login</a><div class=\"bar\">{bar}\
         <span id=\"platform-user\"></span></div></header>\
         <main>{body}</main></body></html>",
        title = esc(title)
    )
}

/// Records every `authentication` event in `window.__events` and in the page's log, and
/// shows in the header who the platform says is signed in, as it changes.
pub(super) const EVENT_LOG_SCRIPT: &str = r#"<script>
window.__events = [];
window.tesseraQ = window.tesseraQ || [];
window.tesseraQ.push(function () {
  ['required', 'login', 'logout', 'failure'].forEach(function (event) {
    tessera.$subscribe('authentication', event, function (data) {
      window.__events.push({ event: event, data: data === undefined ? null : data });
      var li = document.createElement('li');
      li.textContent = event + (data === undefined ? '' : ' ' + JSON.stringify(data));
      document.getElementById('events').appendChild(li);
    });
  });
  function showPlatformUser() {
    var user = tessera.user();
    document.getElementById('platform-user').textContent =
      user ? 'Tessera: ' + (user.name || user.user_id) : 'Tessera: signed out';
  }
  tessera.$subscribe('authentication', 'login', showPlatformUser);
  tessera.$subscribe('authentication', 'logout', showPlatformUser);
  showPlatformUser();
});
</script>"#;

/// [`EVENT_LOG_SCRIPT`], then the site wired to the platform the way the integration
/// guide recommends for a site that handles accounts itself.
pub(super) fn integration_script(return_to: &str) -> String {
    format!(
        r#"{EVENT_LOG_SCRIPT}<script>
window.tesseraQ.push(function () {{
  // "Login required" opens the site's own login form instead of the platform's.
  tessera.$prepublish(function (channel, event) {{
    if (channel === 'authentication' && event === 'required') {{
      var form = document.getElementById('site-login');
      if (form) {{ form.classList.add('flash'); document.getElementById('username').focus(); }}
      else location.href = '{back}?renew=1';
      return false;
    }}
  }});
  // Logging out of the platform logs out of the site too.
  tessera.$subscribe('authentication', 'logout', function () {{
    if (document.cookie.indexOf('acme_sid=') < 0) return;
    fetch('/logout', {{ method: 'POST' }}).then(function () {{
      var bar = document.getElementById('site-user');
      if (bar) bar.textContent = 'Signed out of Acme';
      var form = document.getElementById('site-logout');
      if (form) form.remove();
    }});
  }});
}});
// Signing out of the site ends the platform session first (the guide's logout promise).
document.addEventListener('submit', function (e) {{
  if (e.target.id !== 'site-logout' || !window.tessera || !tessera.user()) return;
  e.preventDefault();
  tessera.logout().catch(function () {{}}).then(function () {{ e.target.submit(); }});
}});
</script>"#,
        back = esc(return_to)
    )
}

pub(super) fn events_card() -> &'static str {
    "<div class=\"card\"><h3>Events on channel <code>authentication</code></h3><ol id=\"events\"></ol></div>"
}

pub fn index(user: Option<&DemoUser>) -> String {
    let body = "<div class=\"card\"><h1>Acme News — a Tessera demo</h1>\
        <p>Acme News is a customer site with its own login. Sign in with the form at the top \
        (users <b>ada</b>, <b>grace</b> and <b>mallory</b>, any password), then open:</p><ul>\
        <li><a href=\"/cookie\">Cookie login</a>: the widget reads Acme's <code>acme_sid</code> cookie and \
        Tessera verifies it against <code>/users/validate?sid=</code>. Sign in, switch users or sign \
        out in another tab and watch the widget follow.</li>\
        <li><a href=\"/server\">Server-side login</a>: Acme's server asks Tessera's accounts API for a \
        session and writes <code>data-uid</code>/<code>data-sid</code> into the script tag.</li>\
        <li><a href=\"/native\">Native sign-in</a>: Acme Community lets the platform handle accounts: \
        the widget signs its own users in and lets them change their name and avatar.</li>\
        <li><a href=\"/id-token\">ID-token login</a>: Acme acts as its own OpenID provider; its server \
        signs an ID token for you and the widget hands it to Tessera.</li></ul></div>";
    layout("Home", user, "/", body)
}

/// The embed tag for Tessera site `site_id` (the demo plays two: see `native.rs`).
pub(super) fn embed_tag(config: &DemoConfig, site_id: i64, server: Option<(i64, &str)>) -> String {
    let login = server
        .map(|(uid, sid)| format!(" data-uid=\"{uid}\" data-sid=\"{}\"", esc(sid)))
        .unwrap_or_default();
    format!(
        "<script id=\"tessera-platform\" async src=\"{base}/embed.js\" data-site=\"{site}\"{login}></script>",
        base = esc(&config.tessera_url),
        site = site_id
    )
}

pub fn cookie_page(config: &DemoConfig, user: Option<&DemoUser>) -> String {
    let body = format!(
        "<div class=\"card\"><h2>Comments</h2><div class=\"tessera-identity\"></div>\
         <p class=\"hint\">Cookie login: no <code>data-sid</code>; the widget logs in from the site's cookie \
         without a click, and follows it when it changes or disappears.</p></div>{events}{script}{tag}",
        events = events_card(),
        script = integration_script("/cookie"),
        tag = embed_tag(config, config.site_id, None)
    );
    layout("Cookie login", user, "/cookie", &body)
}

pub fn server_page(
    config: &DemoConfig,
    user: Option<&DemoUser>,
    session: Option<(i64, &str)>,
    error: Option<&str>,
) -> String {
    let note = match error {
        Some(e) => format!(
            "<p class=\"hint\">Tessera refused the server-side login: {}</p>",
            esc(e)
        ),
        None => String::new(),
    };
    let body = format!(
        "<div class=\"card\"><h2>Comments</h2><div class=\"tessera-identity\"></div>{note}\
         <p class=\"hint\">Server-side login: Acme's server called <code>POST /rest/v1/accounts/login</code> \
         and put the session into the script tag.</p></div>{events}{script}{tag}",
        events = events_card(),
        script = integration_script("/server"),
        tag = embed_tag(config, config.site_id, session)
    );
    layout("Server-side login", user, "/server", &body)
}

pub fn message(text: &str, back: &str) -> String {
    let body = format!(
        "<div class=\"card\"><p>{}</p><p><a href=\"{}\">Back</a></p></div>",
        esc(text),
        esc(back)
    );
    layout("Sign in", None, back, &body)
}

pub fn avatar_svg(user: &DemoUser) -> String {
    let initial = user.name.chars().next().unwrap_or('?');
    format!(
        "<svg xmlns=\"http://www.w3.org/2000/svg\" viewBox=\"0 0 64 64\"><rect width=\"64\" height=\"64\" fill=\"{}\"/>\
         <text x=\"32\" y=\"42\" font-family=\"sans-serif\" font-size=\"30\" fill=\"#fff\" text-anchor=\"middle\">{}</text></svg>",
        esc(user.color),
        esc(&initial.to_string())
    )
}

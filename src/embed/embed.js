/* Tessera embed script (SPEC §6). Plain JavaScript, no build step, served by GET /embed.js.
 * <script id="tessera-platform" src=".../embed.js" data-site="ID" [data-uid data-sid]></script>
 * Secrets: the platform session id lives in memory and in sessionStorage (cookie login, so a
 * reload reuses it); never in localStorage. Server data is rendered with textContent only. */
(function () {
  'use strict';
  if (window.tessera && window.tessera.__tessera) return; // included twice: keep the first

  var script = document.currentScript || document.getElementById('tessera-platform');
  if (!script) { console.error('tessera: cannot find its <script> tag'); return; }
  var base = new URL(script.src, location.href).origin;
  var siteId = script.getAttribute('data-site');
  var dataUid = script.getAttribute('data-uid');
  var dataSid = script.getAttribute('data-sid');
  var storeKey = 'tessera:' + siteId;

  var prepublishers = [];
  var subscribers = {};
  var state = { user: null, sid: null, mode: dataSid ? 'server' : null, cookieName: null,
    cookie: null, failure: null, busy: true, reverifyAt: null, pending: null,
    switches: null, panel: null, native: false, focus: null };

  // ---- events -------------------------------------------------------------------------
  function $prepublish(fn) {
    prepublishers.push(fn);
    return function () { remove(prepublishers, fn); };
  }
  function $subscribe(channel, event, fn) {
    var key = channel + '/' + event;
    (subscribers[key] = subscribers[key] || []).push(fn);
    return function () { remove(subscribers[key] || [], fn); };
  }
  // Prepublishers may cancel (return false) or rewrite ({channel, event, args}) an event.
  function $publish(channel, event) {
    var args = Array.prototype.slice.call(arguments, 2);
    for (var i = 0; i < prepublishers.length; i++) {
      var r = call(prepublishers[i], [channel, event].concat(args));
      if (r === false) return false;
      if (r && typeof r === 'object') {
        if (typeof r.channel === 'string') channel = r.channel;
        if (typeof r.event === 'string') event = r.event;
        if (Array.isArray(r.args)) args = r.args;
      }
    }
    var list = (subscribers[channel + '/' + event] || []).slice();
    for (var j = 0; j < list.length; j++) call(list[j], args);
    return true;
  }
  // A failing handler must not stop the others: report it asynchronously.
  function call(fn, args) {
    try { return fn.apply(null, args); } catch (e) { setTimeout(function () { throw e; }); }
  }
  function remove(list, fn) { var i = list.indexOf(fn); if (i >= 0) list.splice(i, 1); }

  // ---- HTTP ---------------------------------------------------------------------------
  function request(method, path, body, sid) {
    var headers = {};
    if (sid) headers['X-Tessera-Session'] = sid;
    if (body) headers['Content-Type'] = 'application/json';
    return fetch(base + path, {
      method: method, headers: headers, body: body ? JSON.stringify(body) : undefined,
      credentials: 'omit', cache: 'no-store'
    }).then(function (res) {
      return res.json().catch(function () { return {}; }).then(function (json) {
        return { status: res.status, body: json };
      });
    });
  }

  // ---- state --------------------------------------------------------------------------
  function saved() {
    try { return JSON.parse(sessionStorage.getItem(storeKey) || 'null'); } catch (e) { return null; }
  }
  function save(value) {
    try {
      if (value) sessionStorage.setItem(storeKey, JSON.stringify(value));
      else sessionStorage.removeItem(storeKey);
    } catch (e) { /* storage disabled: memory only */ }
  }
  function publicUser(u) {
    return { user_id: u.user_id, name: u.name, photo_url: u.photo_url || null };
  }
  function setUser(user, sid, reverifyAt) {
    var same = state.user && state.user.user_id === user.user_id; // a re-verification
    state.user = user; state.sid = sid; state.failure = null; state.busy = false;
    scheduleReverify(reverifyAt);
    persist();
    render();
    if (!same) $publish('authentication', 'login', publicUser(user));
  }
  // What a reload may reuse: cookie login's session (checked against the cookie), or
  // one the widget's own sign-in started.
  function persist() {
    if (state.mode === 'cookie') {
      save({ sid: state.sid, cookie: fingerprint(state.cookie), reverify_at: state.reverifyAt,
        user: state.user, native: state.native });
    } else if (state.native) save({ sid: state.sid, native: true, user: state.user });
  }
  function clearUser(publishLogout) {
    var had = !!state.user;
    state.user = null; state.sid = null; state.busy = false; state.native = false; state.panel = null;
    scheduleReverify(null);
    render();
    if (publishLogout && had) $publish('authentication', 'logout');
  }
  function fail(body, status) {
    var f = { error_key: status === 403 && body.error === 'user_banned' ? 'login_banned'
      : status === 401 ? 'login_failed' : (body.error || 'login_unavailable') };
    if (f.error_key === 'login_banned') {
      f.is_permanent = !!body.is_permanent; f.end_date = body.end_date == null ? null : body.end_date;
      f.reason = body.reason || '';
    }
    state.failure = f;
    clearUser(false);
    $publish('authentication', 'failure', f);
  }
  // Ends a session on the server without telling subscribers (a replaced session).
  function endQuietly(sid) {
    if (sid) request('POST', '/rest/v1/session/logout', null, sid).catch(function () {});
  }

  // ---- server-side login (data-sid) -----------------------------------------------------
  function lookup(sid) {
    return request('GET', '/rest/v1/session', null, sid).then(function (r) {
      if (r.status === 200 && (!dataUid || String(r.body.user_id) === dataUid)) {
        var at = r.body.reverify_at ? Date.parse(r.body.reverify_at) : null;
        setUser({ user_id: r.body.user_id, name: r.body.name, photo_url: r.body.photo_url }, sid, at);
        return true;
      }
      return false;
    });
  }

  // ---- cookie login ---------------------------------------------------------------------
  function readCookie(name) {
    var parts = document.cookie ? document.cookie.split('; ') : [];
    for (var i = 0; i < parts.length; i++) {
      var eq = parts[i].indexOf('=');
      if (parts[i].slice(0, eq) === name) return parts[i].slice(eq + 1) || null;
    }
    return null;
  }
  // Change detection only (FNV-1a): the site's cookie itself is not copied into storage.
  function fingerprint(value) {
    if (!value) return null;
    var h = 0x811c9dc5;
    for (var i = 0; i < value.length; i++) { h ^= value.charCodeAt(i); h = Math.imul(h, 0x01000193); }
    return (h >>> 0).toString(16) + ':' + value.length;
  }
  function cookieLogin() {
    var cookie = readCookie(state.cookieName);
    var previous = state.sid;
    state.cookie = cookie;
    if (!cookie) { endQuietly(previous); save(null); clearUser(true); return Promise.resolve(); }
    if (!previous) { state.busy = true; render(); }
    state.pending = cookie;
    return request('POST', '/rest/v1/users/login/cookie', { site_id: Number(siteId), cookie: cookie })
      .then(function (r) {
        if (state.pending === cookie) state.pending = null;
        if (state.cookie !== cookie) { // the cookie changed meanwhile: a newer login runs
          if (r.status === 200) endQuietly(r.body.session);
          return;
        }
        if (r.status >= 500 && previous && previous === state.sid) {
          scheduleReverify(Date.now() + 60000); // verification is down: keep the user, retry
          return;
        }
        if (previous === state.sid) endQuietly(previous);
        if (r.status === 200) {
          setUser(r.body.user, r.body.session, r.body.reverify_at ? Date.parse(r.body.reverify_at) : null);
        } else {
          if (r.status < 500) save({ failed: fingerprint(cookie) });
          fail(r.body, r.status);
        }
      }, function () {
        if (state.pending === cookie) state.pending = null;
        if (state.cookie !== cookie) return;
        if (previous && previous === state.sid) scheduleReverify(Date.now() + 60000);
        else fail({ error: 'login_unavailable' }, 0);
      });
  }
  // Checked by the once-a-second poll against the wall clock, so a machine that slept
  // or a throttled background tab still re-verifies as soon as it runs again.
  function scheduleReverify(at) { state.reverifyAt = at && state.mode === 'cookie' ? at : null; }
  // The site's cookie is the truth: gone means logged out, a new value means another login.
  function watchCookie() {
    setInterval(function () {
      var now = readCookie(state.cookieName);
      if (now === state.cookie) {
        if (state.reverifyAt && !state.pending && Date.now() >= state.reverifyAt) cookieLogin();
        return;
      }
      if (!now) { state.cookie = null; var sid = state.sid; save(null); clearUser(true); endQuietly(sid); }
      else cookieLogin();
    }, 1000);
  }
  function startCookieMode() {
    state.cookie = readCookie(state.cookieName);
    var s = saved();
    var fp = fingerprint(state.cookie);
    // A session of the widget's own sign-in lasts while the site's cookie stays as it was.
    state.native = !!(s && s.native && s.sid && s.cookie === fp);
    if (!state.cookie && !state.native) {
      if (s && s.sid) endQuietly(s.sid);
      save(null); clearUser(false); watchCookie(); return;
    }
    // Logged out from the widget, or refused, with this very cookie: wait for a new one.
    if (s && (s.suppressed === fp || s.failed === fp)) { clearUser(false); watchCookie(); return; }
    var reuse = s && s.sid && s.cookie === fp && (!s.reverify_at || s.reverify_at > Date.now());
    var first = reuse ? lookup(s.sid).then(function (ok) { if (!ok) return cookieLogin(); }, cookieLogin)
      : (s && s.sid ? (endQuietly(s.sid), cookieLogin()) : cookieLogin());
    first.catch(function () { fail({ error: 'login_unavailable' }, 0); }).then(watchCookie);
  }

  // ---- token login (§5.3-5.4); a reload reuses the token's session
  function tokenLogin(o) {
    o = o || {};
    var id = !!o.idToken, t = String(o.idToken || o.ssoToken || ''), fp = fingerprint(t), s = saved() || {}, prev = state.sid;
    if (!t) return Promise.reject(new Error('tessera: no token'));
    state.mode = 'token';
    if (s.token === fp && !s.sid) { clearUser(false); return Promise.resolve(null); } // spent
    state.busy = true; render();
    return (s.token === fp ? lookup(s.sid) : Promise.resolve(false)).then(function (ok) {
      if (ok) return publicUser(state.user);
      return request('POST', '/rest/v1/users/login/' + (id ? 'id-token' : 'sso-token'), id
        ? { site_id: +siteId, id_token: t, nonce: o.nonce || undefined } : { site_id: +siteId, token: t }).then(function (r) {
        if (prev && prev !== r.body.session) endQuietly(prev);
        if (r.status !== 200) { save(null); fail(r.body, r.status); return null; }
        save({ sid: r.body.session, token: fp }); setUser(r.body.user, r.body.session, null);
        return publicUser(r.body.user);
      });
    }).catch(function () { fail({ error: 'login_unavailable' }, 0); return null; });
  }

  // ---- public actions -----------------------------------------------------------------
  function logout() {
    var sid = state.sid;
    if (state.mode === 'cookie') save({ suppressed: fingerprint(state.cookie) });
    else if (state.mode === 'token') save({ token: (saved() || {}).token });
    else if (state.native) save(null);
    if (!sid) { clearUser(true); return Promise.resolve(); }
    return request('POST', '/rest/v1/session/logout', null, sid).then(function (r) {
      clearUser(true);
      if (r.status !== 200 && r.status !== 401) throw new Error('tessera: logout failed (' + r.status + ')');
    }, function (e) { clearUser(true); throw e; });
  }
  function requireLogin(e) {
    if (state.panel === 'signin') { closePanel(e, '.tsr-in'); return; }
    if (!$publish('authentication', 'required')) return;
    // Not intercepted by the site: the widget's own form, if the site lets it sign in.
    if (allowed('disable_account_handling')) { openPanel('signin', e, 'input'); return; }
    // Otherwise, with cookie login, try the site's cookie again.
    if (state.mode === 'cookie' && readCookie(state.cookieName)) { save(null); cookieLogin(); }
  }

  // ---- widget -------------------------------------------------------------------------
  var DEFAULT_AVATAR = 'data:image/svg+xml,' + encodeURIComponent(
    '<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 32 32"><rect width="32" height="32" fill="#cbd5e1"/>' +
    '<circle cx="16" cy="12" r="6" fill="#f8fafc"/><path d="M4 30c2-8 8-10 12-10s10 2 12 10z" fill="#f8fafc"/></svg>');
  var CSS = '.tsr-w{display:inline-flex;align-items:center;gap:.6em;font:14px/1.3 system-ui,sans-serif;' +
    'color:#0f172a;background:#fff;border:1px solid #e2e8f0;border-radius:999px;padding:4px 6px 4px 4px}' +
    '.tsr-w img{width:32px;height:32px;border-radius:50%;object-fit:cover}' +
    '.tsr-w .tsr-name{font-weight:600;max-width:16em;overflow:hidden;text-overflow:ellipsis;white-space:nowrap}' +
    '.tsr-w button{font:inherit;border:0;border-radius:999px;padding:6px 12px;cursor:pointer;background:#4f46e5;color:#fff}' +
    '.tsr-w button.tsr-out{background:#f1f5f9;color:#334155}' +
    '.tsr-w .tsr-msg{color:#b91c1c;max-width:22em}' +
    '.tsr-w.tsr-open{flex-wrap:wrap;border-radius:12px;max-width:24em}' +
    '.tsr-f{flex:1 1 100%;display:flex;flex-direction:column;gap:.5em;margin:.3em}' +
    '.tsr-f label{display:flex;flex-direction:column;gap:.2em;font-size:13px;color:#334155}' +
    '.tsr-f input{font:inherit;padding:6px 8px;border:1px solid #94a3b8;border-radius:6px;color:#0f172a;background:#fff}' +
    '.tsr-f .tsr-err{margin:0;min-height:1.3em;color:#b91c1c}.tsr-f .tsr-row{display:flex;gap:.5em}' +
    '.tsr-w button:focus-visible,.tsr-f input:focus-visible{outline:2px solid #4f46e5;outline-offset:2px}' +
    '.tsr-w button[disabled]{opacity:.6;cursor:wait}';
  function el(tag, cls, text) {
    var e = document.createElement(tag);
    if (cls) e.className = cls;
    if (text != null) e.textContent = text;
    return e;
  }
  function safePhoto(url) { return typeof url === 'string' && /^https?:\/\//i.test(url) ? url : DEFAULT_AVATAR; }
  function widget() {
    var w = el('div', 'tsr-w');
    if (state.user) {
      w.setAttribute('data-state', 'logged-in');
      var img = el('img'); img.alt = ''; img.src = safePhoto(state.user.photo_url);
      img.onerror = function () { img.onerror = null; img.src = DEFAULT_AVATAR; };
      var out = el('button', 'tsr-out', 'Log out'); out.type = 'button';
      out.onclick = function () { logout().catch(function (e) { console.error(e); }); };
      w.appendChild(img); w.appendChild(el('span', 'tsr-name', state.user.name));
      if (editable()) w.appendChild(toggle('tsr-out tsr-edit', 'Profile', 'profile'));
      w.appendChild(out);
      if (state.panel === 'profile' && editable()) { w.className += ' tsr-open'; w.appendChild(profileForm()); }
    } else if (state.busy) {
      w.setAttribute('data-state', 'loading'); w.appendChild(el('span', 'tsr-name', '…'));
    } else {
      w.setAttribute('data-state', 'logged-out');
      var av = el('img'); av.alt = ''; av.src = DEFAULT_AVATAR; w.appendChild(av);
      if (state.failure && state.failure.error_key === 'login_banned') {
        w.appendChild(el('span', 'tsr-msg', 'Banned: ' + (state.failure.reason || 'no reason given')));
      } else {
        var inBtn = el('button', 'tsr-in', 'Log in'); inBtn.type = 'button';
        inBtn.onclick = requireLogin; w.appendChild(inBtn);
        if (allowed('disable_account_handling')) {
          inBtn.setAttribute('aria-expanded', String(state.panel === 'signin'));
          if (state.panel === 'signin') { w.className += ' tsr-open'; w.appendChild(signInForm()); }
        }
      }
    }
    return w;
  }
  function render() {
    var nodes = document.querySelectorAll('.tessera-identity');
    for (var i = 0; i < nodes.length; i++) {
      while (nodes[i].firstChild) nodes[i].removeChild(nodes[i].firstChild);
      nodes[i].appendChild(widget());
    }
    var f = state.focus; state.focus = null; // where the user's action left off
    var target = f && (f.node && f.node.isConnected ? f.node : document).querySelector('.tessera-identity ' + f.sel);
    if (target) target.focus();
  }

  // ---- account handling (SPEC §6.1): the widget's own sign-in and profile panel -----------
  // The site's switches, from the embed configuration; until known (or if it cannot be
  // read) everything counts as switched off: no control is shown that might be refused.
  function allowed(name) { return !!state.switches && state.switches[name] === false; }
  function editable() { return allowed('disable_display_name_changing') || allowed('disable_avatar_changing'); }
  function loadSwitches() {
    return request('GET', '/rest/v1/sites/' + encodeURIComponent(siteId) + '/embed-config').then(function (r) {
      var a = r.status === 200 && r.body.account_handling;
      if (a && typeof a === 'object') { state.switches = a; render(); }
      return r;
    });
  }
  // A session the widget's own form started survives a reload (sessionStorage only).
  function startNativeMode() {
    state.mode = 'server';
    var s = saved();
    if (!s || !s.native || !s.sid) { clearUser(false); return; }
    state.native = true;
    lookup(s.sid).then(function (ok) { if (!ok) { save(null); clearUser(false); } },
      function () { clearUser(false); });
  }
  // Panels re-render the widget; focus follows to `sel` inside the widget clicked.
  function openPanel(which, e, sel) {
    state.panel = which;
    state.focus = { node: e && e.target.closest && e.target.closest('.tessera-identity'), sel: sel };
    render();
  }
  function closePanel(e, sel) { openPanel(null, e, sel); }
  function toggle(cls, label, which) {
    var b = el('button', cls, label); b.type = 'button';
    b.setAttribute('aria-expanded', String(state.panel === which));
    b.onclick = function (e) { if (state.panel === which) closePanel(e, '.tsr-edit'); else openPanel(which, e, 'input'); };
    return b;
  }
  var ids = 0;
  // A small form: labelled inputs, an error line read out as it changes, submit and
  // Cancel (Escape too, focus back to `back`).
  function panel(label, submit, back) {
    var form = el('form', 'tsr-f'), err = el('p', 'tsr-err');
    form.setAttribute('aria-label', label);
    err.id = 'tsr-err-' + (++ids); err.setAttribute('role', 'alert');
    var row = el('div', 'tsr-row'), go = el('button', null, submit), cancel = el('button', 'tsr-out', 'Cancel');
    go.type = 'submit'; cancel.type = 'button';
    cancel.onclick = function (e) { closePanel(e, back); };
    form.onkeydown = function (e) { if (e.key === 'Escape') closePanel(e, back); };
    row.appendChild(go); row.appendChild(cancel);
    return {
      form: form,
      input: function (text, type, autocomplete, value, required) {
        var l = el('label'), input = el('input');
        input.type = type; input.autocomplete = autocomplete; input.required = required;
        input.value = value || ''; input.setAttribute('aria-describedby', err.id);
        l.appendChild(el('span', null, text)); l.appendChild(input); form.appendChild(l);
        return input;
      },
      done: function () { form.appendChild(err); form.appendChild(row); return form; },
      // Runs `send` (a Promise of an error message, or of nothing once done) with the
      // form disabled; a message goes to the error line, and focus back to `retry`.
      run: function (send, retry) {
        var all = form.querySelectorAll('input,button');
        var busy = function (on) {
          for (var i = 0; i < all.length; i++) all[i].disabled = on;
          form.setAttribute('aria-busy', String(on));
        };
        busy(true); err.textContent = '';
        send().then(function (message) {
          if (message) { busy(false); err.textContent = message; retry.focus(); }
        });
      }
    };
  }
  function signInForm() {
    var p = panel('Sign in', 'Sign in', '.tsr-in');
    var user = p.input('User name or email', 'text', 'username', '', true);
    var pass = p.input('Password', 'password', 'current-password', '', true);
    p.form.onsubmit = function (e) {
      e.preventDefault();
      p.run(function () { return signIn(user.value, pass.value, e); }, pass);
      pass.value = ''; // the password lives in the request only
    };
    return p.done();
  }
  function signIn(username, password, e) {
    var body = { site_id: Number(siteId), username: username, password: password };
    return request('POST', '/rest/v1/users/login/password', body).then(function (r) {
      if (r.status === 200) {
        state.native = true; state.panel = null;
        state.focus = { node: e.target.closest('.tessera-identity'), sel: 'button' };
        setUser(r.body.user, r.body.session, null); // publishes authentication/login
        return null;
      }
      if (r.body.error === 'user_banned') { fail(r.body, r.status); return null; }
      return r.status === 401 ? 'Wrong user name or password.'
        : r.status === 429 ? 'Too many attempts. Please wait a few minutes and try again.'
        : r.body.error_description || 'Signing in failed (' + r.status + ').';
    }, unreachable);
  }
  function unreachable() { return 'Cannot reach the sign-in service. Please try again.'; }
  function profileForm() {
    var p = panel('Your profile', 'Save', '.tsr-edit'), u = state.user;
    var name = allowed('disable_display_name_changing') && p.input('Display name', 'text', 'nickname', u.name, true);
    var photo = allowed('disable_avatar_changing') && p.input('Avatar URL (https://…)', 'url', 'photo', u.photo_url, false);
    p.form.onsubmit = function (e) {
      e.preventDefault();
      var change = {}, any = false;
      if (name && name.value.trim() !== u.name) { change.display_name = name.value; any = true; }
      if (photo && photo.value.trim() !== (u.photo_url || '')) { change.photo_url = photo.value.trim(); any = true; }
      if (!any) { closePanel(e, '.tsr-edit'); return; }
      p.run(function () { return saveProfile(change, e); }, name || photo);
    };
    return p.done();
  }
  function saveProfile(change, e) {
    return request('PATCH', '/rest/v1/session/profile', change, state.sid).then(function (r) {
      if (r.status === 200) {
        state.user = { user_id: state.user.user_id, name: r.body.name, photo_url: r.body.photo_url };
        persist(); closePanel(e, '.tsr-edit');
        return null;
      }
      if (r.status === 401) { fail({ error: 'session_invalid' }, 0); return null; }
      var d = r.body.error_description || ''; // the server's sentence names its field
      return /^photo_url /.test(d) ? 'The avatar must be an https:// URL (or empty, for none).'
        : /^display_name /.test(d) ? 'The display name ' + d.slice(13) + '.'
        : d || 'The change failed (' + r.status + ').';
    }, unreachable);
  }

  // ---- API and start ------------------------------------------------------------------
  var api = {
    __tessera: true,
    $prepublish: $prepublish, $subscribe: $subscribe, $publish: $publish, logout: logout, login: tokenLogin,
    // Viafoura-style alias: publish('user.logout') logs out and returns the same Promise.
    publish: function (name) {
      if (name === 'user.logout') return logout();
      return Promise.reject(new Error('tessera: unknown action ' + name));
    },
    user: function () { return state.user ? publicUser(state.user) : null; },
    render: render
  };
  window.tessera = api;

  function drainQueue() {
    var queued = Array.isArray(window.tesseraQ) ? window.tesseraQ : [];
    window.tesseraQ = { push: function () {
      for (var i = 0; i < arguments.length; i++) if (typeof arguments[i] === 'function') call(arguments[i], [api]);
    } };
    window.tesseraQ.push.apply(window.tesseraQ, queued);
  }

  function start() {
    var style = el('style', null, CSS); document.head.appendChild(style);
    drainQueue();
    render();
    // Widgets added later (single-page sites) render as soon as they appear.
    if (window.MutationObserver) {
      new MutationObserver(function () {
        var nodes = document.querySelectorAll('.tessera-identity');
        for (var i = 0; i < nodes.length; i++) if (!nodes[i].firstChild) { render(); return; }
      }).observe(document.body, { childList: true, subtree: true });
    }
    if (!siteId) { state.busy = false; render(); console.error('tessera: data-site is missing'); return; }
    if (dataSid) {
      loadSwitches().catch(function () {}); // unreadable: the switches stay off
      lookup(dataSid).then(function (ok) {
        if (!ok) fail({ error: 'session_invalid' }, 0);
      }, function () { fail({ error: 'login_unavailable' }, 0); });
      return;
    }
    var d = script.dataset;
    if (d.idToken || d.ssoToken) { loadSwitches().catch(function () {}); tokenLogin(d); return; }
    loadSwitches().then(function (r) {
      if (r.status === 200 && r.body.login_mode === 'cookie' && r.body.cookie_name) {
        state.mode = 'cookie'; state.cookieName = r.body.cookie_name; startCookieMode();
      } else startNativeMode();
    }, function () { state.mode = 'server'; clearUser(false); });
  }
  if (document.readyState === 'loading') document.addEventListener('DOMContentLoaded', start);
  else start();
})();

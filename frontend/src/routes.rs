//! Client-side routing: the app's pages, their paths, and navigation.
//!
//! A small router of our own rather than `leptos_router`: a few fixed paths, one query
//! parameter and one fragment need no nested routes or path parameters, and leaving the
//! library out keeps the SPA inside its download budgets (WASM and JS: 150,000 bytes in
//! gzip, 125,000 in Brotli).

use leptos::ev::MouseEvent;
use leptos::prelude::*;
use shared::names::pages::{RESET_PASSWORD, TOKEN_FRAGMENT, VERIFY_EMAIL};
use wasm_bindgen::JsValue;
use wasm_bindgen::prelude::*;

/// The app's pages.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Page {
    /// Signed-in home: who you are and the products.
    Home,
    /// Sign in.
    Login,
    /// Create an account.
    Register,
    /// Your sessions (devices).
    Sessions,
    /// Admins only: the user list.
    Admin,
    /// Ask for a password reset link.
    ForgotPassword,
    /// Choose a new password, with the token of a reset link.
    ResetPassword,
    /// Verify the email, with the token of a verification link.
    VerifyEmail,
    /// Change the password.
    Security,
}

impl Page {
    const ALL: [Self; 9] = [
        Self::Home,
        Self::Login,
        Self::Register,
        Self::Sessions,
        Self::Admin,
        Self::ForgotPassword,
        Self::ResetPassword,
        Self::VerifyEmail,
        Self::Security,
    ];

    /// The page's path.
    pub const fn path(self) -> &'static str {
        match self {
            Self::Home => "/",
            Self::Login => "/login",
            Self::Register => "/register",
            Self::Sessions => "/sessions",
            Self::Admin => "/admin",
            Self::ForgotPassword => "/forgot-password",
            Self::ResetPassword => RESET_PASSWORD,
            Self::VerifyEmail => VERIFY_EMAIL,
            Self::Security => "/security",
        }
    }

    /// The page at `path` (a trailing slash is ignored), if any.
    pub fn at(path: &str) -> Option<Self> {
        let path = if path.len() > 1 {
            path.trim_end_matches('/')
        } else {
            path
        };
        Self::ALL.into_iter().find(|page| page.path() == path)
    }

    /// Whether only a signed-in user may see it.
    pub const fn is_protected(self) -> bool {
        matches!(
            self,
            Self::Home | Self::Sessions | Self::Admin | Self::Security
        )
    }
}

/// Where the app is: path and query, kept in step with the address bar.
#[derive(Debug, Clone, Copy)]
pub struct Location {
    path: RwSignal<String>,
    search: RwSignal<String>,
}

impl Location {
    /// Reads the address bar, follows back/forward, and provides the location as context.
    pub fn provide() -> Self {
        let location = Self {
            path: RwSignal::new(String::new()),
            search: RwSignal::new(String::new()),
        };
        location.sync();
        if let Some(window) = web_sys::window() {
            let on_pop = Closure::<dyn Fn()>::new(move || location.sync());
            let _ = window
                .add_event_listener_with_callback("popstate", on_pop.as_ref().unchecked_ref());
            // The router lives as long as the page.
            on_pop.forget();
        }
        provide_context(location);
        location
    }

    /// The app's location.
    pub fn get() -> Self {
        use_context().expect("the app provides the location")
    }

    /// The current path (reactive).
    pub fn path(self) -> String {
        self.path.get()
    }

    /// The current page, if the path is one (reactive).
    pub fn page(self) -> Option<Page> {
        self.path.with(|path| Page::at(path))
    }

    /// A query parameter of the current address.
    pub fn query(self, key: &str) -> Option<String> {
        web_sys::UrlSearchParams::new_with_str(&self.search.get_untracked())
            .ok()?
            .get(key)
    }

    /// Path and query, to come back to later.
    pub fn here(self) -> String {
        format!(
            "{}{}",
            self.path.get_untracked(),
            self.search.get_untracked()
        )
    }

    fn sync(self) {
        if let Some(location) = web_sys::window().map(|w| w.location()) {
            self.path
                .set(location.pathname().unwrap_or_else(|_| "/".into()));
            self.search.set(location.search().unwrap_or_default());
        }
    }
}

/// The one-time token an emailed link brought in its fragment (`#token=…`). It is taken
/// out of the address bar as the app starts, before any request or rendering, so that it
/// stays in no history entry, bookmark or shared screenshot; only memory keeps it.
#[derive(Debug, Clone, Copy)]
pub struct LinkToken(StoredValue<Option<String>>);

impl LinkToken {
    /// Takes the token out of the address bar and provides it as context.
    pub fn provide() -> Self {
        let token = Self(StoredValue::new(take_fragment_token()));
        provide_context(token);
        token
    }

    /// The token the app was opened with, if any.
    pub fn get() -> Option<String> {
        use_context::<Self>().and_then(|token| token.0.get_value())
    }
}

/// Reads `token` from the fragment and replaces the address with the same one less its
/// fragment (no new history entry).
fn take_fragment_token() -> Option<String> {
    let window = web_sys::window()?;
    let location = window.location();
    let fragment = location.hash().ok()?;
    let token = web_sys::UrlSearchParams::new_with_str(fragment.strip_prefix('#')?)
        .ok()?
        .get(TOKEN_FRAGMENT)?;
    let bare = format!(
        "{}{}",
        location.pathname().ok()?,
        location.search().unwrap_or_default()
    );
    if let Ok(history) = window.history() {
        let _ = history.replace_state_with_url(&JsValue::NULL, "", Some(&bare));
    }
    Some(token).filter(|token| !token.is_empty())
}

/// Goes to `to` (a path on this site), adding a history entry.
pub fn navigate(to: &str) {
    go(to, false);
}

/// Goes to `to` in place of the current history entry (for redirects, so that Back does
/// not return to a page that only redirects again).
pub fn redirect(to: &str) {
    go(to, true);
}

fn go(to: &str, replace: bool) {
    let Some(history) = web_sys::window().and_then(|w| w.history().ok()) else {
        return;
    };
    let _ = if replace {
        history.replace_state_with_url(&JsValue::NULL, "", Some(to))
    } else {
        history.push_state_with_url(&JsValue::NULL, "", Some(to))
    };
    Location::get().sync();
}

/// A link to one of the app's pages that navigates without reloading the app.
#[component]
pub fn Link(
    page: Page,
    children: Children,
    #[prop(optional)] class: &'static str,
) -> impl IntoView {
    let location = Location::get();
    let follow = move |ev: MouseEvent| {
        let modified = ev.meta_key() || ev.ctrl_key() || ev.shift_key() || ev.alt_key();
        if ev.button() == 0 && !modified && !ev.default_prevented() {
            ev.prevent_default();
            navigate(page.path());
        }
    };
    view! {
        <a href=page.path() class=class on:click=follow
            aria-current=move || (location.page() == Some(page)).then_some("page")>
            {children()}
        </a>
    }
}

/// The login page, asked to come back to `next` afterwards.
pub fn login_then(next: &str) -> String {
    format!(
        "{}?next={}",
        Page::Login.path(),
        String::from(js_sys::encode_uri_component(next))
    )
}

/// Where to go after signing in: `next` when it is a path on this site, else home.
/// (A full URL or `//host` would make the login page an open redirect.)
pub fn safe_next(next: Option<String>) -> String {
    next.filter(|n| n.starts_with('/') && !n.starts_with("//") && !n.starts_with("/\\"))
        .unwrap_or_else(|| Page::Home.path().to_owned())
}

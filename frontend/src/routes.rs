//! Every page's path, in one place, so links cannot drift from the router.

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
}

impl Page {
    /// The path segment the router matches (no leading slash).
    pub const fn segment(self) -> &'static str {
        match self {
            Self::Home => "",
            Self::Login => "login",
            Self::Register => "register",
            Self::Sessions => "sessions",
            Self::Admin => "admin",
        }
    }

    /// The absolute path, for links.
    pub const fn path(self) -> &'static str {
        match self {
            Self::Home => "/",
            Self::Login => "/login",
            Self::Register => "/register",
            Self::Sessions => "/sessions",
            Self::Admin => "/admin",
        }
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

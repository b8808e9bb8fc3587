//! The app shell: the navigation bar and the page for the current path.

use leptos::prelude::*;
use shared::Role;

use crate::components::{Loading, SignOutButton};
use crate::pages::{
    AdminPage, ForgotPasswordPage, HomePage, LoginPage, NotFoundPage, RegisterPage,
    ResetPasswordPage, SecurityPage, SessionsPage, VerifyEmailPage,
};
use crate::routes::{Link, LinkToken, Location, Page, login_then, redirect};
use crate::session::{Session, Status};

/// The whole app.
#[component]
pub fn App() -> impl IntoView {
    // First, before any request or rendering: an emailed link's token leaves the address bar.
    LinkToken::provide();
    let location = Location::provide();
    let session = Session::provide();
    let is_admin = move || session.user.get().is_some_and(|u| u.role == Role::Admin);
    // A protected page visited while signed out goes to login, which comes back here.
    Effect::new(move || {
        let protected = location.page().is_some_and(Page::is_protected);
        if protected && session.status.get() == Status::SignedOut {
            redirect(&login_then(&location.here()));
        }
    });
    let page = move || {
        let page = location.page();
        if page.is_some_and(Page::is_protected) && session.status.get() != Status::SignedIn {
            return view! { <Loading/> }.into_any();
        }
        match page {
            None => view! { <NotFoundPage/> }.into_any(),
            Some(Page::Login) => view! { <LoginPage/> }.into_any(),
            Some(Page::Register) => view! { <RegisterPage/> }.into_any(),
            Some(Page::Home) => view! { <HomePage/> }.into_any(),
            Some(Page::Sessions) => view! { <SessionsPage/> }.into_any(),
            Some(Page::Admin) => view! { <AdminPage/> }.into_any(),
            Some(Page::ForgotPassword) => view! { <ForgotPasswordPage/> }.into_any(),
            Some(Page::ResetPassword) => view! { <ResetPasswordPage/> }.into_any(),
            Some(Page::VerifyEmail) => view! { <VerifyEmailPage/> }.into_any(),
            Some(Page::Security) => view! { <SecurityPage/> }.into_any(),
        }
    };
    view! {
        <header class="topbar">
            <Link page=Page::Home class="brand">"JWT Auth"</Link>
            <nav aria-label="Main">
                <Show
                    when=move || session.status.get() == Status::SignedIn
                    fallback=|| view! {
                        <Link page=Page::Login>"Sign in"</Link>
                        <Link page=Page::Register>"Create account"</Link>
                    }
                >
                    <Link page=Page::Home>"Home"</Link>
                    <Link page=Page::Sessions>"Sessions"</Link>
                    <Link page=Page::Security>"Security"</Link>
                    <Show when=is_admin><Link page=Page::Admin>"Admin"</Link></Show>
                    <SignOutButton/>
                </Show>
            </nav>
        </header>
        <main>{page}</main>
    }
}

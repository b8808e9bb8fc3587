//! The app shell: the route table and the navigation bar.

use leptos::prelude::*;
use leptos_router::StaticSegment;
use leptos_router::components::{A, Route, Router, Routes};

use crate::components::{Protected, SignOutButton};
use crate::pages::{AdminPage, HomePage, LoginPage, NotFoundPage, RegisterPage, SessionsPage};
use crate::routes::Page;
use crate::session::{Session, Status};

/// The whole app.
#[component]
pub fn App() -> impl IntoView {
    let session = Session::provide();
    view! {
        <Router>
            <header class="topbar">
                <A href=Page::Home.path() attr:class="brand">"JWT Auth"</A>
                <nav aria-label="Main">
                    <Show
                        when=move || session.status.get() == Status::SignedIn
                        fallback=|| view! {
                            <A href=Page::Login.path()>"Sign in"</A>
                            <A href=Page::Register.path()>"Create account"</A>
                        }
                    >
                        <A href=Page::Home.path()>"Home"</A>
                        <A href=Page::Sessions.path()>"Sessions"</A>
                        <Show when=move || session.user.get().is_some_and(|u| u.role == shared::Role::Admin)>
                            <A href=Page::Admin.path()>"Admin"</A>
                        </Show>
                        <SignOutButton/>
                    </Show>
                </nav>
            </header>
            <main>
                <Routes fallback=NotFoundPage>
                    <Route path=StaticSegment(Page::Login.segment()) view=LoginPage/>
                    <Route path=StaticSegment(Page::Register.segment()) view=RegisterPage/>
                    <Route path=StaticSegment(Page::Home.segment()) view=|| view! { <Protected><HomePage/></Protected> }/>
                    <Route path=StaticSegment(Page::Sessions.segment()) view=|| view! { <Protected><SessionsPage/></Protected> }/>
                    <Route path=StaticSegment(Page::Admin.segment()) view=|| view! { <Protected><AdminPage/></Protected> }/>
                </Routes>
            </main>
        </Router>
    }
}

use leptos::prelude::*;
use shared::{Role, UserView};

use crate::api::api;
use crate::components::{load, show_loaded};
use crate::session::Session;

/// The user list, for admins; everyone else is told plainly that it is not for them.
#[component]
pub fn AdminPage() -> impl IntoView {
    let session = Session::get();
    let is_admin = move || session.user.get().is_some_and(|u| u.role == Role::Admin);
    view! {
        <Show when=is_admin fallback=|| view! {
            <section class="narrow">
                <h1>"Not allowed"</h1>
                <p id="not-allowed">"This page is for administrators only."</p>
            </section>
        }>
            <UserList/>
        </Show>
    }
}

#[component]
fn UserList() -> impl IntoView {
    let (users, _) = load(|| async { api().admin_users().await });
    view! {
        <section>
            <h1>"Users"</h1>
            {show_loaded(users, |list: &Vec<UserView>| view! {
                <table class="users" id="users">
                    <thead><tr><th scope="col">"Email"</th><th scope="col">"Role"</th></tr></thead>
                    <tbody>
                        {list.iter().map(|u| view! {
                            <tr><td>{u.email.clone()}</td><td>{u.role.as_str()}</td></tr>
                        }).collect_view()}
                    </tbody>
                </table>
            }.into_any())}
        </section>
    }
}

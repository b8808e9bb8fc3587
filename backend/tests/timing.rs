//! Timing: an unknown email costs the same as a wrong password (the dummy hash). A test
//! binary of its own, so that no other test competes for the cores while it measures.

#[path = "api/helpers.rs"]
#[allow(dead_code, unused_imports)]
mod helpers;

use reqwest::StatusCode;

use crate::helpers::*;

fn median<T: Ord + Copy>(mut values: Vec<T>) -> T {
    values.sort();
    values[values.len() / 2]
}

#[tokio::test]
async fn an_unknown_email_costs_the_same_time_as_a_wrong_password() {
    let app = spawn_app().await;
    let mut known = Vec::new();
    for i in 0..30 {
        let email = format!("timed{i}@example.com");
        app.signed_in(&email).await;
        known.push(email);
    }
    let timed = |email: String| {
        let browser = app.browser();
        async move {
            let started = std::time::Instant::now();
            let response = browser.login(&email, "definitely wrong").await;
            assert_eq!(response.status(), StatusCode::UNAUTHORIZED);
            started.elapsed().as_micros() as i64
        }
    };
    let mut wrong_password = Vec::new();
    let mut unknown_email = Vec::new();
    let mut differences = Vec::new();
    // In pairs, one right after the other, so that a slow moment of the machine weighs on
    // both alike; the median of the differences ignores the pairs it hit unevenly.
    for (i, email) in known.into_iter().enumerate() {
        let nobody = format!("nobody{i}@example.com");
        // Which goes first alternates, so that going first or second weighs on neither.
        let (wrong, unknown) = if i % 2 == 0 {
            let wrong = timed(email).await;
            (wrong, timed(nobody).await)
        } else {
            let unknown = timed(nobody).await;
            (timed(email).await, unknown)
        };
        wrong_password.push(wrong);
        unknown_email.push(unknown);
        differences.push(unknown - wrong);
    }
    let (wrong, unknown) = (median(wrong_password), median(unknown_email));
    let difference = median(differences);
    eprintln!(
        "median login: wrong password {wrong} µs, unknown email {unknown} µs, \
         median difference {difference} µs"
    );
    // A hash is most of a wrong-password login; without the dummy hash an unknown email
    // would be faster by about that much.
    assert!(
        difference.abs() < wrong / 3,
        "unknown email differs by {difference} µs from a wrong password ({wrong} µs)"
    );
}

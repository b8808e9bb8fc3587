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

#[tokio::test]
async fn asking_for_a_reset_link_takes_the_same_time_for_known_and_unknown_emails() {
    let smtp = testkit::SmtpServer::start();
    let mail_url = smtp.mail_url();
    let flags = ["--trusted-proxies", "127.0.0.1", "--mail-url", &mail_url];
    let app = spawn_app_with(&flags, |_| {}).await;
    const PAIRS: usize = 50;
    let mut known = Vec::new();
    for i in 0..PAIRS {
        let email = format!("forgetful{i}@example.com");
        app.signed_in(&email).await;
        known.push(email);
    }
    // Each request from its own address (behind the trusted proxy), so that the per-IP
    // limit never answers instead of the endpoint.
    let timed = |email: String, n: usize| {
        let browser = app.browser();
        async move {
            let request = browser
                .request(reqwest::Method::POST, "/api/auth/password/forgot")
                .header(
                    "x-forwarded-for",
                    format!("10.1.{}.{}", n / 250, n % 250 + 1),
                )
                .json(&serde_json::json!({ "email": email }));
            let started = std::time::Instant::now();
            let response = browser.send(request).await;
            let elapsed = started.elapsed().as_micros() as i64;
            assert_eq!(response.status(), StatusCode::ACCEPTED);
            elapsed
        }
    };
    let (mut known_times, mut unknown_times) = (Vec::new(), Vec::new());
    for (i, email) in known.iter().enumerate() {
        let nobody = format!("stranger{i}@example.com");
        // Alternating which goes first, as in the login test above.
        if i % 2 == 0 {
            known_times.push(timed(email.clone(), 2 * i).await);
            unknown_times.push(timed(nobody, 2 * i + 1).await);
        } else {
            unknown_times.push(timed(nobody, 2 * i).await);
            known_times.push(timed(email.clone(), 2 * i + 1).await);
        }
    }
    let (known_median, unknown_median) = (median(known_times), median(unknown_times));
    eprintln!(
        "median password/forgot over {PAIRS} each: known email {known_median} µs, \
         unknown email {unknown_median} µs, difference {} µs",
        known_median - unknown_median
    );
    assert!(
        (known_median - unknown_median).abs() < 5_000,
        "medians differ by more than 5 ms: known {known_median} µs, unknown {unknown_median} µs"
    );
    // The known emails really were sent their links (the work the answer did not wait for).
    let all_sent = eventually(std::time::Duration::from_secs(30), || async {
        known.iter().all(|email| {
            smtp.received()
                .iter()
                .any(|mail| mail.to.contains(email) && mail.subject() == "Reset your password")
        })
    })
    .await;
    assert!(all_sent, "every known email got its reset link");
    assert!(
        !smtp
            .received()
            .iter()
            .any(|mail| mail.to[0].starts_with("stranger"))
    );
}

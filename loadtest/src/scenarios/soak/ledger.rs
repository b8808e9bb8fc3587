//! What a user's sessions went through, as its client saw them: for each session, the
//! cookies last received, the refresh tokens rotated away by an answered refresh, the
//! request still waiting for an answer, and how the server ended it. Kept when asked (the
//! `crash` scenario checks it after a restart). Pure, so that its rules can be tested.

use shared::names::cookies;

use crate::client::Cookies;

/// A request sent with a session's latest cookies that has had no answer.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Pending {
    /// `POST /api/auth/refresh` (from one tab or two).
    Refresh,
    /// `POST /api/auth/logout`.
    Logout,
}

/// How the server ended a session, in an answer the client received.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Ended {
    /// Logout answered 204.
    LoggedOut,
    /// Refresh answered 401.
    Refused,
}

/// One session.
#[derive(Debug, Clone)]
pub struct SessionRecord {
    /// The cookies of the last answer that set them (sign-in or refresh): the session's
    /// latest refresh token, its access token, its CSRF token.
    pub cookies: Cookies,
    /// Refresh tokens rotated away by a refresh answered 200: spent, never to work again.
    pub spent: Vec<String>,
    /// A request sent with `cookies` and not answered (yet).
    pub pending: Option<Pending>,
    /// How the server ended it.
    pub ended: Option<Ended>,
}

impl SessionRecord {
    /// The latest refresh token the client received.
    pub fn refresh_token(&self) -> Option<&str> {
        self.cookies.get(cookies::REFRESH)
    }
}

/// A user's sessions, oldest first; the last is the one its client holds.
#[derive(Debug, Clone, Default)]
pub struct Ledger {
    /// The sessions.
    pub sessions: Vec<SessionRecord>,
}

impl Ledger {
    /// A sign-in (or sign-up) answered with `cookies`: a new session.
    pub fn started(&mut self, cookies: &Cookies) {
        self.sessions.push(SessionRecord {
            cookies: cookies.clone(),
            spent: Vec::new(),
            pending: None,
            ended: None,
        });
    }

    /// A request goes out with the current session's cookies.
    pub fn sending(&mut self, request: Pending) {
        if let Some(session) = self.sessions.last_mut() {
            session.pending = Some(request);
        }
    }

    /// A refresh was answered 200 with `cookies`: the token sent is spent.
    pub fn refreshed(&mut self, cookies: &Cookies) {
        if let Some(session) = self.sessions.last_mut() {
            if let Some(spent) = session.refresh_token() {
                session.spent.push(spent.to_owned());
            }
            session.cookies = cookies.clone();
            session.pending = None;
        }
    }

    /// How many of its sessions were signed out with a 204.
    pub fn sign_outs(&self) -> usize {
        self.sessions
            .iter()
            .filter(|session| session.ended == Some(Ended::LoggedOut))
            .count()
    }

    /// The pending request was answered, and the answer ended the session (`Some`) or
    /// changed nothing (`None`: a refusal that is not a 401, say).
    pub fn answered(&mut self, ended: Option<Ended>) {
        if let Some(session) = self.sessions.last_mut() {
            session.pending = None;
            session.ended = session.ended.or(ended);
        }
    }
}

#[cfg(test)]
mod tests {
    use http::header::{self, HeaderMap, HeaderValue};

    use super::*;

    fn refresh_cookie(refresh: &str) -> Cookies {
        let mut headers = HeaderMap::new();
        let value = format!("{}={refresh}; Path=/api/auth", cookies::REFRESH);
        headers.append(header::SET_COOKIE, HeaderValue::from_str(&value).unwrap());
        let mut jar = Cookies::default();
        jar.absorb(&headers);
        jar
    }

    #[test]
    fn answered_refreshes_spend_tokens_and_unanswered_requests_stay_pending() {
        let mut ledger = Ledger::default();
        ledger.started(&refresh_cookie("r0"));
        ledger.sending(Pending::Refresh);
        ledger.refreshed(&refresh_cookie("r1"));
        ledger.sending(Pending::Refresh);
        ledger.refreshed(&refresh_cookie("r2"));
        ledger.sending(Pending::Refresh);
        let session = &ledger.sessions[0];
        assert_eq!(session.spent, ["r0", "r1"]);
        assert_eq!(session.refresh_token(), Some("r2"));
        assert_eq!(session.pending, Some(Pending::Refresh));
        assert_eq!(session.ended, None);
    }

    #[test]
    fn a_logout_answered_ends_the_session_and_a_sign_in_starts_another() {
        let mut ledger = Ledger::default();
        ledger.started(&refresh_cookie("a0"));
        ledger.sending(Pending::Logout);
        ledger.answered(Some(Ended::LoggedOut));
        ledger.started(&refresh_cookie("b0"));
        ledger.sending(Pending::Logout);
        ledger.answered(None);
        assert_eq!(ledger.sessions.len(), 2);
        assert_eq!(ledger.sign_outs(), 1);
        assert_eq!(ledger.sessions[0].ended, Some(Ended::LoggedOut));
        assert_eq!(ledger.sessions[0].refresh_token(), Some("a0"));
        assert_eq!(ledger.sessions[1].ended, None);
        assert_eq!(ledger.sessions[1].pending, None);
    }
}

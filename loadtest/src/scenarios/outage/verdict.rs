//! How each answer of the `outage` scenario is judged against the moments the database
//! went away and came back. Pure, so that the rules can be tested.
//!
//! - Before the cut, every request gets its success (a sign-in may get the hashing pool's
//!   503 `server_busy`, the documented answer to overload, in any phase).
//! - A request that overlaps the cut gets its success only when it could have been
//!   answered: `/api/products` (an access token checked against the in-memory revoked
//!   set, no database) while that set is younger than `REVOCATION_MAX_STALENESS`, any
//!   request that was sent before the cut was complete or answered once the restore had
//!   begun. Otherwise 503 with the endpoint's code (`database_unavailable` and a
//!   `Retry-After`; `not_ready` for `/api/ready`). Never a 500, never another 5xx, never a
//!   broken connection, and no waiting longer than the latency bound for an answer while
//!   the database is away (nor, for a request still open when it comes back, after that).
//! - After the restore, 503s are allowed for the recovery bound, then every request gets
//!   its success again.
//!
//! 401s are left to the caller, which knows the session (see `outage.rs`).

use std::time::Duration;

/// How long after the cut the server's revoked set may still be confirmed: the cut is
/// complete before the mark is taken, but an answer already in the server's socket
/// buffer may be read a moment later, on a busy machine.
pub const STALE_MARGIN: Duration = Duration::from_secs(1);
/// How old the revoked set may already be at the cut: the server polls it every 500 ms,
/// and a poll takes a moment.
pub const FRESH_SLACK: Duration = Duration::from_secs(1);

/// A kind of request.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Kind {
    /// `GET /api/ready`.
    Ready,
    /// `POST /api/auth/login`.
    Login,
    /// `GET /api/me` (reads the user from the database).
    Me,
    /// `GET /api/products` (the access token alone).
    Products,
    /// `POST /api/auth/refresh`.
    Refresh,
    /// `POST /api/auth/logout`.
    Logout,
}

impl Kind {
    /// Every kind, in the report's order.
    pub const ALL: [Self; 6] = [
        Self::Ready,
        Self::Login,
        Self::Me,
        Self::Products,
        Self::Refresh,
        Self::Logout,
    ];

    /// `METHOD path`.
    pub fn request_line(self) -> &'static str {
        match self {
            Self::Ready => "GET /api/ready",
            Self::Login => "POST /api/auth/login",
            Self::Me => "GET /api/me",
            Self::Products => "GET /api/products",
            Self::Refresh => "POST /api/auth/refresh",
            Self::Logout => "POST /api/auth/logout",
        }
    }

    /// The status of its success.
    pub fn success(self) -> u16 {
        match self {
            Self::Logout => 204,
            _ => 200,
        }
    }

    /// Whether its answer needs the database: all but an access-token read.
    pub fn needs_database(self) -> bool {
        self != Self::Products
    }

    /// The error codes its 503 may carry.
    fn unavailable_codes(self) -> &'static [&'static str] {
        match self {
            Self::Ready => &[NOT_READY],
            Self::Login => &[DATABASE_UNAVAILABLE, SERVER_BUSY],
            _ => &[DATABASE_UNAVAILABLE],
        }
    }
}

const NOT_READY: &str = "not_ready";
const DATABASE_UNAVAILABLE: &str = "database_unavailable";
const SERVER_BUSY: &str = "server_busy";

/// When a request was, relative to the outage.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Phase {
    /// Answered before the cut began.
    Before,
    /// Overlapping the cut: answered after it began, sent before the database was back.
    Cut,
    /// Sent once the database was back.
    After,
}

impl Phase {
    /// The phase in a sentence.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Before => "before the cut",
            Self::Cut => "during the cut",
            Self::After => "after the restore",
        }
    }
}

/// The moments of the outage known so far, from the start of the run.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Marks {
    /// The cut was asked for: a request in flight then may still have reached the database.
    pub cut_from: Option<Duration>,
    /// The cut is complete: nothing sent from then on reaches the database.
    pub cut_done: Option<Duration>,
    /// The database is being brought back.
    pub restore_from: Option<Duration>,
    /// It is back.
    pub restore_done: Option<Duration>,
}

/// The bounds answers are held to.
#[derive(Debug, Clone, Copy)]
pub struct Rules {
    /// The server's `REVOCATION_MAX_STALENESS`.
    pub staleness: Duration,
    /// No request may wait longer for an answer while the database is away, nor after it
    /// came back.
    pub latency: Duration,
    /// How long after the restore a 503 is still allowed.
    pub recovery: Duration,
}

/// What came back.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Answer {
    /// An HTTP answer.
    Status {
        /// Its status.
        status: u16,
        /// The API's error code, when the body is an error.
        code: Option<&'static str>,
        /// Whether it carries `Retry-After`.
        retry_after: bool,
    },
    /// No answer (the connection failed), and why.
    Broken(String),
}

impl Answer {
    /// `200`, `503 database_unavailable`, `no answer`.
    pub fn label(&self) -> String {
        match self {
            Self::Status {
                status,
                code: Some(code),
                ..
            } => format!("{status} {code}"),
            Self::Status { status, .. } => status.to_string(),
            Self::Broken(_) => "no answer".to_owned(),
        }
    }
}

/// One request and its answer, from the start of the run.
#[derive(Debug, Clone)]
pub struct Seen {
    /// What was asked.
    pub kind: Kind,
    /// When it was sent.
    pub sent: Duration,
    /// When the answer (or the failure) came.
    pub answered: Duration,
    /// The answer.
    pub answer: Answer,
}

impl Seen {
    /// How long it took.
    pub fn took(&self) -> Duration {
        self.answered.saturating_sub(self.sent)
    }

    /// Which phase it belongs to.
    pub fn phase(&self, marks: &Marks) -> Phase {
        match (marks.cut_from, marks.restore_done) {
            (_, Some(back)) if self.sent >= back => Phase::After,
            (Some(cut), _) if self.answered >= cut => Phase::Cut,
            _ => Phase::Before,
        }
    }

    /// How long it waited while the database was away (from its sending or the cut,
    /// whichever came later, to its answer or the restore, whichever came first), and
    /// how long after the restore began.
    pub fn waits(&self, marks: &Marks) -> (Duration, Duration) {
        let Some(cut) = marks.cut_from else {
            return (Duration::ZERO, Duration::ZERO);
        };
        let away_until = marks
            .restore_from
            .map_or(self.answered, |back| back.min(self.answered));
        let away = away_until.saturating_sub(self.sent.max(cut));
        let after = marks.restore_from.map_or(Duration::ZERO, |back| {
            self.answered.saturating_sub(self.sent.max(back))
        });
        (away, after)
    }

    /// Sent once the cut was complete and answered before the restore began: the server
    /// had no database from start to end.
    pub fn cut_off_throughout(&self, marks: &Marks) -> bool {
        marks.cut_done.is_some_and(|done| self.sent >= done) && self.before_restore(marks)
    }

    /// Sent so long after the cut that the server's revoked set was older than the limit,
    /// and answered before the restore began.
    pub fn revoked_set_stale(&self, marks: &Marks, rules: &Rules) -> bool {
        marks
            .cut_done
            .is_some_and(|done| self.sent >= done + rules.staleness + STALE_MARGIN)
            && self.before_restore(marks)
    }

    /// Answered before the restore began.
    pub fn before_restore(&self, marks: &Marks) -> bool {
        marks.restore_from.is_none_or(|back| self.answered < back)
    }
}

/// What an answer means.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Verdict {
    /// The request's success, when it could be given.
    Success,
    /// A 503 it may get: try again later.
    Unavailable,
    /// A 401, for the caller to judge.
    Unauthorized,
    /// A breach of the rules, and why.
    Violation(String),
}

/// Judges `seen` against the moments known when it was answered.
pub fn judge(seen: &Seen, marks: &Marks, rules: &Rules) -> Verdict {
    let phase = seen.phase(marks);
    let (status, code, retry_after) = match &seen.answer {
        Answer::Status {
            status,
            code,
            retry_after,
        } => (*status, *code, *retry_after),
        Answer::Broken(why) => return Verdict::Violation(format!("no answer: {why}")),
    };
    if phase == Phase::Cut {
        let (away, after) = seen.waits(marks);
        if away > rules.latency {
            return Verdict::Violation(format!(
                "waited longer than {} s for an answer while the database was away",
                rules.latency.as_secs_f64()
            ));
        }
        if after > rules.latency {
            return Verdict::Violation(format!(
                "answered more than {} s after the database came back",
                rules.latency.as_secs_f64()
            ));
        }
    }
    let kind = seen.kind;
    if status == kind.success() {
        if kind.needs_database() && seen.cut_off_throughout(marks) {
            return Verdict::Violation("answered though the database was cut off".to_owned());
        }
        if kind == Kind::Products && seen.revoked_set_stale(marks, rules) {
            return Verdict::Violation(format!(
                "served with a revoked-session set older than REVOCATION_MAX_STALENESS (sent \
                 more than {} s after the cut)",
                (rules.staleness + STALE_MARGIN).as_secs_f64()
            ));
        }
        return Verdict::Success;
    }
    match status {
        503 => unavailable(seen, phase, code, retry_after, marks, rules),
        401 => Verdict::Unauthorized,
        _ => Verdict::Violation("not an answer this request may get".to_owned()),
    }
}

/// A 503: the right code, `Retry-After`, and a moment when the database may be missing.
fn unavailable(
    seen: &Seen,
    phase: Phase,
    code: Option<&'static str>,
    retry_after: bool,
    marks: &Marks,
    rules: &Rules,
) -> Verdict {
    let allowed = seen.kind.unavailable_codes();
    let Some(code) = code.filter(|code| allowed.contains(code)) else {
        return Verdict::Violation(format!("a 503 without the code {}", allowed.join(" or ")));
    };
    if code != NOT_READY && !retry_after {
        return Verdict::Violation("a 503 without Retry-After".to_owned());
    }
    if code == SERVER_BUSY {
        return Verdict::Unavailable;
    }
    match phase {
        Phase::Before => Verdict::Violation("a 503 before the database was cut off".to_owned()),
        Phase::Cut
            if seen.kind == Kind::Products
                && marks.cut_from.is_some_and(|cut| {
                    seen.answered < cut + rules.staleness.saturating_sub(FRESH_SLACK)
                }) =>
        {
            Verdict::Violation(format!(
                "refused while the revoked-session set was younger than \
                 REVOCATION_MAX_STALENESS (within {} s of the cut)",
                rules.staleness.saturating_sub(FRESH_SLACK).as_secs_f64()
            ))
        }
        Phase::After
            if marks
                .restore_done
                .is_some_and(|back| seen.sent >= back + rules.recovery) =>
        {
            Verdict::Violation(format!(
                "still unavailable more than {} s after the database came back",
                rules.recovery.as_secs_f64()
            ))
        }
        _ => Verdict::Unavailable,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const RULES: Rules = Rules {
        staleness: Duration::from_secs(2),
        latency: Duration::from_secs(5),
        recovery: Duration::from_secs(3),
    };

    fn s(seconds: f64) -> Duration {
        Duration::from_secs_f64(seconds)
    }

    /// The cut asked for at 10 s, done at 10.1 s; the restore asked for at 14 s, done at
    /// 14.1 s.
    fn outage() -> Marks {
        Marks {
            cut_from: Some(s(10.0)),
            cut_done: Some(s(10.1)),
            restore_from: Some(s(14.0)),
            restore_done: Some(s(14.1)),
        }
    }

    fn seen(kind: Kind, sent: f64, answered: f64, status: u16, code: Option<&'static str>) -> Seen {
        Seen {
            kind,
            sent: s(sent),
            answered: s(answered),
            answer: Answer::Status {
                status,
                code,
                retry_after: status == 503 && code != Some(NOT_READY),
            },
        }
    }

    fn judged(
        kind: Kind,
        sent: f64,
        answered: f64,
        status: u16,
        code: Option<&'static str>,
    ) -> Verdict {
        judge(&seen(kind, sent, answered, status, code), &outage(), &RULES)
    }

    fn is_violation(verdict: &Verdict) -> bool {
        matches!(verdict, Verdict::Violation(_))
    }

    const DOWN: Option<&str> = Some(DATABASE_UNAVAILABLE);

    #[test]
    fn requests_fall_in_the_phase_they_overlap() {
        let marks = outage();
        assert_eq!(
            seen(Kind::Me, 9.0, 9.9, 200, None).phase(&marks),
            Phase::Before
        );
        assert_eq!(
            seen(Kind::Me, 9.9, 10.05, 200, None).phase(&marks),
            Phase::Cut
        );
        assert_eq!(
            seen(Kind::Me, 14.05, 14.2, 200, None).phase(&marks),
            Phase::Cut
        );
        assert_eq!(
            seen(Kind::Me, 14.1, 14.2, 200, None).phase(&marks),
            Phase::After
        );
        let before_any_cut = Marks::default();
        assert_eq!(
            seen(Kind::Me, 30.0, 31.0, 200, None).phase(&before_any_cut),
            Phase::Before
        );
    }

    #[test]
    fn before_the_cut_every_request_succeeds_but_a_busy_sign_in() {
        assert_eq!(judged(Kind::Me, 5.0, 5.1, 200, None), Verdict::Success);
        assert!(is_violation(&judged(Kind::Me, 5.0, 5.1, 503, DOWN)));
        assert!(is_violation(&judged(
            Kind::Products,
            5.0,
            5.1,
            500,
            Some("internal_error")
        )));
        assert_eq!(
            judged(Kind::Login, 5.0, 5.1, 503, Some(SERVER_BUSY)),
            Verdict::Unavailable
        );
        assert_eq!(
            judged(Kind::Refresh, 5.0, 5.1, 401, None),
            Verdict::Unauthorized
        );
    }

    #[test]
    fn during_the_cut_a_request_needing_the_database_gets_503_with_retry_after() {
        assert_eq!(
            judged(Kind::Me, 11.0, 11.1, 503, DOWN),
            Verdict::Unavailable
        );
        assert_eq!(
            judged(Kind::Refresh, 11.0, 14.0, 503, DOWN),
            Verdict::Unavailable
        );
        assert!(is_violation(&judged(Kind::Me, 11.0, 11.1, 200, None)));
        assert!(is_violation(&judged(Kind::Logout, 11.0, 11.1, 204, None)));
        assert!(is_violation(&judged(
            Kind::Me,
            11.0,
            11.1,
            500,
            Some("internal_error")
        )));
        assert!(is_violation(&judged(Kind::Me, 11.0, 11.1, 502, None)));
        assert!(is_violation(&judged(
            Kind::Me,
            11.0,
            11.1,
            503,
            Some(SERVER_BUSY)
        )));
        let mut bare = seen(Kind::Me, 11.0, 11.1, 503, DOWN);
        bare.answer = Answer::Status {
            status: 503,
            code: DOWN,
            retry_after: false,
        };
        assert!(is_violation(&judge(&bare, &outage(), &RULES)));
        let mut broken = bare;
        broken.answer = Answer::Broken("connection reset".to_owned());
        assert!(is_violation(&judge(&broken, &outage(), &RULES)));
    }

    #[test]
    fn requests_in_flight_at_either_end_of_the_cut_may_succeed() {
        assert_eq!(
            judged(Kind::Refresh, 10.0, 10.3, 200, None),
            Verdict::Success
        );
        assert_eq!(judged(Kind::Me, 13.9, 14.05, 200, None), Verdict::Success);
    }

    #[test]
    fn no_request_waits_longer_than_the_bound_without_the_database_nor_after_it() {
        // A cut of 7 s, from 10 s to 17 s.
        let marks = Marks {
            restore_from: Some(s(17.0)),
            restore_done: Some(s(17.1)),
            ..outage()
        };
        let judged = |sent, answered, status, code| {
            judge(
                &seen(Kind::Me, sent, answered, status, code),
                &marks,
                &RULES,
            )
        };
        assert!(is_violation(&judged(10.5, 16.0, 503, DOWN)));
        assert_eq!(judged(11.0, 15.9, 503, DOWN), Verdict::Unavailable);
        // In flight at the cut: only the time after it counts.
        assert_eq!(judged(9.0, 14.5, 503, DOWN), Verdict::Unavailable);
        assert!(is_violation(&judged(9.0, 15.5, 503, DOWN)));
        // Still open at the restore: 4.5 s without the database, then 2 s with it.
        assert_eq!(judged(12.5, 19.0, 200, None), Verdict::Success);
        assert!(is_violation(&judged(16.0, 22.5, 200, None)));
        assert!(is_violation(&judged(11.0, 17.0, 200, None)));
        let open = seen(Kind::Me, 12.5, 19.0, 200, None);
        assert_eq!(open.waits(&marks), (s(4.5), s(2.0)));
    }

    #[test]
    fn ready_says_not_ready_while_the_database_is_away() {
        assert_eq!(
            judged(Kind::Ready, 11.0, 13.0, 503, Some(NOT_READY)),
            Verdict::Unavailable
        );
        assert!(is_violation(&judged(Kind::Ready, 11.0, 11.1, 200, None)));
        assert!(is_violation(&judged(Kind::Ready, 11.0, 13.0, 503, DOWN)));
    }

    #[test]
    fn access_tokens_are_served_while_the_revoked_set_is_fresh_and_refused_after() {
        // Fresh: served, and not refused too early.
        assert_eq!(
            judged(Kind::Products, 10.5, 10.6, 200, None),
            Verdict::Success
        );
        assert!(is_violation(&judged(Kind::Products, 10.5, 10.6, 503, DOWN)));
        // Between the slack and the margin either answer is right.
        assert_eq!(
            judged(Kind::Products, 12.0, 12.1, 200, None),
            Verdict::Success
        );
        assert_eq!(
            judged(Kind::Products, 11.2, 11.3, 503, DOWN),
            Verdict::Unavailable
        );
        // Stale: refused.
        assert_eq!(
            judged(Kind::Products, 13.2, 13.3, 503, DOWN),
            Verdict::Unavailable
        );
        assert!(is_violation(&judged(Kind::Products, 13.2, 13.3, 200, None)));
        // Unless the answer came once the restore had begun.
        assert_eq!(
            judged(Kind::Products, 13.9, 14.05, 200, None),
            Verdict::Success
        );
        let stale = seen(Kind::Products, 13.2, 13.3, 200, None);
        assert!(stale.revoked_set_stale(&outage(), &RULES));
        assert!(!seen(Kind::Products, 12.0, 12.1, 200, None).revoked_set_stale(&outage(), &RULES));
    }

    #[test]
    fn after_the_restore_503s_are_allowed_for_the_recovery_bound_only() {
        assert_eq!(
            judged(Kind::Me, 15.0, 15.1, 503, DOWN),
            Verdict::Unavailable
        );
        assert_eq!(
            judged(Kind::Ready, 16.0, 16.1, 503, Some(NOT_READY)),
            Verdict::Unavailable
        );
        assert!(is_violation(&judged(Kind::Me, 17.2, 17.3, 503, DOWN)));
        assert_eq!(judged(Kind::Me, 17.2, 17.3, 200, None), Verdict::Success);
        assert_eq!(
            judged(Kind::Login, 20.0, 21.0, 503, Some(SERVER_BUSY)),
            Verdict::Unavailable
        );
    }
}

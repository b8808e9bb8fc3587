//! Which request a soak user sends next: sign in, then cycles of reads and a refresh (now
//! and then from two tabs at once), and every so often sign out and in again. Readers only
//! read, refreshing when their access token is half-way to expiry, as the SPA does.
//! Pure, so that the mix can be tested.

/// A request of the journey.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Action {
    /// `POST /api/auth/login`.
    Login,
    /// `GET /api/me`.
    Me,
    /// `GET /api/products`.
    Products,
    /// `POST /api/auth/refresh`.
    Refresh,
    /// Two `POST /api/auth/refresh` with the same refresh token at once, on two
    /// connections (two tabs of one browser).
    TwoTabRefresh,
    /// `POST /api/auth/logout`.
    Logout,
}

impl Action {
    /// The name in the report.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Login => "login",
            Self::Me => "me",
            Self::Products => "products",
            Self::Refresh => "refresh",
            Self::TwoTabRefresh => "refresh, two tabs",
            Self::Logout => "logout",
        }
    }
}

/// The reads of each cycle, in order, before its refresh.
const READS: [Action; 4] = [Action::Me, Action::Products, Action::Me, Action::Products];
/// Every this many refreshes of a user is sent by two tabs at once.
pub const TWO_TABS_EVERY: u64 = 5;
/// A soak user signs out after every this many cycles, then signs in again: sign-ins cost
/// an argon2id hash each, so they stay a small share and the soak is mostly reads and
/// refreshes.
pub const LOGOUT_EVERY: u64 = 50;

/// What a virtual client does.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Schedule {
    /// Reads and refreshes in cycles, signing out now and then.
    Cycling,
    /// Reads `/api/products` only, refreshing when the token is half-way to expiry.
    Reading,
}

/// Where one virtual client is.
#[derive(Debug, Clone)]
pub struct Journey {
    schedule: Schedule,
    signed_in: bool,
    /// Cycles begun, from an offset of the user's own so that users sign out at
    /// different times.
    cycle: u64,
    /// A sign-out after every this many cycles.
    logout_every: u64,
    /// The next step within the cycle: the reads, the refresh, then the sign-out when due.
    position: usize,
}

impl Journey {
    /// A user who signs in first and signs out every [`LOGOUT_EVERY`] cycles; `offset`
    /// spreads the sign-outs of many users.
    pub fn user(offset: u64) -> Self {
        Self::user_signing_out_every(offset, LOGOUT_EVERY)
    }

    /// A user who signs out every `cycles` cycles (at least one) instead.
    pub fn user_signing_out_every(offset: u64, cycles: u64) -> Self {
        let logout_every = cycles.max(1);
        Self {
            schedule: Schedule::Cycling,
            signed_in: false,
            cycle: offset % logout_every,
            logout_every,
            position: 0,
        }
    }

    /// A reader who is signed in already.
    pub fn reader() -> Self {
        Self {
            schedule: Schedule::Reading,
            signed_in: true,
            cycle: 0,
            logout_every: LOGOUT_EVERY,
            position: 0,
        }
    }

    /// The next request. `refresh_due`: the access token is half-way to expiry (readers
    /// refresh then; users refresh on their cycle's schedule anyway).
    pub fn next(&mut self, refresh_due: bool) -> Action {
        if !self.signed_in {
            self.signed_in = true;
            self.position = 0;
            return Action::Login;
        }
        if self.schedule == Schedule::Reading {
            return if refresh_due {
                Action::Refresh
            } else {
                Action::Products
            };
        }
        let position = self.position;
        self.position += 1;
        if let Some(read) = READS.get(position) {
            return *read;
        }
        if position == READS.len() {
            self.cycle += 1;
            if !self.cycle.is_multiple_of(self.logout_every) {
                self.position = 0;
            }
            return if self.cycle.is_multiple_of(TWO_TABS_EVERY) {
                Action::TwoTabRefresh
            } else {
                Action::Refresh
            };
        }
        self.signed_in = false;
        Action::Logout
    }

    /// The session has ended (a refresh or sign-in was refused): sign in next.
    pub fn signed_out(&mut self) {
        self.signed_in = false;
    }
}

#[cfg(test)]
mod tests {
    use std::collections::BTreeMap;

    use super::*;

    fn tally(journey: &mut Journey, steps: usize) -> BTreeMap<Action, usize> {
        let mut counts = BTreeMap::new();
        for _ in 0..steps {
            *counts.entry(journey.next(false)).or_default() += 1;
        }
        counts
    }

    #[test]
    fn a_user_signs_in_then_reads_four_times_per_refresh_and_signs_out_every_fifty_cycles() {
        let mut journey = Journey::user(0);
        assert_eq!(journey.next(false), Action::Login);
        let cycle: Vec<Action> = (0..5).map(|_| journey.next(false)).collect();
        assert_eq!(
            cycle,
            [
                Action::Me,
                Action::Products,
                Action::Me,
                Action::Products,
                Action::Refresh
            ]
        );
        // The rest of the first 50 cycles, the sign-out, and the sign-in after it.
        let counts = tally(&mut journey, 49 * 5 + 2);
        let mut all = counts.clone();
        *all.entry(Action::Refresh).or_default() += 1;
        *all.entry(Action::Me).or_default() += 2;
        *all.entry(Action::Products).or_default() += 2;
        assert_eq!(all[&Action::Me], 100);
        assert_eq!(all[&Action::Products], 100);
        assert_eq!(all[&Action::Refresh] + all[&Action::TwoTabRefresh], 50);
        assert_eq!(all[&Action::TwoTabRefresh], 10);
        assert_eq!(all[&Action::Logout], 1);
        assert_eq!(counts[&Action::Login], 1);
        assert_eq!(journey.next(false), Action::Me);
    }

    #[test]
    fn users_with_different_offsets_sign_out_at_different_times() {
        let first_logout = |offset| {
            let mut journey = Journey::user(offset);
            (1..)
                .find(|_| journey.next(false) == Action::Logout)
                .unwrap()
        };
        assert_ne!(first_logout(0), first_logout(1));
        assert!(first_logout(49) < first_logout(0));
    }

    #[test]
    fn a_user_can_sign_out_more_often() {
        let mut journey = Journey::user_signing_out_every(0, 7);
        let steps: Vec<Action> = (0..1 + 7 * 5 + 2).map(|_| journey.next(false)).collect();
        assert_eq!(steps[0], Action::Login);
        assert_eq!(steps[1 + 7 * 5], Action::Logout);
        assert_eq!(steps[2 + 7 * 5], Action::Login);
        assert_eq!(
            steps
                .iter()
                .filter(|&&a| a == Action::TwoTabRefresh)
                .count(),
            1
        );
        assert!(!steps[1..1 + 7 * 5].contains(&Action::Logout));
    }

    #[test]
    fn after_a_refused_refresh_the_user_signs_in_again() {
        let mut journey = Journey::user(0);
        journey.next(false);
        journey.next(false);
        journey.signed_out();
        assert_eq!(journey.next(false), Action::Login);
        assert_eq!(journey.next(false), Action::Me);
    }

    #[test]
    fn a_reader_reads_products_and_refreshes_only_when_due() {
        let mut reader = Journey::reader();
        assert_eq!(reader.next(false), Action::Products);
        assert_eq!(reader.next(true), Action::Refresh);
        assert_eq!(reader.next(false), Action::Products);
    }
}

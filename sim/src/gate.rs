//! The one request gate every API call passes, REST and SOAP alike: the configured
//! latency, then under the state lock the token (and its expiry after N calls), the
//! API limit, a fault drawn from the seeded RNG, the API usage count, the handler,
//! and the fault that strikes after the write. Each protocol says only how it
//! answers a refusal and what it adds to every answer ([`Protocol`]).
//!
//! Outside the gate (latency applies to each): the version list (no token), OAuth (the identity endpoints check
//! the token with [`ServerState::authorize`] but are not API usage), and the sim-only
//! `/_sim/storeconnect/*` routes (no token, not counted).

use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Mutex, MutexGuard};
use std::time::Duration;

use axum::response::Response;
use indexmap::IndexMap;
use rand::rngs::StdRng;
use rand::{Rng, SeedableRng};

use crate::SimConfig;
use crate::http::ConnDrop;
use crate::state::OrgState;

/// Daily API requests of a Developer Edition org when no limit is configured
/// (Developer Limits and Allocations Quick Reference: 15,000).
pub const DEFAULT_API_LIMIT: u64 = 15_000;

/// Why the gate turned a request away.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Refusal {
    /// No valid token: INVALID_SESSION_ID.
    Session,
    /// The API limit is reached: REQUEST_LIMIT_EXCEEDED.
    Limit,
    /// An injected 503 (SERVER_UNAVAILABLE), before or after the handler ran.
    Unavailable,
}

/// A fault drawn for one request.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Fault {
    UnavailableBefore,
    DropBefore,
    UnavailableAfter,
    DropAfter,
}

/// What the gate does with a request once the org has seen it.
pub enum GateOutcome {
    Respond(Response),
    Drop,
}

/// How one protocol answers at the gate.
pub struct Protocol {
    /// The answer to a refusal, given the `api-usage=N/M` value.
    pub refuse: fn(Refusal, &str) -> Response,
    /// What the protocol adds to every answer it sends, given the same value.
    pub finish: fn(Response, &str) -> Response,
}

/// Mutable state behind one lock: the org and the session bookkeeping.
pub struct SessionState {
    pub org_state: OrgState,
    /// Valid tokens and the authenticated calls each has served.
    pub tokens: IndexMap<String, u64>,
    /// The token a new OAuth grant hands out while it stays valid.
    pub current_token: String,
    /// API requests counted so far (the `N` of `api-usage=N/M`).
    pub usage: u64,
    rng: StdRng,
}

/// Everything the server's handlers share.
pub struct ServerState {
    pub config: SimConfig,
    session: Mutex<SessionState>,
    api_calls: AtomicU64,
    /// Set by tests to read the org's final state without faults in the way.
    faults_paused: AtomicBool,
}

impl ServerState {
    pub fn new(config: SimConfig, org_state: OrgState) -> Self {
        let mut tokens = IndexMap::new();
        tokens.insert(config.token.clone(), 0);
        let session = SessionState {
            org_state,
            tokens,
            current_token: config.token.clone(),
            usage: 0,
            rng: StdRng::seed_from_u64(config.faults.seed),
        };
        ServerState {
            config,
            session: Mutex::new(session),
            api_calls: AtomicU64::new(0),
            faults_paused: AtomicBool::new(false),
        }
    }

    /// The session state; a poisoned lock still holds a consistent org (writes are
    /// atomic under the lock), so it is used as is.
    pub fn lock(&self) -> MutexGuard<'_, SessionState> {
        self.session.lock().unwrap_or_else(|e| e.into_inner())
    }

    pub fn api_calls(&self) -> u64 {
        self.api_calls.load(Ordering::SeqCst)
    }

    pub fn pause_faults(&self, paused: bool) {
        self.faults_paused.store(paused, Ordering::SeqCst);
    }

    pub fn limit(&self) -> u64 {
        self.config.faults.api_limit.unwrap_or(DEFAULT_API_LIMIT)
    }

    /// Waits the configured latency.
    pub async fn latency(&self) {
        if self.config.faults.latency_ms > 0 {
            tokio::time::sleep(Duration::from_millis(self.config.faults.latency_ms)).await;
        }
    }

    /// Checks a token (consuming one of its calls when tokens expire) and the API limit.
    pub fn authorize(&self, session: &mut SessionState, token: Option<&str>) -> Result<(), Refusal> {
        let token = token.ok_or(Refusal::Session)?;
        let uses = session.tokens.get_mut(token).ok_or(Refusal::Session)?;
        if let Some(max) = self.config.faults.expire_token_after
            && *uses >= max
        {
            session.tokens.shift_remove(token);
            return Err(Refusal::Session);
        }
        *uses += 1;
        if let Some(limit) = self.config.faults.api_limit
            && session.usage >= limit
        {
            return Err(Refusal::Limit);
        }
        Ok(())
    }

    /// Draws a fault for one request from the seeded RNG.
    fn draw_fault(&self, session: &mut SessionState) -> Option<Fault> {
        let rate = self.config.faults.fail_rate;
        if rate <= 0.0 || self.faults_paused.load(Ordering::SeqCst) {
            return None;
        }
        if session.rng.random::<f64>() >= rate {
            return None;
        }
        Some(match session.rng.random_range(0..4) {
            0 => Fault::UnavailableBefore,
            1 => Fault::DropBefore,
            2 => Fault::UnavailableAfter,
            _ => Fault::DropAfter,
        })
    }

    fn limit_info(&self, session: &SessionState) -> String {
        format!("api-usage={}/{}", session.usage, self.limit())
    }

    /// Counts one API request, where `/limits` and `Sforce-Limit-Info` read it.
    fn count(&self, session: &mut SessionState) {
        session.usage += 1;
        self.api_calls.fetch_add(1, Ordering::SeqCst);
        session.org_state.api_usage = (session.usage, self.limit());
    }

    /// The gate under the lock, with no await: token, limit, fault, usage, handler.
    fn pass(
        &self,
        session: &mut SessionState,
        token: Option<&str>,
        protocol: &Protocol,
        handler: impl FnOnce(&mut OrgState) -> Response,
    ) -> GateOutcome {
        if let Err(refusal) = self.authorize(session, token) {
            return GateOutcome::Respond((protocol.refuse)(refusal, &self.limit_info(session)));
        }
        let fault = self.draw_fault(session);
        match fault {
            Some(Fault::UnavailableBefore) => {
                return GateOutcome::Respond((protocol.refuse)(Refusal::Unavailable, &self.limit_info(session)));
            }
            Some(Fault::DropBefore) => return GateOutcome::Drop,
            _ => {}
        }
        self.count(session);
        let resp = handler(&mut session.org_state);
        let info = self.limit_info(session);
        match fault {
            Some(Fault::UnavailableAfter) => GateOutcome::Respond((protocol.refuse)(Refusal::Unavailable, &info)),
            Some(Fault::DropAfter) => GateOutcome::Drop,
            _ => GateOutcome::Respond((protocol.finish)(resp, &info)),
        }
    }

    /// Passes one API request through the gate to `handler`, which runs under the lock.
    pub async fn admit(
        &self,
        conn: &ConnDrop,
        token: Option<&str>,
        protocol: &Protocol,
        handler: impl FnOnce(&mut OrgState) -> Response,
    ) -> Response {
        self.latency().await;
        let outcome = {
            let mut session = self.lock();
            self.pass(&mut session, token, protocol, handler)
        };
        match outcome {
            GateOutcome::Respond(resp) => resp,
            GateOutcome::Drop => conn.drop_connection().await,
        }
    }
}

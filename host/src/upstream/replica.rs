//! One replica of an upstream and the task that keeps it up: connect,
//! list, watch (exit, health check), and restart with exponential backoff,
//! reporting a crash loop instead of spinning.

use std::sync::atomic::{AtomicU64, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use rmcp::model::{ClientRequest, PingRequest, ServerNotification, SubscriptionFilter};
use rmcp::{Peer, RoleClient};
use tokio::sync::Notify;

use super::Shared;
use super::breaker::{Admission, Breaker};
use super::connection::{self, ProgressRoutes, Session, UpstreamClient};
use super::watches;
use crate::changes::ListChanged;
use crate::config::Endpoint;
use crate::metrics::{self, ReplicaMetrics};

/// Failed starts (or runs shorter than [`STABLE_AFTER`]) in a row that make
/// a crash loop.
const CRASH_LOOP_FAILURES: u32 = 5;
/// A session that lasted this long counts as a success: backoff resets.
const STABLE_AFTER: Duration = Duration::from_secs(30);

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Health {
    /// Connecting (first start or a restart).
    Starting,
    Ready,
    /// Down; the next attempt is at `retry_at`.
    Down {
        reason: String,
        retry_at: Instant,
    },
    /// Failed [`CRASH_LOOP_FAILURES`] times or more in a row; still retried,
    /// at the longest backoff.
    CrashLoop {
        reason: String,
        failures: u32,
        retry_at: Instant,
    },
}

impl Health {
    fn metric_state(&self) -> metrics::ReplicaState {
        match self {
            Health::Starting => metrics::ReplicaState::Starting,
            Health::Ready => metrics::ReplicaState::Ready,
            Health::Down { .. } => metrics::ReplicaState::Down,
            Health::CrashLoop { .. } => metrics::ReplicaState::CrashLoop,
        }
    }

    pub fn describe(&self, now: Instant) -> String {
        match self {
            Health::Starting => "starting".into(),
            Health::Ready => "ready".into(),
            Health::Down { reason, retry_at } => format!(
                "down: {reason}; retrying in {} ms",
                retry_at.saturating_duration_since(now).as_millis()
            ),
            Health::CrashLoop {
                reason,
                failures,
                retry_at,
            } => format!(
                "crash loop: failed {failures} times in a row (last: {reason}); retrying in {} ms",
                retry_at.saturating_duration_since(now).as_millis()
            ),
        }
    }
}

/// What a call needs to use a ready replica.
#[derive(Clone)]
pub struct Link {
    pub peer: Peer<RoleClient>,
    pub progress: Arc<ProgressRoutes>,
    /// Which session of the replica this is (one per connect).
    pub session: u64,
}

struct ReplicaState {
    health: Health,
    link: Option<Link>,
    pid: Option<u32>,
    /// Sessions started after the first.
    restarts: u32,
    ever_ready: bool,
    breaker: Breaker,
}

impl ReplicaState {
    /// Whether its session's transport is still open.
    fn connected(&self) -> bool {
        self.link
            .as_ref()
            .is_some_and(|link| !link.peer.is_transport_closed())
    }
}

pub struct Replica {
    pub index: usize,
    pub endpoint: Endpoint,
    state: Mutex<ReplicaState>,
    in_flight: AtomicUsize,
    /// Asks the supervisor to drop the session in `reconnect_session` and
    /// reconnect; tagged so a late request never kills a newer session.
    reconnect: Notify,
    reconnect_session: AtomicU64,
    sessions: AtomicU64,
    /// Its state, restarts and breaker for `/metrics`; updated with the
    /// state, under its lock.
    metrics: ReplicaMetrics,
}

/// A snapshot for `check` and logs.
#[derive(Debug, Clone)]
pub struct ReplicaStatus {
    pub endpoint: String,
    pub health: Health,
    pub pid: Option<u32>,
    pub restarts: u32,
    pub breaker_closed: bool,
}

impl Replica {
    /// Replica `index` of upstream `upstream`, starting.
    pub fn new(upstream: &str, index: usize, endpoint: Endpoint, breaker: Breaker) -> Self {
        let metrics = metrics::replica(upstream, index);
        metrics.breaker_open(!breaker.is_closed());
        Self {
            index,
            endpoint,
            state: Mutex::new(ReplicaState {
                health: Health::Starting,
                link: None,
                pid: None,
                restarts: 0,
                ever_ready: false,
                breaker,
            }),
            in_flight: AtomicUsize::new(0),
            reconnect: Notify::new(),
            reconnect_session: AtomicU64::new(0),
            sessions: AtomicU64::new(0),
            metrics,
        }
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, ReplicaState> {
        self.state.lock().unwrap_or_else(|e| e.into_inner())
    }

    pub fn status(&self) -> ReplicaStatus {
        let state = self.lock();
        ReplicaStatus {
            endpoint: self.endpoint.to_string(),
            health: state.health.clone(),
            pid: state.pid,
            restarts: state.restarts,
            breaker_closed: state.breaker.is_closed(),
        }
    }

    pub fn health(&self) -> Health {
        self.lock().health.clone()
    }

    pub fn in_flight(&self) -> usize {
        self.in_flight.load(Ordering::Relaxed)
    }

    /// Whether the replica is ready, its connection open, and its breaker
    /// would let a call through now (without taking a probe slot).
    pub fn usable(&self, now: Instant) -> bool {
        let state = self.lock();
        state.health == Health::Ready && state.connected() && state.breaker.would_admit(now)
    }

    /// Ready, but its connection has closed: the supervisor has not yet
    /// seen the session end and will restart it shortly.
    pub fn ready_but_disconnected(&self) -> bool {
        let state = self.lock();
        state.health == Health::Ready && !state.connected()
    }

    /// The session, if the replica is ready (breaker aside).
    pub fn link(&self) -> Option<Link> {
        let state = self.lock();
        (state.health == Health::Ready)
            .then(|| state.link.clone())
            .flatten()
    }

    /// Takes the replica for one call: `Err` says why it cannot.
    pub fn admit(self: &Arc<Self>, now: Instant) -> Result<(Link, InFlight), String> {
        let mut state = self.lock();
        let link = match (&state.health, &state.link) {
            (Health::Ready, Some(link)) => link.clone(),
            (health, _) => return Err(health.describe(now)),
        };
        if let Admission::Refused { reason, retry_in } = state.breaker.admit(now) {
            return Err(format!(
                "{reason}; next probe in {} ms",
                retry_in.as_millis()
            ));
        }
        self.in_flight.fetch_add(1, Ordering::Relaxed);
        Ok((
            link,
            InFlight {
                replica: Arc::clone(self),
                settled: false,
            },
        ))
    }

    /// Why calls cannot use this replica now, for an "unavailable" error.
    pub fn unavailable_reason(&self, now: Instant) -> String {
        let state = self.lock();
        if state.health == Health::Ready {
            if let Some(refusal) = state.breaker.refusal(now) {
                return refusal;
            }
            if !state.connected() {
                return "connection lost, restarting".into();
            }
        }
        state.health.describe(now)
    }

    /// Drops the current session (it is broken) so the supervisor restarts it.
    pub fn request_reconnect(&self, session: u64) {
        self.reconnect_session.store(session, Ordering::SeqCst);
        self.reconnect.notify_waiters();
    }

    fn reconnect_requested(&self, session: u64) -> bool {
        self.reconnect_session.load(Ordering::SeqCst) == session
    }

    fn set(&self, health: Health, link: Option<Link>, pid: Option<u32>) {
        let mut state = self.lock();
        if health == Health::Ready {
            if state.ever_ready {
                state.restarts += 1;
                self.metrics.restarted();
            }
            state.ever_ready = true;
            state.pid = pid;
        }
        state.link = link;
        self.metrics.state(health.metric_state());
        state.health = health;
    }
}

/// One call on a replica. Its outcome feeds the breaker; dropped without
/// one (the caller went away), a probe slot is given back.
pub struct InFlight {
    replica: Arc<Replica>,
    settled: bool,
}

impl InFlight {
    // Only an outcome moves the breaker between closed and not closed
    // (admitting a probe and releasing one keep it open), so only these
    // two update its gauge.
    pub fn succeeded(mut self) {
        self.settled = true;
        let mut state = self.replica.lock();
        state.breaker.record_success();
        self.replica.metrics.breaker_open(false);
    }

    pub fn failed(mut self, reason: &str) {
        self.settled = true;
        let mut state = self.replica.lock();
        state.breaker.record_failure(Instant::now(), reason);
        self.replica
            .metrics
            .breaker_open(!state.breaker.is_closed());
    }
}

impl Drop for InFlight {
    fn drop(&mut self) {
        self.replica.in_flight.fetch_sub(1, Ordering::Relaxed);
        if !self.settled {
            self.replica.lock().breaker.release_probe(Instant::now());
        }
    }
}

/// Keeps `replica` connected until the upstream shuts down.
pub async fn supervise(shared: Arc<Shared>, replica: Arc<Replica>) {
    let restart = shared.config.restart;
    let mut backoff = restart.backoff;
    let mut failures = 0u32;
    let upstream = shared.name.clone();
    let replica_index = replica.index;
    loop {
        if shared.shutdown.is_cancelled() {
            return;
        }
        replica.set(Health::Starting, None, None);
        shared.state_changed();
        let progress = Arc::new(ProgressRoutes::default());
        let client = UpstreamClient::new(
            upstream.clone(),
            progress.clone(),
            shared.changes.clone(),
            shared.config.client_requests,
        );
        let started = Instant::now();
        let session = replica.sessions.fetch_add(1, Ordering::SeqCst) + 1;
        let connected = tokio::select! {
            connected = connection::connect(&replica.endpoint, client, &shared.http, shared.config.connect_timeout) => connected,
            () = shared.shutdown.cancelled() => return,
        };
        let reason = match connected {
            Err(reason) => reason,
            Ok(connection) => {
                let peer = connection.session.peer().clone();
                match shared.refresh_listing(&peer).await {
                    Err(reason) => format!("listing its tools failed: {reason}"),
                    Ok(()) => {
                        let protocol = connection
                            .session
                            .peer_info()
                            .map(|info| info.protocol_version.to_string())
                            .unwrap_or_default();
                        tracing::info!(
                            target: "switchboard::upstream",
                            upstream = &*upstream,
                            replica = replica_index,
                            endpoint = %replica.endpoint,
                            pid = connection.pid,
                            protocol,
                            "upstream replica ready"
                        );
                        replica.set(
                            Health::Ready,
                            Some(Link {
                                peer: peer.clone(),
                                progress,
                                session,
                            }),
                            connection.pid,
                        );
                        shared.state_changed();
                        let reason = watch(&shared, &replica, connection.session, session).await;
                        if started.elapsed() >= STABLE_AFTER {
                            failures = 0;
                            backoff = restart.backoff;
                        }
                        reason
                    }
                }
            }
        };
        if shared.shutdown.is_cancelled() {
            return;
        }
        failures += 1;
        let retry_at = Instant::now() + backoff;
        if failures >= CRASH_LOOP_FAILURES {
            if failures == CRASH_LOOP_FAILURES {
                tracing::error!(
                    target: "switchboard::upstream",
                    upstream = &*upstream,
                    replica = replica_index,
                    endpoint = %replica.endpoint,
                    failures,
                    "upstream replica is in a crash loop: {reason}; retrying with backoff up to {} ms",
                    restart.max_backoff.as_millis()
                );
            }
            replica.set(
                Health::CrashLoop {
                    reason,
                    failures,
                    retry_at,
                },
                None,
                None,
            );
        } else {
            tracing::warn!(
                target: "switchboard::upstream",
                upstream = &*upstream,
                replica = replica_index,
                endpoint = %replica.endpoint,
                retry_in_ms = backoff.as_millis() as u64,
                "upstream replica down: {reason}"
            );
            replica.set(Health::Down { reason, retry_at }, None, None);
        }
        shared.state_changed();
        tokio::select! {
            () = tokio::time::sleep(backoff) => {}
            () = shared.shutdown.cancelled() => return,
        }
        backoff = (backoff * 2).min(restart.max_backoff);
    }
}

/// Runs until the session ends; says why. Meanwhile pings the upstream on
/// the health interval and keeps the session told what the host wants to
/// hear: list changes and the watched resources (a `subscriptions/listen`
/// stream on 2026-07-28, `resources/subscribe` before).
async fn watch(
    shared: &Arc<Shared>,
    replica: &Replica,
    session: Session,
    session_id: u64,
) -> String {
    let peer = session.peer().clone();
    let modern = session
        .peer_info()
        .is_some_and(|info| info.protocol_version.as_str() >= "2026-07-28");
    let listener = if modern {
        tokio::spawn(listen_for_changes(peer.clone(), shared.clone()))
    } else {
        tokio::spawn(watches::keep_subscribed(
            peer.clone(),
            shared.watched.clone(),
            shared.name.clone(),
            shared.config.connect_timeout,
        ))
    };
    let _stop_listener = AbortOnDrop(listener);

    let cancel = session.cancellation_token();
    let ended = session.waiting();
    tokio::pin!(ended);
    let interval = shared.config.health_interval;
    let mut ticks = tokio::time::interval_at(tokio::time::Instant::now() + interval, interval);
    loop {
        let reconnect = replica.reconnect.notified();
        tokio::pin!(reconnect);
        reconnect.as_mut().enable();
        if replica.reconnect_requested(session_id) {
            cancel.cancel();
            return "connection lost during a call".into();
        }
        tokio::select! {
            quit = &mut ended => {
                return match quit {
                    Ok(reason) => format!("connection closed ({})", describe_quit(&reason)),
                    Err(e) => format!("connection task failed: {e}"),
                };
            }
            _ = ticks.tick() => {
                if let Err(problem) = ping(&peer, shared.config.connect_timeout).await {
                    cancel.cancel();
                    return format!("health check failed: {problem}");
                }
            }
            () = &mut reconnect => {
                if replica.reconnect_requested(session_id) {
                    cancel.cancel();
                    return "connection lost during a call".into();
                }
            }
            () = shared.shutdown.cancelled() => {
                cancel.cancel();
                return "shutting down".into();
            }
        }
    }
}

fn describe_quit(reason: &rmcp::service::QuitReason) -> String {
    match reason {
        rmcp::service::QuitReason::Closed => {
            "the process exited or the server closed the stream".into()
        }
        other => format!("{other:?}"),
    }
}

async fn ping(peer: &Peer<RoleClient>, timeout: Duration) -> Result<(), String> {
    let request = ClientRequest::PingRequest(PingRequest::default());
    match tokio::time::timeout(timeout, peer.send_request(request)).await {
        Err(_) => Err(format!(
            "no answer to ping within {} ms",
            timeout.as_millis()
        )),
        Ok(Err(e)) => Err(e.to_string()),
        Ok(Ok(_)) => Ok(()),
    }
}

/// 2026-07-28 servers send list changes and resource updates only on a
/// `subscriptions/listen` stream: one for the lists and the watched URIs,
/// opened again when those change. One that refuses the subscription
/// simply never changes.
async fn listen_for_changes(peer: Peer<RoleClient>, shared: Arc<Shared>) {
    let mut watched = shared.watched.uris();
    loop {
        let uris = watched.borrow_and_update().clone();
        let mut filter = SubscriptionFilter::builder()
            .tools_list_changed()
            .resources_list_changed()
            .prompts_list_changed();
        if !uris.is_empty() {
            filter = filter.resource_subscriptions(uris);
        }
        let Ok(mut subscription) = peer.listen(filter.build()).await else {
            return;
        };
        loop {
            let notification = tokio::select! {
                changed = watched.changed() => match changed {
                    // Dropping the stream cancels it.
                    Ok(()) => break,
                    Err(_) => return,
                },
                notification = subscription.next() => match notification {
                    Ok(Some(notification)) => notification,
                    _ => return,
                },
            };
            match notification {
                ServerNotification::ToolListChangedNotification(_) => {
                    shared.changes.mark(&shared.name, ListChanged::Tools)
                }
                ServerNotification::ResourceListChangedNotification(_) => {
                    shared.changes.mark(&shared.name, ListChanged::Resources)
                }
                ServerNotification::PromptListChangedNotification(_) => {
                    shared.changes.mark(&shared.name, ListChanged::Prompts)
                }
                ServerNotification::ResourceUpdatedNotification(updated) => shared
                    .changes
                    .mark_updated(&shared.name, &updated.params.uri),
                _ => {}
            }
        }
    }
}

struct AbortOnDrop(tokio::task::JoinHandle<()>);

impl Drop for AbortOnDrop {
    fn drop(&mut self) {
        self.0.abort();
    }
}

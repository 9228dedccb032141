//! Making a plugin's instances, and keeping clean ones ready ahead of calls.
//!
//! Instantiating is a large part of what an isolated call costs, so each
//! plugin keeps `limits.spare_instances` instances made ahead by a
//! background task. A spare serves exactly one call and is dropped by that
//! call, so calls stay as isolated from each other as with an instance made
//! on the call's own path. (Used stores are freed by the call itself, never
//! queued: a task that does not yield must not pile up live instances.)

use std::sync::{Arc, Mutex, PoisonError};
use std::time::{Duration, Instant};

use tokio::sync::mpsc;
use tokio_util::sync::CancellationToken;
use wasmtime::{Engine, Store, UpdateDeadline};

use super::listing::Announcer;
use super::sandbox::Sandbox;
use super::state::{Interruption, PluginState};
use super::wit::{PluginInstance, PluginPre};
use crate::config::Limits;
use crate::dispatch::CallScope;
use crate::metrics::{self, Instantiation, SpareGauge};
use crate::provider::{FailureKind, ToolFailure};

/// Everything needed to make one of a plugin's instances.
pub struct InstanceFactory {
    pub name: String,
    pub engine: Engine,
    pub pre: PluginPre,
    pub limits: Limits,
    pub sandbox: Sandbox,
    /// Where what its instances announce goes.
    pub announcer: Announcer,
}

impl InstanceFactory {
    pub fn timeout(&self) -> Duration {
        Duration::from_millis(self.limits.timeout_ms)
    }

    /// A fresh store holding the plugin's sandbox and limits, stopped at
    /// `deadline` or when `cancel` fires. One with a call's `scope` is for
    /// an instance made on that call's path (no spare was ready), and is
    /// counted as such.
    pub fn new_store(
        &self,
        scope: Option<CallScope>,
        deadline: Instant,
        cancel: CancellationToken,
    ) -> Result<Store<PluginState>, ToolFailure> {
        let on_call = scope.is_some();
        let memory_bytes =
            usize::try_from(self.limits.memory_mb * 1024 * 1024).unwrap_or(usize::MAX);
        let state = PluginState::new(
            self.name.as_str().into(),
            &self.sandbox,
            self.announcer.clone(),
            memory_bytes,
            scope,
            deadline,
            cancel,
        )
        .map_err(|problem| {
            ToolFailure::new(
                FailureKind::Failed,
                format!("plugin `{}`: {problem}", self.name),
            )
        })?;
        let mut store = Store::new(&self.engine, state);
        store.limiter(|state| state.limiter());
        store.set_epoch_deadline(1);
        store.epoch_deadline_callback(|mut context| {
            let state = context.data_mut();
            if state.cancel.is_cancelled() {
                state.interrupted = Some(Interruption::Cancelled);
                return Ok(UpdateDeadline::Interrupt);
            }
            if Instant::now() >= state.deadline {
                state.interrupted = Some(Interruption::Timeout);
                return Ok(UpdateDeadline::Interrupt);
            }
            Ok(UpdateDeadline::Yield(1))
        });
        if on_call {
            metrics::instantiated(&self.name, Instantiation::OnCall);
        }
        Ok(store)
    }
}

/// An instance made ahead of any call, with the store it lives in.
pub struct Spare {
    store: Store<PluginState>,
    instance: PluginInstance,
}

impl Spare {
    /// Hands the spare to one call: from now on it answers to that call's
    /// scope, deadline and cancellation.
    pub fn bind(
        mut self,
        scope: CallScope,
        deadline: Instant,
        cancel: CancellationToken,
    ) -> (Store<PluginState>, PluginInstance) {
        self.store.data_mut().begin_call(scope, deadline, cancel);
        // Counted from now: an epoch that passed while the spare waited
        // would otherwise make the call yield once on entry.
        self.store.set_epoch_deadline(1);
        (self.store, self.instance)
    }
}

/// A plugin's ready spares and the task that keeps them topped up.
pub struct Spares {
    ready: Arc<Mutex<Vec<Spare>>>,
    /// `None` when the plugin keeps no spares (`spare_instances = 0`).
    keeper: Option<Keeper>,
}

struct Keeper {
    /// Wakes the background task when a spare was taken.
    refill: mpsc::UnboundedSender<()>,
    /// How many spares are ready; set under the `ready` lock, so it
    /// follows every push and pop in order.
    gauge: SpareGauge,
}

impl Spares {
    /// No spares: every call instantiates on its own path.
    pub fn none() -> Self {
        Self {
            ready: Arc::new(Mutex::new(Vec::new())),
            keeper: None,
        }
    }

    /// Starts the background task (it ends when these `Spares` are dropped).
    /// Must run inside the tokio runtime.
    pub fn start(factory: Arc<InstanceFactory>) -> Self {
        let target = usize::try_from(factory.limits.spare_instances).unwrap_or(0);
        if target == 0 {
            return Self::none();
        }
        let ready = Arc::new(Mutex::new(Vec::new()));
        let (refill, requests) = mpsc::unbounded_channel();
        let gauge = metrics::spare_gauge(&factory.name);
        gauge.set(0);
        tokio::spawn(keep_ready(
            factory,
            ready.clone(),
            target,
            requests,
            gauge.clone(),
        ));
        let _ = refill.send(());
        Self {
            ready,
            keeper: Some(Keeper { refill, gauge }),
        }
    }

    /// A ready spare, if there is one; another is made in the background.
    pub fn take(&self) -> Option<Spare> {
        let keeper = self.keeper.as_ref()?;
        let spare = {
            let mut ready = lock(&self.ready);
            let spare = ready.pop()?;
            keeper.gauge.set(ready.len());
            spare
        };
        let _ = keeper.refill.send(());
        Some(spare)
    }
}

fn lock(ready: &Mutex<Vec<Spare>>) -> std::sync::MutexGuard<'_, Vec<Spare>> {
    // A panic while holding the lock leaves a plain Vec: still usable.
    ready.lock().unwrap_or_else(PoisonError::into_inner)
}

async fn keep_ready(
    factory: Arc<InstanceFactory>,
    ready: Arc<Mutex<Vec<Spare>>>,
    target: usize,
    mut requests: mpsc::UnboundedReceiver<()>,
    gauge: SpareGauge,
) {
    while requests.recv().await.is_some() {
        while lock(&ready).len() < target {
            match make_spare(&factory).await {
                Ok(spare) => {
                    metrics::instantiated(&factory.name, Instantiation::Spare);
                    let mut ready = lock(&ready);
                    ready.push(spare);
                    gauge.set(ready.len());
                }
                Err(problem) => {
                    // Calls then instantiate on their own path and report
                    // whatever goes wrong there to their client.
                    tracing::debug!(plugin = %factory.name, "no spare instance: {problem}");
                    break;
                }
            }
        }
    }
}

async fn make_spare(factory: &InstanceFactory) -> Result<Spare, String> {
    let deadline = Instant::now() + factory.timeout();
    let mut store = factory
        .new_store(None, deadline, CancellationToken::new())
        .map_err(|failure| failure.message)?;
    match tokio::time::timeout_at(deadline.into(), factory.pre.instantiate_async(&mut store)).await
    {
        Ok(Ok(instance)) => Ok(Spare { store, instance }),
        Ok(Err(error)) => Err(format!("{error:#}")),
        Err(_) => Err("instantiation timed out".into()),
    }
}

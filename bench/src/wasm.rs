//! A bare wasmtime 48 harness for the floor figures: the same engine
//! settings as the host, host imports that do nothing, and either a fresh
//! store + instance per call or one warm instance reused for every call.

use std::path::Path;

use wasmtime::component::{Component, HasSelf, Linker, ResourceTable};
use wasmtime::{Engine, InstanceAllocationStrategy, Store};
use wasmtime_wasi::{WasiCtx, WasiCtxBuilder, WasiCtxView, WasiView};

wasmtime::component::bindgen!({
    path: "../wit/v0.2.0",
    world: "tool-provider",
    imports: { default: async | trappable },
    exports: { default: async },
});

use self::switchboard::plugin::{host, types};

pub struct State {
    wasi: WasiCtx,
    table: ResourceTable,
}

impl WasiView for State {
    fn ctx(&mut self) -> WasiCtxView<'_> {
        WasiCtxView {
            ctx: &mut self.wasi,
            table: &mut self.table,
        }
    }
}

impl types::Host for State {}

impl host::Host for State {
    async fn call_tool(
        &mut self,
        _name: String,
        _arguments: String,
    ) -> wasmtime::Result<Result<types::CallResult, types::ToolError>> {
        Ok(Err(types::ToolError::Denied("bench harness".into())))
    }

    async fn list_tools(&mut self) -> wasmtime::Result<Vec<types::Tool>> {
        Ok(Vec::new())
    }

    async fn log(&mut self, _level: types::LogLevel, _message: String) -> wasmtime::Result<()> {
        Ok(())
    }

    async fn progress(
        &mut self,
        _done: f64,
        _total: Option<f64>,
        _message: Option<String>,
    ) -> wasmtime::Result<()> {
        Ok(())
    }

    async fn ask(
        &mut self,
        questions: Vec<types::InputQuestion>,
    ) -> wasmtime::Result<Vec<Result<types::InputAnswer, types::ToolError>>> {
        Ok(questions
            .iter()
            .map(|_| Err(types::ToolError::Denied("bench harness".into())))
            .collect())
    }

    async fn announce(&mut self, _change: types::Change) -> wasmtime::Result<()> {
        Ok(())
    }
}

/// One engine (on-demand or pooling allocator) and one pre-linked component.
pub struct Harness {
    engine: Engine,
    pre: ToolProviderPre<State>,
}

/// A live instance and its store, reused call after call.
pub struct Warm {
    store: Store<State>,
    instance: ToolProvider,
}

impl Harness {
    pub fn new(wasm: &Path, pooling: bool) -> anyhow::Result<Self> {
        let mut config = wasmtime::Config::new();
        // As host/src/plugin/mod.rs configures its engine.
        config.wasm_component_model(true);
        config.epoch_interruption(true);
        config.cranelift_opt_level(wasmtime::OptLevel::Speed);
        if pooling {
            // The host's own pool settings, for a 64 MiB memory cap.
            let pool = ::switchboard::plugin::pool_config(64);
            config.allocation_strategy(InstanceAllocationStrategy::Pooling(pool));
        }
        let engine = Engine::new(&config)?;
        let component = Component::from_file(&engine, wasm)
            .map_err(|e| anyhow::anyhow!("compiling {}: {e:#}", wasm.display()))?;
        let mut linker = Linker::new(&engine);
        wasmtime_wasi::p2::add_to_linker_async(&mut linker)?;
        ToolProvider::add_to_linker::<_, HasSelf<_>>(&mut linker, |state| state)?;
        let pre = ToolProviderPre::new(linker.instantiate_pre(&component)?)?;
        Ok(Self { engine, pre })
    }

    fn store(&self) -> Store<State> {
        let state = State {
            wasi: WasiCtxBuilder::new().build(),
            table: ResourceTable::new(),
        };
        let mut store = Store::new(&self.engine, state);
        // Nothing ticks this engine's epoch; the deadline never arrives.
        store.set_epoch_deadline(1 << 30);
        store
    }

    /// The isolated strategy: a new store and instance for this call only.
    pub async fn fresh_call(&self, tool: &str, arguments: &str) -> anyhow::Result<()> {
        let mut store = self.store();
        let instance = self.pre.instantiate_async(&mut store).await?;
        let result = instance
            .switchboard_plugin_provider()
            .call_call_tool(&mut store, tool, arguments)
            .await?;
        check(result)
    }

    pub async fn warm(&self) -> anyhow::Result<Warm> {
        let mut store = self.store();
        let instance = self.pre.instantiate_async(&mut store).await?;
        Ok(Warm { store, instance })
    }
}

impl Warm {
    /// The floor: a call on an instance that already ran (no isolation).
    pub async fn call(&mut self, tool: &str, arguments: &str) -> anyhow::Result<()> {
        let result = self
            .instance
            .switchboard_plugin_provider()
            .call_call_tool(&mut self.store, tool, arguments)
            .await?;
        check(result)
    }
}

fn check(result: Result<types::CallResult, types::ToolError>) -> anyhow::Result<()> {
    match result {
        Ok(result) if !result.is_error => Ok(()),
        Ok(_) => anyhow::bail!("the tool answered isError"),
        Err(e) => anyhow::bail!("the tool failed: {e:?}"),
    }
}

//! The scheduler and executor processes of `clm-cluster`: Ballista's own servers, given
//! clm's codecs and session settings (`crate::session::cluster_config`).

use std::net::SocketAddr;
use std::sync::Arc;

use anyhow::{anyhow, Context, Result};
use ballista_core::registry::BallistaFunctionRegistry;
use ballista_executor::executor_process::{start_executor_process, ExecutorProcessConfig};
use ballista_scheduler::cluster::BallistaCluster;
use ballista_scheduler::config::SchedulerConfig;
use ballista_scheduler::scheduler_process::start_server;

use datafusion::execution::session_state::SessionStateBuilder;

use crate::codec::{LogicalCodec, PhysicalCodec};
use crate::engine::ClmExecutionEngine;
use crate::session::cluster_config;

/// What `clm-cluster scheduler` takes.
#[derive(Debug, Clone)]
pub struct SchedulerOptions {
    pub bind_host: String,
    pub bind_port: u16,
    /// The host name executors and clients reach the scheduler by.
    pub external_host: String,
    /// An executor without a heartbeat for this long is lost; its tasks run elsewhere.
    pub executor_timeout_seconds: u64,
    pub expire_dead_executor_interval_seconds: u64,
    pub task_max_failures: usize,
    pub stage_max_failures: usize,
    /// Largest gRPC message (a task's plan carries the in-memory tables it reads).
    pub max_message_bytes: u32,
}

/// Runs a scheduler until the process ends.
pub async fn run_scheduler(o: SchedulerOptions) -> Result<()> {
    let addr: SocketAddr = format!("{}:{}", o.bind_host, o.bind_port)
        .parse()
        .map_err(|_| {
            anyhow!(
                "--bind-host {} --bind-port {}: not an address",
                o.bind_host,
                o.bind_port
            )
        })?;
    let config = SchedulerConfig {
        bind_host: o.bind_host.clone(),
        bind_port: o.bind_port,
        external_host: o.external_host.clone(),
        executor_timeout_seconds: o.executor_timeout_seconds,
        expire_dead_executor_interval_seconds: o.expire_dead_executor_interval_seconds,
        no_executors_grace_period_seconds: o.executor_timeout_seconds,
        task_max_failures: o.task_max_failures,
        stage_max_failures: o.stage_max_failures,
        grpc_server_max_decoding_message_size: o.max_message_bytes,
        grpc_server_max_encoding_message_size: o.max_message_bytes,
        grpc_client_max_message_size: o.max_message_bytes,
        override_config_producer: Some(Arc::new(cluster_config)),
        override_logical_codec: Some(Arc::new(LogicalCodec::default())),
        override_physical_codec: Some(Arc::new(PhysicalCodec::default())),
        ..Default::default()
    };
    let cluster = BallistaCluster::new_from_config(&config)
        .await
        .map_err(|e| anyhow!("scheduler: {e}"))?;
    eprintln!(
        "clm-cluster scheduler: listening on {addr} (clients: --cluster df://{}:{})",
        o.external_host, o.bind_port
    );
    start_server(cluster, addr, Arc::new(config))
        .await
        .map_err(|e| anyhow!("scheduler on {addr}: {e}"))
}

/// What `clm-cluster executor` takes.
#[derive(Debug, Clone)]
pub struct ExecutorOptions {
    pub scheduler_host: String,
    pub scheduler_port: u16,
    pub bind_host: String,
    pub external_host: Option<String>,
    /// Arrow Flight port: the scheduler's clients and the other executors fetch results here.
    pub flight_port: u16,
    pub grpc_port: u16,
    /// Shuffle files (plaintext Arrow IPC of intermediate results): give a private directory.
    pub work_dir: Option<String>,
    /// Task slots; 0 = the CPUs.
    pub vcores: usize,
    pub heartbeat_interval_seconds: u64,
    pub memory_pool_bytes: Option<u64>,
    pub max_message_bytes: u32,
}

/// Runs an executor until the process ends.
pub async fn run_executor(o: ExecutorOptions) -> Result<()> {
    let defaults = ExecutorProcessConfig::default();
    let config = ExecutorProcessConfig {
        scheduler_host: o.scheduler_host.clone(),
        scheduler_port: o.scheduler_port,
        bind_host: o.bind_host.clone(),
        external_host: o.external_host.clone(),
        port: o.flight_port,
        grpc_port: o.grpc_port,
        work_dir: o.work_dir.clone(),
        vcores: if o.vcores == 0 {
            defaults.vcores
        } else {
            o.vcores
        },
        executor_heartbeat_interval_seconds: o.heartbeat_interval_seconds,
        memory_pool_size: o.memory_pool_bytes,
        grpc_max_decoding_message_size: o.max_message_bytes,
        grpc_max_encoding_message_size: o.max_message_bytes,
        scheduler_connect_timeout_seconds: 30,
        override_config_producer: Some(Arc::new(cluster_config)),
        override_logical_codec: Some(Arc::new(LogicalCodec::default())),
        override_physical_codec: Some(Arc::new(PhysicalCodec::default())),
        override_execution_engine: Some(Arc::new(ClmExecutionEngine::default())),
        // Ballista's default registry has DataFusion's core functions only; the query files
        // use nested ones too (array_position, unnest …): every function a session knows.
        override_function_registry: Some(Arc::new(BallistaFunctionRegistry::from(
            &SessionStateBuilder::new().with_default_features().build(),
        ))),
        ..defaults
    };
    eprintln!(
        "clm-cluster executor: flight port {}, grpc port {}, scheduler {}:{}",
        o.flight_port, o.grpc_port, o.scheduler_host, o.scheduler_port
    );
    start_executor_process(Arc::new(config))
        .await
        .map_err(|e| anyhow!("executor: {e}"))
        .context("the executor stopped")
}

/// A logger for the processes: Ballista's messages at `level` ("error", "warn", "info") and
/// above, to stderr. Plans (which carry data keys) are logged at debug level only, which is
/// why no lower level is offered.
pub fn init_logging(level: &str) {
    let level = match level {
        "error" => log::LevelFilter::Error,
        "info" => log::LevelFilter::Info,
        _ => log::LevelFilter::Warn,
    };
    struct Stderr;
    impl log::Log for Stderr {
        fn enabled(&self, m: &log::Metadata) -> bool {
            m.level() <= log::max_level()
        }
        fn log(&self, r: &log::Record) {
            // clm's executors report no operator metrics (crate::engine): the scheduler's
            // warning about each stage's missing metrics says nothing.
            if r.target() == "ballista_scheduler::state::execution_stage"
                && r.args().to_string().starts_with("The metrics for stage")
            {
                return;
            }
            if self.enabled(r.metadata()) {
                eprintln!("{} {}: {}", r.level(), r.target(), r.args());
            }
        }
        fn flush(&self) {}
    }
    static LOGGER: Stderr = Stderr;
    if log::set_logger(&LOGGER).is_ok() {
        log::set_max_level(level);
    }
}

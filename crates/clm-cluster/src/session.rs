//! Sessions whose plans run on a Ballista cluster: the consultant's (`connect`), a cluster
//! inside the process for tests and demos (`InProcess`), and the settings both share with
//! the scheduler and executor processes (`cluster_config`).

use std::sync::Arc;
use std::time::Duration;

use anyhow::{anyhow, bail, Context, Result};
use async_trait::async_trait;
use ballista::prelude::{SessionConfigExt, SessionContextExt};
use clm_query::engine::{Engine, Limits};
use clm_query::engines::Connector;
use datafusion::execution::session_state::{SessionState, SessionStateBuilder};
use datafusion::prelude::{SessionConfig, SessionContext};

use crate::codec::{LogicalCodec, PhysicalCodec};
use crate::process::{run_executor, run_scheduler, ExecutorOptions, SchedulerOptions};

/// Ballista's default scheduler port.
pub const DEFAULT_PORT: u16 = 50050;

/// The session settings of clients, scheduler and executors: clm's own (`Engine::
/// session_config`), Ballista's, clm's codecs, and no statistics collection, so that the
/// scheduler plans without opening a file (only the executors read, and decrypt).
pub fn cluster_config() -> SessionConfig {
    let mut config = Engine::session_config()
        .upgrade_for_ballista()
        .with_ballista_logical_extension_codec(Arc::new(LogicalCodec::default()))
        .with_ballista_physical_extension_codec(Arc::new(PhysicalCodec::default()));
    config.options_mut().execution.collect_statistics = false;
    config
}

fn state(config: SessionConfig, limits: &Limits) -> Result<SessionState> {
    Ok(SessionStateBuilder::new()
        .with_config(config)
        .with_runtime_env(Engine::runtime(limits)?)
        .with_default_features()
        .build())
}

/// `df://HOST:PORT` (the port defaults to 50050) as host and port.
pub fn parse_url(url: &str) -> Result<(String, u16)> {
    let bad = || {
        anyhow!(
            "--cluster {url:?}: give the scheduler as df://HOST:PORT, e.g. df://127.0.0.1:50050"
        )
    };
    let rest = url.strip_prefix("df://").ok_or_else(bad)?;
    let rest = rest.trim_end_matches('/');
    let (host, port) = match rest.rsplit_once(':') {
        Some((h, p)) => (h, p.parse::<u16>().map_err(|_| bad())?),
        None => (rest, DEFAULT_PORT),
    };
    if host.is_empty() || host.contains('/') {
        return Err(bad());
    }
    Ok((host.to_string(), port))
}

/// An engine whose queries run on the Ballista scheduler at `url` (`df://HOST:PORT`), whose
/// scheduler and executors are `clm-cluster` processes (stock Ballista binaries lack clm's
/// codecs and cannot read a bundle).
pub async fn connect(url: &str, limits: Limits) -> Result<Engine> {
    let (host, port) = parse_url(url)?;
    // Ballista connects only when the first query runs; say now if nobody listens.
    match tokio::time::timeout(
        Duration::from_secs(10),
        tokio::net::TcpStream::connect((host.as_str(), port)),
    )
    .await
    {
        Ok(Ok(_)) => {}
        Ok(Err(e)) => bail!(
            "--cluster {url}: no scheduler answers at {host}:{port} ({e}); start one with \
             `clm-cluster scheduler --bind-port {port}` and its executors with `clm-cluster executor`"
        ),
        Err(_) => bail!("--cluster {url}: {host}:{port} did not answer within 10 s"),
    }
    let state = state(cluster_config(), &limits)?;
    let ctx = SessionContext::remote_with_state(&format!("df://{host}:{port}"), state)
        .await
        .with_context(|| format!("--cluster {url}"))?;
    Engine::from_context(ctx, limits, true)
}

/// A scheduler and its executors inside this process, for tests and demos: the same
/// servers as the `clm-cluster` processes (`crate::process`), each on free ports of
/// 127.0.0.1, so plans are serialized, cut into tasks and decoded exactly as across machines.
/// They live as long as the tokio runtime that started them.
pub struct InProcess {
    url: String,
}

impl InProcess {
    /// Starts a scheduler and `executors` executors of `vcores` task slots each, and returns
    /// once they all listen.
    pub async fn start(executors: usize, vcores: usize) -> Result<InProcess> {
        let port = free_port()?;
        tokio::spawn(run_scheduler(SchedulerOptions {
            bind_host: "127.0.0.1".into(),
            bind_port: port,
            external_host: "127.0.0.1".into(),
            executor_timeout_seconds: 30,
            expire_dead_executor_interval_seconds: 5,
            task_max_failures: 4,
            stage_max_failures: 4,
            max_message_bytes: 256 << 20,
        }));
        wait_listening(port, "the in-process scheduler").await?;
        for _ in 0..executors {
            let (flight_port, grpc_port) = (free_port()?, free_port()?);
            tokio::spawn(run_executor(ExecutorOptions {
                scheduler_host: "127.0.0.1".into(),
                scheduler_port: port,
                bind_host: "127.0.0.1".into(),
                external_host: Some("127.0.0.1".into()),
                flight_port,
                grpc_port,
                work_dir: None,
                vcores,
                heartbeat_interval_seconds: 5,
                memory_pool_bytes: None,
                max_message_bytes: 256 << 20,
            }));
            wait_listening(flight_port, "an in-process executor").await?;
        }
        Ok(InProcess {
            url: format!("df://127.0.0.1:{port}"),
        })
    }

    /// The scheduler's address, for `connect`.
    pub fn url(&self) -> &str {
        &self.url
    }
}

fn free_port() -> Result<u16> {
    let l = std::net::TcpListener::bind("127.0.0.1:0").context("no free port on 127.0.0.1")?;
    Ok(l.local_addr()?.port())
}

async fn wait_listening(port: u16, what: &str) -> Result<()> {
    for _ in 0..300 {
        if tokio::net::TcpStream::connect(("127.0.0.1", port))
            .await
            .is_ok()
        {
            return Ok(());
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    bail!("{what} does not listen on 127.0.0.1:{port} after 15 s")
}

/// Engines on the cluster at a `df://` address (`clm-analyze --cluster`).
pub struct Remote {
    pub url: String,
}

#[async_trait]
impl Connector for Remote {
    async fn engine(&self, limits: Limits) -> Result<Engine> {
        connect(&self.url, limits).await
    }

    fn describe(&self) -> String {
        format!("the Ballista cluster at {}", self.url)
    }
}

/// Stack of each runtime thread: plans of the query files nest a few hundred levels deep,
/// and their protobuf is encoded and decoded recursively (8 MiB overflowed in debug builds).
pub const STACK_BYTES: usize = 64 << 20;

/// A tokio runtime whose threads have `STACK_BYTES` of stack, for processes and sessions that
/// encode or decode plans.
pub fn runtime() -> std::io::Result<tokio::runtime::Runtime> {
    tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .thread_stack_size(STACK_BYTES)
        .build()
}

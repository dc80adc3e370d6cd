//! `clm-cluster`: a Ballista scheduler or executor that can read clm bundles.
use std::process::ExitCode;

use clap::{Parser, Subcommand};
use clm_cluster::process::{self, ExecutorOptions, SchedulerOptions};

const AFTER_HELP: &str = "\
A cluster is one scheduler and any number of executors. The consultant's clm-analyze sends
its SQL to the scheduler (--cluster df://HOST:PORT); the executors read and decrypt the
bundle files themselves, so every executor must see the bundle directories at the same
paths as the consultant (a shared directory). The data key travels inside each task's plan
over gRPC: run the cluster on machines and a network you trust (127.0.0.1, a private net).

Examples (one machine, two executors):
  clm-cluster scheduler --bind-port 50050
  clm-cluster executor --scheduler-port 50050 --flight-port 50051 --grpc-port 50052 --work-dir /tmp/e1
  clm-cluster executor --scheduler-port 50050 --flight-port 50061 --grpc-port 50062 --work-dir /tmp/e2
  clm-analyze run segmentation --bundle B --data-key kd.key --cluster df://127.0.0.1:50050";

#[derive(Parser, Debug)]
#[command(name = "clm-cluster", version, about = "A Ballista scheduler or executor for clm bundles", after_help = AFTER_HELP)]
struct Cli {
    /// Ballista's log messages from this level on, to stderr (error, warn, info)
    #[arg(long, global = true, default_value = "warn", value_parser = ["error", "warn", "info"])]
    log_level: String,
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand, Debug)]
enum Command {
    /// Run a scheduler: it plans the queries and hands their tasks to the executors
    Scheduler {
        #[arg(long, default_value = "127.0.0.1")]
        bind_host: String,
        #[arg(long, default_value_t = 50050)]
        bind_port: u16,
        /// The host name executors and clients reach this scheduler by
        #[arg(long, default_value = "localhost")]
        external_host: String,
        /// An executor silent for this long is lost: its tasks run again elsewhere
        #[arg(long, default_value_t = 180)]
        executor_timeout_seconds: u64,
        /// How often lost executors are looked for
        #[arg(long, default_value_t = 15)]
        expire_dead_executor_interval_seconds: u64,
        /// Attempts of one task before its query fails
        #[arg(long, default_value_t = 4)]
        task_max_failures: usize,
        /// Attempts of one stage before its query fails
        #[arg(long, default_value_t = 4)]
        stage_max_failures: usize,
        /// Largest gRPC message in MiB (a task's plan holds the small tables it reads)
        #[arg(long, default_value_t = 256)]
        max_message_mib: u32,
    },
    /// Run an executor: it runs tasks, reading and decrypting the bundle files
    Executor {
        #[arg(long, default_value = "localhost")]
        scheduler_host: String,
        #[arg(long, default_value_t = 50050)]
        scheduler_port: u16,
        #[arg(long, default_value = "127.0.0.1")]
        bind_host: String,
        /// The host name the scheduler and the other executors reach this one by
        #[arg(long)]
        external_host: Option<String>,
        /// Arrow Flight port (results and shuffles are fetched here)
        #[arg(long, default_value_t = 50051)]
        flight_port: u16,
        #[arg(long, default_value_t = 50052)]
        grpc_port: u16,
        /// Directory of the shuffle files: intermediate results, decrypted (plain Arrow IPC):
        /// a private directory on an encrypted disk. Default: a temporary directory
        #[arg(long)]
        work_dir: Option<String>,
        /// Task slots (0: one per CPU)
        #[arg(long, default_value_t = 0)]
        vcores: usize,
        /// Seconds between heartbeats to the scheduler
        #[arg(long, default_value_t = 60)]
        heartbeat_interval_seconds: u64,
        /// Memory the tasks of this executor may hold, in MiB (default: no limit)
        #[arg(long)]
        memory_pool_mib: Option<u64>,
        /// Largest gRPC message in MiB
        #[arg(long, default_value_t = 256)]
        max_message_mib: u32,
    },
}

fn main() -> ExitCode {
    let cli = Cli::parse();
    process::init_logging(&cli.log_level);
    let rt = match clm_cluster::session::runtime() {
        Ok(rt) => rt,
        Err(e) => {
            eprintln!("clm-cluster: cannot start: {e}");
            return ExitCode::from(1);
        }
    };
    let mib = |m: u32| m.saturating_mul(1 << 20);
    let result = rt.block_on(async {
        match cli.command {
            Command::Scheduler {
                bind_host,
                bind_port,
                external_host,
                executor_timeout_seconds,
                expire_dead_executor_interval_seconds,
                task_max_failures,
                stage_max_failures,
                max_message_mib,
            } => {
                process::run_scheduler(SchedulerOptions {
                    bind_host,
                    bind_port,
                    external_host,
                    executor_timeout_seconds,
                    expire_dead_executor_interval_seconds,
                    task_max_failures,
                    stage_max_failures,
                    max_message_bytes: mib(max_message_mib),
                })
                .await
            }
            Command::Executor {
                scheduler_host,
                scheduler_port,
                bind_host,
                external_host,
                flight_port,
                grpc_port,
                work_dir,
                vcores,
                heartbeat_interval_seconds,
                memory_pool_mib,
                max_message_mib,
            } => {
                process::run_executor(ExecutorOptions {
                    scheduler_host,
                    scheduler_port,
                    bind_host,
                    external_host,
                    flight_port,
                    grpc_port,
                    work_dir,
                    vcores,
                    heartbeat_interval_seconds,
                    memory_pool_bytes: memory_pool_mib.map(|m| m << 20),
                    max_message_bytes: mib(max_message_mib),
                })
                .await
            }
        }
    });
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("clm-cluster: {e:#}");
            ExitCode::from(1)
        }
    }
}

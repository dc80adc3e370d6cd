//! The executors' execution engine: Ballista's own, except that tasks report no
//! per-operator metrics.
//!
//! Why: the scheduler cuts a stage's plan per task (`restrict_plan_to_partitions`), and a
//! `UNION` whose branches come from different inputs (the metrics query's starter services:
//! `unnest($starter_services) UNION SELECT service …`) gives tasks plans of different shapes.
//! Ballista 55 then refuses the second task's metrics ("task metrics array size 9 does not
//! equal with the stage metrics array size 8"), drops its status update, and the job never
//! finishes: the client waits forever. Operator metrics only feed Ballista's REST display
//! (which clm does not build), so the executors leave them out; everything the scheduler
//! plans with (shuffle partition statistics, runtime statistics, window state) still goes.

use std::fmt;
use std::sync::Arc;

use ballista_core::serde::protobuf::{
    RuntimeStatsReport, ShuffleWritePartition, TaskColumnStats, WindowStateReport,
};
use ballista_core::JobId;
use ballista_executor::execution_engine::{
    DefaultExecutionEngine, ExecutionEngine, QueryStageExecutor,
};
use datafusion::error::Result;
use datafusion::execution::TaskContext;
use datafusion::physical_plan::metrics::MetricsSet;
use datafusion::physical_plan::ExecutionPlan;
use datafusion::prelude::SessionConfig;

/// `DefaultExecutionEngine` whose stage executors report no operator metrics.
#[derive(Default)]
pub struct ClmExecutionEngine {
    inner: DefaultExecutionEngine,
}

impl ExecutionEngine for ClmExecutionEngine {
    fn create_query_stage_exec(
        &self,
        job_id: JobId,
        stage_id: usize,
        task_id: usize,
        global_output_partition_ids: Vec<usize>,
        plan: Arc<dyn ExecutionPlan>,
        work_dir: &str,
        config: &SessionConfig,
    ) -> Result<Arc<dyn QueryStageExecutor>> {
        let inner = self.inner.create_query_stage_exec(
            job_id,
            stage_id,
            task_id,
            global_output_partition_ids,
            plan,
            work_dir,
            config,
        )?;
        Ok(Arc::new(WithoutOperatorMetrics(inner)))
    }
}

struct WithoutOperatorMetrics(Arc<dyn QueryStageExecutor>);

impl fmt::Debug for WithoutOperatorMetrics {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        fmt::Debug::fmt(&self.0, f)
    }
}

impl fmt::Display for WithoutOperatorMetrics {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        fmt::Display::fmt(&self.0, f)
    }
}

#[async_trait::async_trait]
impl QueryStageExecutor for WithoutOperatorMetrics {
    async fn execute_query_stage(
        &self,
        task_id: usize,
        context: Arc<TaskContext>,
    ) -> Result<Vec<ShuffleWritePartition>> {
        self.0.execute_query_stage(task_id, context).await
    }

    fn collect_plan_metrics(&self) -> Vec<MetricsSet> {
        Vec::new()
    }

    fn collect_runtime_stats_reports(&self) -> Vec<RuntimeStatsReport> {
        self.0.collect_runtime_stats_reports()
    }

    fn collect_window_state_reports(&self) -> Result<Vec<WindowStateReport>> {
        self.0.collect_window_state_reports()
    }

    fn collect_column_stats(&self) -> Vec<TaskColumnStats> {
        self.0.collect_column_stats()
    }
}

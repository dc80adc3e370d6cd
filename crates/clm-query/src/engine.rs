//! The engine: a DataFusion session whose canonical tables come either from bundles
//! (`crate::bundles`) or from in-memory batches (tests, fixtures), and that runs the SQL
//! library with its parameters bound as values.
//!
//! Rust only loads, binds, runs and formats: every analysis is its SQL file.

use std::collections::{BTreeMap, BTreeSet};
use std::sync::Arc;

use anyhow::{anyhow, bail, Result};
use chrono::NaiveDate;
use datafusion::arrow::datatypes::{DataType, SchemaRef};
use datafusion::arrow::record_batch::RecordBatch;
use datafusion::common::tree_node::TreeNodeRecursion;
use datafusion::common::{ParamValues, TableReference};
use datafusion::datasource::MemTable;
use datafusion::error::DataFusionError;
use datafusion::execution::context::SQLOptions;
use datafusion::execution::disk_manager::{DiskManagerBuilder, DiskManagerMode};
use datafusion::execution::runtime_env::RuntimeEnvBuilder;
use datafusion::logical_expr::{DdlStatement, LogicalPlan};
use datafusion::prelude::{SessionConfig, SessionContext};
use datafusion::scalar::ScalarValue;

use crate::profile::Profile;
use crate::queries::{Analysis, Statement};

/// A named result table.
#[derive(Debug, Clone)]
pub struct Output {
    pub name: String,
    pub schema: SchemaRef,
    pub batches: Vec<RecordBatch>,
}

impl Output {
    pub fn num_rows(&self) -> usize {
        self.batches.iter().map(|b| b.num_rows()).sum()
    }
}

/// What a run of an analysis produced.
#[derive(Debug, Clone, Default)]
pub struct RunResult {
    pub outputs: Vec<Output>,
    /// Things the user should know (an optional table missing, ...), for stderr.
    pub notes: Vec<String>,
}

/// Where a canonical table comes from, for `\d` and messages.
#[derive(Debug, Clone)]
pub enum TableOrigin {
    Memory,
    Bundles { files: usize, bundles: usize },
}

/// Why an analysis cannot run on the tables at hand.
#[derive(Debug)]
pub struct MissingTables {
    pub analysis: String,
    pub missing: Vec<(String, String)>,
}

impl std::fmt::Display for MissingTables {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let list: Vec<String> = self
            .missing
            .iter()
            .map(|(t, why)| {
                if why.is_empty() {
                    format!("table `{t}`")
                } else {
                    format!("table `{t}` ({why})")
                }
            })
            .collect();
        write!(
            f,
            "analysis `{}` needs {}, which the bundle does not have",
            self.analysis,
            list.join(" and ")
        )
    }
}

impl std::error::Error for MissingTables {}

/// Placeholders the engine binds itself; the list lives with the profiles, whose `[params]`
/// may not set them (profile does not depend on the engine).
pub use crate::profile::BOUND_BY_ENGINE;

/// Which outputs of an analysis a run collects.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Select<'a> {
    /// Every output not marked `detail`.
    Summaries,
    /// The one output of this name.
    Only(&'a str),
    /// Every output, details too (the report).
    All,
}

/// What the SQL of a run may do (SPEC §5: the analysis reads the bundle's tables only, and
/// writes only through `--out`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Rights {
    /// Ad-hoc SQL (`sql`, `shell`): queries (SELECT, WITH, VALUES, EXPLAIN, DESCRIBE, SHOW)
    /// and `CREATE [OR REPLACE] VIEW` over them (a named query: no data, no file). No other
    /// DDL, no DML, COPY or SET.
    Query,
    /// The query library (embedded files, `--queries DIR`, a profile's `[queries]`): queries,
    /// and `CREATE [OR REPLACE] VIEW` / `CREATE TABLE ... AS` over them (in memory, dropped
    /// when the analysis ends). Still no external tables, COPY, INSERT or SET.
    Library,
}

/// Resource limits of a session.
#[derive(Debug, Clone)]
pub struct Limits {
    /// Bytes the operators (hash tables, sorts, aggregates) may hold in all.
    pub memory: usize,
    /// Where operators that can spill write their temporary files. None: no spilling (the
    /// default, so that no decrypted rows ever reach the disk).
    pub spill_dir: Option<std::path::PathBuf>,
}

impl Default for Limits {
    fn default() -> Self {
        Limits {
            memory: default_memory_limit(),
            spill_dir: None,
        }
    }
}

/// The default memory limit: half the machine's memory (MemTotal of /proc/meminfo), 4 GiB
/// where that cannot be read. Half, because the pool counts only what operators reserve
/// (hash tables, sort buffers, aggregation state), not the batches in flight, the collected
/// result or its formatting, which come on top; and of the total rather than of what is free
/// now, so that whether a query fits does not depend on what else happens to run.
pub fn default_memory_limit() -> usize {
    let total = std::fs::read_to_string("/proc/meminfo").ok().and_then(|t| {
        t.lines()
            .find_map(|l| l.strip_prefix("MemTotal:"))
            .and_then(|v| v.trim().trim_end_matches("kB").trim().parse::<u64>().ok())
            .map(|kb| kb * 1024)
    });
    match total {
        Some(t) => (t / 2) as usize,
        None => 4 << 30,
    }
}

/// Reads a size: `4G`, `512M`, `1.5GiB`, `800000000`, or `50%` (of the machine's memory).
pub fn parse_size(text: &str) -> Result<usize> {
    let t = text.trim();
    let bad = || {
        anyhow!("--memory-limit {text:?}: give a size such as 4G, 512M or 50% (of the machine's memory)")
    };
    if let Some(p) = t.strip_suffix('%') {
        let p: f64 = p.trim().parse().map_err(|_| bad())?;
        if !(p > 0.0 && p <= 100.0) {
            return Err(bad());
        }
        return Ok((default_memory_limit() as f64 * 2.0 * p / 100.0) as usize);
    }
    let upper = t.to_ascii_uppercase();
    let digits_end = upper
        .find(|c: char| !(c.is_ascii_digit() || c == '.'))
        .unwrap_or(upper.len());
    let (num, unit) = upper.split_at(digits_end);
    let num: f64 = num.parse().map_err(|_| bad())?;
    let mult: f64 = match unit.trim().trim_end_matches('B').trim_end_matches('I') {
        "" => 1.0,
        "K" => 1024.0,
        "M" => 1024.0 * 1024.0,
        "G" => 1024.0 * 1024.0 * 1024.0,
        "T" => 1024.0 * 1024.0 * 1024.0 * 1024.0,
        _ => return Err(bad()),
    };
    let bytes = num * mult;
    if bytes.is_nan() || bytes < 1.0 || bytes > usize::MAX as f64 {
        return Err(bad());
    }
    Ok(bytes as usize)
}

/// A size for people: 3.9 GiB, 512 MiB.
pub fn human_size(bytes: usize) -> String {
    let b = bytes as f64;
    const G: f64 = 1024.0 * 1024.0 * 1024.0;
    const M: f64 = 1024.0 * 1024.0;
    if b >= G {
        format!("{:.1} GiB", b / G)
    } else if b >= M {
        format!("{:.0} MiB", b / M)
    } else {
        format!("{:.0} KiB", b / 1024.0)
    }
}

pub struct Engine {
    ctx: SessionContext,
    tables: BTreeMap<String, TableOrigin>,
    default_as_of: Option<NaiveDate>,
    limits: Limits,
    cluster: bool,
}

impl Default for Engine {
    fn default() -> Self {
        Self::new()
    }
}

impl Engine {
    /// An engine with the default limits (`Limits::default`).
    pub fn new() -> Engine {
        Engine::with_limits(Limits::default())
            .expect("a session with the default limits can always be built")
    }

    /// An engine whose queries run under `limits`.
    pub fn with_limits(limits: Limits) -> Result<Engine> {
        let ctx =
            SessionContext::new_with_config_rt(Engine::session_config(), Engine::runtime(&limits)?);
        Engine::from_context(ctx, limits, false)
    }

    /// The session settings every engine runs with, local or on a cluster.
    pub fn session_config() -> SessionConfig {
        let mut config = SessionConfig::new()
            .with_information_schema(true)
            .with_default_catalog_and_schema("clm", "bundle");
        let options = config.options_mut();
        // Parquet strings are read as Utf8, the canonical type, rather than as Utf8View:
        // `crate::bundles` would otherwise copy every string column of every row into Utf8.
        options.execution.parquet.schema_force_view_types = false;
        // Joins hash their build side once and probe it from every partition, rather than
        // first repartitioning both sides by the join key: on the few cores of a consultant's
        // machine, shuffling millions of rows costs more than a parallel build gains (about a
        // tenth less CPU over the analysis suite on 2 cores).
        options.optimizer.repartition_joins = false;
        config
    }

    /// The memory pool and spill directory of `limits`.
    pub fn runtime(limits: &Limits) -> Result<Arc<datafusion::execution::runtime_env::RuntimeEnv>> {
        let disk = match &limits.spill_dir {
            Some(dir) => DiskManagerMode::Directories(vec![dir.clone()]),
            None => DiskManagerMode::Disabled,
        };
        Ok(RuntimeEnvBuilder::new()
            .with_memory_limit(limits.memory, 1.0)
            .with_disk_manager_builder(DiskManagerBuilder::default().with_mode(disk))
            .build_arc()?)
    }

    /// An engine over a session built elsewhere from `session_config` and `runtime` (crate
    /// `clm-cluster` builds one whose plans run on a Ballista cluster: `cluster`).
    pub fn from_context(ctx: SessionContext, limits: Limits, cluster: bool) -> Result<Engine> {
        // No table from a path or URL in a query (`SELECT * FROM '/etc/passwd'`): the session
        // is never given `enable_url_table()` (tests/hostile.rs checks it).
        guard_value_builders(&ctx, limits.memory);
        // Table functions that read files (none are registered by default: DataFusion's are
        // generate_series and range) would reach past the bundle: refuse to start with one.
        for name in ctx.state().table_functions().keys() {
            if !matches!(name.as_str(), "generate_series" | "range") {
                bail!("internal: table function {name} is registered; the analysis reads the bundle's tables only");
            }
        }
        Ok(Engine {
            ctx,
            tables: BTreeMap::new(),
            default_as_of: None,
            limits,
            cluster,
        })
    }

    /// Whether the plans run on a Ballista cluster (`--cluster`): bundle tables are then read
    /// through `crate::bundle_table`, whose key travels with the plan.
    pub fn is_cluster(&self) -> bool {
        self.cluster
    }

    pub fn limits(&self) -> &Limits {
        &self.limits
    }

    pub fn context(&self) -> &SessionContext {
        &self.ctx
    }

    /// D when `--as-of` is not given: the latest as-of date of the bundles.
    pub fn default_as_of(&self) -> Option<NaiveDate> {
        self.default_as_of
    }

    pub fn set_default_as_of(&mut self, d: NaiveDate) {
        self.default_as_of = Some(d);
    }

    /// The canonical tables at hand.
    pub fn tables(&self) -> &BTreeMap<String, TableOrigin> {
        &self.tables
    }

    pub fn has_table(&self, table: &str) -> bool {
        self.tables.contains_key(table)
    }

    /// Registers an in-memory canonical table. The batches must have the table's canonical
    /// schema (column names and types, in schema order).
    pub fn register_batches(&mut self, table: &str, batches: Vec<RecordBatch>) -> Result<()> {
        let schema = canonical_schema(table)?;
        for b in &batches {
            let got: Vec<(&str, &DataType)> = b
                .schema_ref()
                .fields()
                .iter()
                .map(|f| (f.name().as_str(), f.data_type()))
                .collect();
            let want: Vec<(&str, &DataType)> = schema
                .fields()
                .iter()
                .map(|f| (f.name().as_str(), f.data_type()))
                .collect();
            if got != want {
                bail!("batch for table {table} does not have the canonical schema: got {got:?}, want {want:?}");
            }
        }
        let batches = batches
            .into_iter()
            .map(|b| RecordBatch::try_new(schema.clone(), b.columns().to_vec()))
            .collect::<std::result::Result<Vec<_>, _>>()?;
        let mem = MemTable::try_new(schema, vec![batches])?;
        self.ctx.deregister_table(table)?;
        self.ctx.register_table(table, Arc::new(mem))?;
        self.tables.insert(table.to_string(), TableOrigin::Memory);
        Ok(())
    }

    /// Registers a canonical table provided by `crate::bundles`.
    pub(crate) fn register_provider(
        &mut self,
        table: &str,
        provider: Arc<dyn datafusion::catalog::TableProvider>,
        origin: TableOrigin,
    ) -> Result<()> {
        self.ctx.deregister_table(table)?;
        self.ctx.register_table(table, provider)?;
        self.tables.insert(table.to_string(), origin);
        Ok(())
    }

    /// Every placeholder value of a run: the profile's parameters, `$stage_order` (and the
    /// stage texts aligned with it) and `$as_of`.
    pub fn param_values(profile: &Profile, as_of: NaiveDate) -> ParamValues {
        let mut values = profile.param_values();
        values.push(("as_of".into(), date_scalar(as_of)));
        ParamValues::from(values)
    }

    /// `param_values`, plus `$tables_present`: the canonical tables this engine holds.
    pub fn run_param_values(&self, profile: &Profile, as_of: NaiveDate) -> ParamValues {
        let mut values = profile.param_values();
        values.push(("as_of".into(), date_scalar(as_of)));
        let present: Vec<String> = self.tables.keys().cloned().collect();
        values.push((
            "tables_present".into(),
            crate::profile::string_list(&present),
        ));
        ParamValues::from(values)
    }

    /// Runs an analysis. `detail`: the name of the one output wanted (a detail output such
    /// as the per-client list); `None`: every output not marked `detail`.
    pub async fn run(
        &self,
        analysis: &Analysis,
        profile: &Profile,
        as_of: NaiveDate,
        detail: Option<&str>,
    ) -> Result<RunResult> {
        let select = match detail {
            Some(d) => Select::Only(d),
            None => Select::Summaries,
        };
        self.run_select(analysis, profile, as_of, select).await
    }

    /// Runs an analysis and collects the outputs `select` names.
    pub async fn run_select(
        &self,
        analysis: &Analysis,
        profile: &Profile,
        as_of: NaiveDate,
        select: Select<'_>,
    ) -> Result<RunResult> {
        if let Select::Only(d) = select {
            if !analysis.outputs().any(|o| o.name == d) {
                let names: Vec<&str> = analysis.outputs().map(|o| o.name.as_str()).collect();
                bail!(
                    "analysis `{}` has no output `{d}` (outputs: {})",
                    analysis.name,
                    names.join(", ")
                );
            }
        }
        let missing: Vec<(String, String)> = analysis
            .requires
            .iter()
            .filter(|t| !self.has_table(&t.table))
            .map(|t| (t.table.clone(), t.reason.clone()))
            .collect();
        if !missing.is_empty() {
            return Err(MissingTables {
                analysis: analysis.name.clone(),
                missing,
            }
            .into());
        }
        for p in &analysis.params {
            if !BOUND_BY_ENGINE.contains(&p.as_str()) && !profile.params.contains_key(p) {
                let hint = match analysis.name.as_str() {
                    "loyalty" => " (the points rules: give --loyalty FILE, see examples/loyalty.toml)",
                    "targets" => " (the targets: use `clm-analyze targets --targets FILE`, see examples/targets.toml)",
                    _ => "",
                };
                bail!(
                    "analysis `{}` uses parameter ${p}, which profile {} does not define{hint}",
                    analysis.name,
                    profile.origin
                );
            }
        }
        let params = self.run_param_values(profile, as_of);
        let mut result = RunResult::default();
        let mut scratch: Vec<TableReference> = Vec::new();
        for t in &analysis.optional {
            if !self.has_table(&t.table) {
                let schema = canonical_schema(&t.table)?;
                self.ctx.register_table(
                    t.table.as_str(),
                    Arc::new(MemTable::try_new(schema, vec![vec![]])?),
                )?;
                scratch.push(TableReference::bare(t.table.clone()));
                result.notes.push(format!(
                    "the bundle has no {} table: {}",
                    t.table,
                    if t.reason.is_empty() {
                        "it is read as empty"
                    } else {
                        &t.reason
                    }
                ));
            }
        }
        let outcome = self
            .run_statements(analysis, &params, select, &mut scratch)
            .await;
        // The analysis's own views and tables go, so the next analysis starts clean.
        for name in scratch.iter().rev() {
            let _ = self.ctx.deregister_table(name.clone());
        }
        result.outputs = outcome?;
        Ok(result)
    }

    async fn run_statements(
        &self,
        analysis: &Analysis,
        params: &ParamValues,
        select: Select<'_>,
        scratch: &mut Vec<TableReference>,
    ) -> Result<Vec<Output>> {
        let mut outputs = Vec::new();
        // CLM_TIMINGS=1: how long each statement took, for whoever tunes a query file
        let timings = std::env::var_os("CLM_TIMINGS").is_some_and(|v| v != "0");
        for st in &analysis.statements {
            let started = std::time::Instant::now();
            let wanted = match (&st.output, select) {
                (None, _) => None,
                (Some(o), Select::Only(d)) => (o.name == d).then_some(o),
                (Some(o), Select::Summaries) => (!o.detail).then_some(o),
                (Some(o), Select::All) => Some(o),
            };
            if st.output.is_some() && wanted.is_none() {
                continue;
            }
            let (created, df) = self
                .execute(&st.sql, params)
                .await
                .map_err(|e| statement_error(self, analysis, st, e))?;
            if let Some(name) = created {
                scratch.push(name);
            }
            if let Some(o) = wanted {
                let schema = Arc::new(df.schema().as_arrow().clone());
                let batches = self
                    .collect(df)
                    .await
                    .map_err(|e| statement_error(self, analysis, st, e.into()))?;
                outputs.push(Output {
                    name: o.name.clone(),
                    schema,
                    batches,
                });
            }
            if timings {
                eprintln!(
                    "timing: {:>8.3} s  {}",
                    started.elapsed().as_secs_f64(),
                    st.origin
                );
            }
        }
        Ok(outputs)
    }

    /// Plans one statement, binds the placeholders, and executes it (DDL at once; a query
    /// returns its DataFrame). Returns the name of the view or table it created, if any.
    async fn execute(
        &self,
        sql: &str,
        params: &ParamValues,
    ) -> Result<(Option<TableReference>, datafusion::dataframe::DataFrame)> {
        let plan = self.ctx.state().create_logical_plan(sql).await?;
        self.check_rights(&plan, Rights::Library)?;
        let plan = plan.with_param_values(params.clone())?;
        let created = match &plan {
            LogicalPlan::Ddl(DdlStatement::CreateView(v)) => Some(v.name.clone()),
            LogicalPlan::Ddl(DdlStatement::CreateMemoryTable(t)) => Some(t.name.clone()),
            _ => None,
        };
        let df = self.ctx.execute_logical_plan(plan).await?;
        Ok((created, df))
    }

    /// Runs ad-hoc SQL (one or more statements). `$as_of` and the profile's parameters are
    /// bound as for an analysis. Each statement that returns rows gives an output
    /// (`result`, or `result1`, `result2`, ... when there are several).
    pub async fn sql(&self, text: &str, params: &ParamValues) -> Result<Vec<Output>> {
        let chunks: Vec<_> = crate::queries::split_statements(text)
            .into_iter()
            .filter(|c| c.has_sql)
            .collect();
        if chunks.is_empty() {
            bail!("no SQL statement given");
        }
        let many = chunks.len() > 1;
        let mut outputs = Vec::new();
        for (i, c) in chunks.iter().enumerate() {
            let run = async {
                let plan = self
                    .ctx
                    .state()
                    .create_logical_plan(&c.text)
                    .await
                    .map_err(|e| self.user_error(e))?;
                self.check_rights(&plan, Rights::Query)?;
                let plan = plan
                    .with_param_values(params.clone())
                    .map_err(|e| self.user_error(e))?;
                let quiet = matches!(plan, LogicalPlan::Ddl(_) | LogicalPlan::Statement(_));
                let df = self
                    .ctx
                    .execute_logical_plan(plan)
                    .await
                    .map_err(|e| self.user_error(e))?;
                let schema = Arc::new(df.schema().as_arrow().clone());
                let batches = self.collect(df).await.map_err(|e| self.user_error(e))?;
                Ok::<_, anyhow::Error>((quiet, schema, batches))
            };
            let (quiet, schema, batches) = run.await.map_err(|e| {
                if many {
                    anyhow!("statement {} (line {}): {e:#}", i + 1, c.first_sql_line)
                } else {
                    e
                }
            })?;
            if !quiet {
                outputs.push(Output {
                    name: String::new(),
                    schema,
                    batches,
                });
            }
        }
        let n = outputs.len();
        for (i, o) in outputs.iter_mut().enumerate() {
            o.name = if n == 1 {
                "result".into()
            } else {
                format!("result{}", i + 1)
            };
        }
        Ok(outputs)
    }

    /// The rows of a query, held to the memory limit: the pool counts what operators hold,
    /// not the result being gathered (`SELECT * FROM visits, visits` would otherwise fill the
    /// machine), so the result's own size is counted here.
    pub async fn collect(
        &self,
        df: datafusion::dataframe::DataFrame,
    ) -> std::result::Result<Vec<RecordBatch>, DataFusionError> {
        use futures::StreamExt;
        let mut stream = df.execute_stream().await?;
        let mut batches = Vec::new();
        let mut bytes = 0usize;
        while let Some(b) = stream.next().await {
            let b = b?;
            bytes += b
                .columns()
                .iter()
                .map(|c| c.to_data().get_slice_memory_size().unwrap_or(0))
                .sum::<usize>();
            if bytes > self.limits.memory {
                return Err(DataFusionError::ResourcesExhausted(format!(
                    "the result is larger than --memory-limit {}",
                    human_size(self.limits.memory)
                )));
            }
            batches.push(b);
        }
        Ok(batches)
    }

    /// Refuses a plan that does more than `rights` allow, saying so in SQL words.
    pub fn check_rights(&self, plan: &LogicalPlan, rights: Rights) -> Result<()> {
        let body = match (rights, plan) {
            (_, LogicalPlan::Ddl(DdlStatement::CreateView(v))) => {
                self.not_a_bundle_table(&v.name)?;
                v.input.as_ref()
            }
            (Rights::Library, LogicalPlan::Ddl(DdlStatement::CreateMemoryTable(t))) => {
                self.not_a_bundle_table(&t.name)?;
                t.input.as_ref()
            }
            _ => plan,
        };
        if let Some(what) = forbidden_statement(body) {
            let creates = matches!(what, "CREATE VIEW" | "CREATE TABLE");
            bail!(match (rights, creates) {
                (Rights::Query, true) => format!(
                    "{what} is not allowed in ad-hoc SQL: use CREATE VIEW name AS SELECT ..., \
                     or WITH name AS (SELECT ...) SELECT ..."
                ),
                (Rights::Query, false) => format!(
                    "{what} is not allowed: clm-analyze reads the bundle's tables and nothing \
                     else, and writes results only with --format and --out"
                ),
                (Rights::Library, _) => format!(
                    "{what} is not allowed in a query file: a query file may hold queries and \
                     CREATE VIEW / CREATE TABLE ... AS SELECT over the bundle's tables only"
                ),
            });
        }
        // DataFusion's own check, for any kind of statement the list above would miss.
        SQLOptions::new()
            .with_allow_ddl(false)
            .with_allow_dml(false)
            .with_allow_statements(false)
            .verify_plan(body)
            .map_err(|e| {
                anyhow!(
                    "{}: not allowed; clm-analyze runs queries over the bundle's tables only",
                    e.message()
                )
            })
    }

    fn not_a_bundle_table(&self, name: &TableReference) -> Result<()> {
        if self.tables.contains_key(name.table()) {
            bail!(
                "a view may not replace the bundle's table {}: give it another name",
                name.table()
            );
        }
        Ok(())
    }

    /// A DataFusion error in the user's words: no Rust debug output, no internal catalog
    /// names, and for an unknown table the tables that exist.
    pub fn user_error(&self, e: DataFusionError) -> anyhow::Error {
        let root = e.find_root();
        let text = match root {
            DataFusionError::SQL(p, _) => match p.as_ref() {
                datafusion::sql::sqlparser::parser::ParserError::ParserError(m)
                | datafusion::sql::sqlparser::parser::ParserError::TokenizerError(m) => {
                    format!("syntax error: {m}")
                }
                datafusion::sql::sqlparser::parser::ParserError::RecursionLimitExceeded => {
                    "syntax error: the statement nests too deeply".to_string()
                }
            },
            DataFusionError::ResourcesExhausted(m) if m.contains(" would build ") => {
                format!("{m}; raise --memory-limit, or ask for a smaller value")
            }
            DataFusionError::ResourcesExhausted(m) if m.starts_with("the result is larger") => {
                format!("{m}: raise --memory-limit, or ask for fewer rows (LIMIT, WHERE, GROUP BY)")
            }
            DataFusionError::ResourcesExhausted(_) => self.memory_message(),
            DataFusionError::Plan(m) => m.clone(),
            DataFusionError::Execution(m)
                if m.contains("DiskManager is disabled") || m.contains("Memory Exhausted") =>
            {
                self.memory_message()
            }
            other => other.message().into_owned(),
        };
        let text = text
            .split(DataFusionError::BACK_TRACE_SEP)
            .next()
            .unwrap_or("")
            .trim()
            .to_string();
        anyhow!(self
            .unknown_table(&text)
            .unwrap_or(text)
            .replace("clm.bundle.", ""))
    }

    fn memory_message(&self) -> String {
        format!(
            "the query needs more than {} of memory (--memory-limit); raise --memory-limit, \
             or make the query read fewer rows or columns{}",
            human_size(self.limits.memory),
            if self.limits.spill_dir.is_none() {
                " (or give --spill-dir DIR to let sorts and aggregations spill to disk)"
            } else {
                ""
            }
        )
    }

    /// "table 'clm.bundle.nosuch' not found" -> no table `nosuch`, and the tables there are.
    fn unknown_table(&self, text: &str) -> Option<String> {
        let rest = text.strip_prefix("table '")?;
        let name = rest.strip_suffix("' not found")?;
        let name = name.strip_prefix("clm.bundle.").unwrap_or(name);
        let mut known: Vec<&str> = self.tables.keys().map(String::as_str).collect();
        if known.is_empty() {
            known.push("(none)");
        }
        Some(format!(
            "no table {name}; the tables are: {}",
            known.join(", ")
        ))
    }

    /// Tables and their columns (`\d`), the canonical ones first.
    pub async fn describe(&self) -> Result<Vec<(String, Vec<(String, String)>)>> {
        let mut out = Vec::new();
        let catalog = self
            .ctx
            .catalog("clm")
            .ok_or_else(|| anyhow!("no catalog"))?;
        let schema = catalog
            .schema("bundle")
            .ok_or_else(|| anyhow!("no schema"))?;
        let mut names: Vec<String> = schema.table_names();
        names.sort_by_key(|n| (!self.tables.contains_key(n), n.clone()));
        for name in names {
            if let Some(t) = schema.table(&name).await? {
                let cols = t
                    .schema()
                    .fields()
                    .iter()
                    .map(|f| (f.name().clone(), f.data_type().to_string()))
                    .collect();
                out.push((name, cols));
            }
        }
        Ok(out)
    }
}

/// Canonical tables every analysis reads; reading others is allowed for ad-hoc SQL only.
pub fn canonical_schema(table: &str) -> Result<SchemaRef> {
    clm_core::schema::canonical()
        .table(table)
        .map(|t| t.arrow_schema())
        .ok_or_else(|| {
            let known: BTreeSet<&str> = clm_core::schema::canonical().table_names().collect();
            anyhow!(
                "{table} is not a canonical table (known: {})",
                known.into_iter().collect::<Vec<_>>().join(", ")
            )
        })
}

pub fn date_scalar(d: NaiveDate) -> ScalarValue {
    let epoch = NaiveDate::from_ymd_opt(1970, 1, 1).unwrap();
    ScalarValue::Date32(Some((d - epoch).num_days() as i32))
}

fn statement_error(
    engine: &Engine,
    analysis: &Analysis,
    st: &Statement,
    e: anyhow::Error,
) -> anyhow::Error {
    // DataFusion's message in the user's words, with where the statement is.
    let e = match e.downcast::<DataFusionError>() {
        Ok(df) => engine.user_error(df),
        Err(e) => e,
    };
    e.context(format!(
        "analysis `{}` failed in statement at {}",
        analysis.name, st.origin
    ))
}

/// The first statement in `plan` (or its subqueries) that is not a query, in SQL words.
fn forbidden_statement(plan: &LogicalPlan) -> Option<&'static str> {
    use datafusion::logical_expr::{Statement as St, WriteOp};
    let mut found = None;
    let _ = plan.apply_with_subqueries(|n| {
        let what = match n {
            LogicalPlan::Ddl(d) => Some(match d {
                DdlStatement::CreateExternalTable(_) => "CREATE EXTERNAL TABLE",
                DdlStatement::CreateMemoryTable(_) => "CREATE TABLE",
                DdlStatement::CreateView(_) => "CREATE VIEW",
                DdlStatement::CreateCatalogSchema(_) => "CREATE SCHEMA",
                DdlStatement::CreateCatalog(_) => "CREATE DATABASE",
                DdlStatement::CreateIndex(_) => "CREATE INDEX",
                DdlStatement::DropTable(_) => "DROP TABLE",
                DdlStatement::DropView(_) => "DROP VIEW",
                DdlStatement::DropCatalogSchema(_) => "DROP SCHEMA",
                DdlStatement::CreateFunction(_) => "CREATE FUNCTION",
                DdlStatement::DropFunction(_) => "DROP FUNCTION",
            }),
            LogicalPlan::Dml(d) => Some(match d.op {
                WriteOp::Insert(_) => "INSERT",
                WriteOp::Delete => "DELETE",
                WriteOp::Update => "UPDATE",
                WriteOp::Ctas => "CREATE TABLE AS",
                WriteOp::Truncate => "TRUNCATE",
                _ => "MERGE",
            }),
            LogicalPlan::Copy(_) => Some("COPY"),
            LogicalPlan::Statement(st) => Some(match st {
                St::TransactionStart(_) => "BEGIN",
                St::TransactionEnd(_) => "COMMIT / ROLLBACK",
                St::SetVariable(_) => "SET",
                St::ResetVariable(_) => "RESET",
                St::Prepare(_) => "PREPARE",
                St::Execute(_) => "EXECUTE",
                St::Deallocate(_) => "DEALLOCATE",
            }),
            _ => None,
        };
        match what {
            Some(w) => {
                found = Some(w);
                Ok(TreeNodeRecursion::Stop)
            }
            None => Ok(TreeNodeRecursion::Continue),
        }
    });
    found
}

/// Functions that build a value far larger than their arguments (`repeat('a', 2000000000)`:
/// 2 GB from 16 bytes). DataFusion's memory pool does not see the values they build, so each
/// is wrapped in a check of the size its arguments ask for.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
enum Builds {
    /// repeat(text, n): len(text) * n bytes
    Repeat,
    /// lpad / rpad(text, n [, fill]): n characters
    Pad,
    /// array_repeat(value, n): n elements
    ArrayRepeat,
    /// range / generate_series([start,] stop [, step]) as a scalar: an array of the elements
    Range { inclusive: bool },
}

const VALUE_BUILDERS: [(&str, Builds); 6] = [
    ("repeat", Builds::Repeat),
    ("lpad", Builds::Pad),
    ("rpad", Builds::Pad),
    ("array_repeat", Builds::ArrayRepeat),
    ("range", Builds::Range { inclusive: false }),
    ("generate_series", Builds::Range { inclusive: true }),
];

/// The share of the memory limit one call of a value-building function may build: an
/// eighth, since such a value is copied about four times on its way to the screen (measured:
/// `SELECT length(repeat('a', 200000000))` peaks at 905 MB).
const VALUE_SHARE: usize = 8;

fn guard_value_builders(ctx: &SessionContext, memory: usize) {
    let cap = (memory / VALUE_SHARE).max(1 << 20);
    let functions = ctx.state().scalar_functions().clone();
    for (name, builds) in VALUE_BUILDERS {
        if let Some(inner) = functions.get(name) {
            ctx.register_udf(datafusion::logical_expr::ScalarUDF::new_from_impl(
                SizeGuard {
                    inner: inner.clone(),
                    builds,
                    cap,
                    memory,
                },
            ));
        }
    }
}

#[derive(Debug, PartialEq, Eq, Hash)]
struct SizeGuard {
    inner: Arc<datafusion::logical_expr::ScalarUDF>,
    builds: Builds,
    cap: usize,
    memory: usize,
}

impl SizeGuard {
    /// The bytes the call would build, as far as the arguments tell (None: cannot tell).
    fn estimate(
        &self,
        args: &[datafusion::logical_expr::ColumnarValue],
        rows: usize,
    ) -> Option<u128> {
        use datafusion::arrow::array::{Array, Int64Array};
        let ints = |i: usize| -> Option<Vec<Option<i64>>> {
            let a = args.get(i)?.to_array(rows).ok()?;
            let a = datafusion::arrow::compute::cast(&a, &DataType::Int64).ok()?;
            let a = a.as_any().downcast_ref::<Int64Array>()?;
            Some(a.iter().collect())
        };
        let rows_of = |v: &Vec<Option<i64>>| v.len();
        match self.builds {
            Builds::Repeat => {
                let text = args.first()?.to_array(rows).ok()?;
                let lens = datafusion::arrow::compute::kernels::length::length(&text).ok()?;
                let lens = datafusion::arrow::compute::cast(&lens, &DataType::Int64).ok()?;
                let lens = lens.as_any().downcast_ref::<Int64Array>()?;
                let n = ints(1)?;
                Some(
                    lens.iter()
                        .zip(n)
                        .map(|(l, n)| {
                            (l.unwrap_or(0).max(0) as u128) * (n.unwrap_or(0).max(0) as u128)
                        })
                        .sum(),
                )
            }
            Builds::Pad => Some(
                ints(1)?
                    .into_iter()
                    .map(|n| n.unwrap_or(0).max(0) as u128)
                    .sum(),
            ),
            Builds::ArrayRepeat => {
                let value = args.first()?.to_array(rows).ok()?;
                let each = (value.get_array_memory_size() / value.len().max(1)).max(8) as u128;
                Some(
                    ints(1)?
                        .into_iter()
                        .map(|n| n.unwrap_or(0).max(0) as u128 * each)
                        .sum(),
                )
            }
            Builds::Range { inclusive } => {
                let (start, stop, step) = match args.len() {
                    1 => (None, ints(0)?, None),
                    2 => (Some(ints(0)?), ints(1)?, None),
                    3 => (Some(ints(0)?), ints(1)?, Some(ints(2)?)),
                    _ => return None,
                };
                let n = rows_of(&stop);
                Some(
                    (0..n)
                        .map(|i| {
                            let a = start.as_ref().map_or(Some(0), |s| s[i]).unwrap_or(0) as i128;
                            let b = stop[i].unwrap_or(0) as i128;
                            let st = step.as_ref().map_or(Some(1), |s| s[i]).unwrap_or(1) as i128;
                            if st == 0 || (b - a).signum() * st.signum() < 0 {
                                return 0;
                            }
                            let count =
                                (b - a).unsigned_abs() / st.unsigned_abs() + u128::from(inclusive);
                            count * 8
                        })
                        .sum(),
                )
            }
        }
    }
}

impl datafusion::logical_expr::ScalarUDFImpl for SizeGuard {
    fn name(&self) -> &str {
        self.inner.name()
    }
    fn aliases(&self) -> &[String] {
        self.inner.aliases()
    }
    fn signature(&self) -> &datafusion::logical_expr::Signature {
        self.inner.signature()
    }
    fn return_type(&self, arg_types: &[DataType]) -> datafusion::error::Result<DataType> {
        self.inner.return_type(arg_types)
    }
    fn return_field_from_args(
        &self,
        args: datafusion::logical_expr::ReturnFieldArgs,
    ) -> datafusion::error::Result<datafusion::arrow::datatypes::FieldRef> {
        self.inner.return_field_from_args(args)
    }
    fn coerce_types(&self, arg_types: &[DataType]) -> datafusion::error::Result<Vec<DataType>> {
        self.inner.coerce_types(arg_types)
    }
    fn documentation(&self) -> Option<&datafusion::logical_expr::Documentation> {
        self.inner.documentation()
    }
    fn invoke_with_args(
        &self,
        args: datafusion::logical_expr::ScalarFunctionArgs,
    ) -> datafusion::error::Result<datafusion::logical_expr::ColumnarValue> {
        if let Some(bytes) = self.estimate(&args.args, args.number_rows) {
            if bytes > self.cap as u128 {
                return Err(DataFusionError::ResourcesExhausted(format!(
                    "{} would build {}, more than the {} one value may take (an eighth of \
                     --memory-limit {})",
                    self.inner.name(),
                    human_size(bytes.min(usize::MAX as u128) as usize),
                    human_size(self.cap),
                    human_size(self.memory)
                )));
            }
        }
        self.inner.invoke_with_args(args)
    }
}

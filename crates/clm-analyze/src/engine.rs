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
use datafusion::common::{ParamValues, TableReference};
use datafusion::datasource::MemTable;
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

/// Placeholders clm-analyze binds itself (not from a profile's `[params]`): the as-of date,
/// the profile's stage order and the per-stage texts aligned with it, and the canonical tables
/// the bundles hold.
pub const BOUND_BY_ENGINE: [&str; 5] = [
    "as_of",
    "stage_order",
    "stage_actions",
    "stage_labels",
    "tables_present",
];

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

pub struct Engine {
    ctx: SessionContext,
    tables: BTreeMap<String, TableOrigin>,
    default_as_of: Option<NaiveDate>,
}

impl Default for Engine {
    fn default() -> Self {
        Self::new()
    }
}

impl Engine {
    pub fn new() -> Engine {
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
        Engine {
            ctx: SessionContext::new_with_config(config),
            tables: BTreeMap::new(),
            default_as_of: None,
        }
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
                .map_err(|e| statement_error(analysis, st, e))?;
            if let Some(name) = created {
                scratch.push(name);
            }
            if let Some(o) = wanted {
                let schema = Arc::new(df.schema().as_arrow().clone());
                let batches = df
                    .collect()
                    .await
                    .map_err(|e| statement_error(analysis, st, e.into()))?;
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
                let plan = self.ctx.state().create_logical_plan(&c.text).await?;
                let plan = plan.with_param_values(params.clone())?;
                let quiet = matches!(plan, LogicalPlan::Ddl(_) | LogicalPlan::Statement(_));
                let df = self.ctx.execute_logical_plan(plan).await?;
                let schema = Arc::new(df.schema().as_arrow().clone());
                let batches = df.collect().await?;
                Ok::<_, datafusion::error::DataFusionError>((quiet, schema, batches))
            };
            let (quiet, schema, batches) = run.await.map_err(|e| {
                if many {
                    anyhow!("statement {} (line {}): {e}", i + 1, c.first_sql_line)
                } else {
                    anyhow!("{e}")
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

fn statement_error(analysis: &Analysis, st: &Statement, e: anyhow::Error) -> anyhow::Error {
    // DataFusion's own message, with where the statement is.
    let e = match e.downcast::<datafusion::error::DataFusionError>() {
        Ok(df) => anyhow!("{df}"),
        Err(e) => e,
    };
    e.context(format!(
        "analysis `{}` failed in statement at {}",
        analysis.name, st.origin
    ))
}

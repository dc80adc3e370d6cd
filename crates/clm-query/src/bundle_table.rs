//! A bundle table whose data key travels with the plan, for `--cluster`.
//!
//! Locally a bundle table is DataFusion's own Parquet listing table with the DEK as footer
//! key (`crate::bundles`). On a Ballista cluster that does not work: plans travel as
//! protobuf, and DataFusion's protobuf of a Parquet scan drops the decryption options, so the
//! executors would get a scan without a key. `BundleTable` is that same listing table,
//! wrapped so that a codec (crate `clm-cluster`) can carry the paths, the schema and the key
//! to the scheduler; its scan is wrapped in a `DecryptExec`, which carries the key to the
//! executors, where the codec puts it back into the Parquet scan beneath.
//!
//! The key is never in a `Debug` or `Display` output (Ballista logs plans at debug level).

use std::fmt;
use std::sync::Arc;

use async_trait::async_trait;
use datafusion::arrow::datatypes::SchemaRef;
use datafusion::catalog::{Session, TableProvider};
use datafusion::common::tree_node::{Transformed, TreeNode, TreeNodeRecursion};
use datafusion::config::{ConfigFileDecryptionProperties, TableOptions};
use datafusion::datasource::listing::{ListingTable, ListingTableConfig, ListingTableUrl};
use datafusion::datasource::physical_plan::{FileScanConfigBuilder, ParquetSource};
use datafusion::datasource::source::DataSourceExec;
use datafusion::error::Result;
use datafusion::execution::TaskContext;
use datafusion::logical_expr::{Expr, TableProviderFilterPushDown, TableType};
use datafusion::physical_expr::PhysicalExpr;
use datafusion::physical_plan::execution_plan::{ChildrenPropertiesMode, ReplaceChildrenOptions};
use datafusion::physical_plan::{
    DisplayAs, DisplayFormatType, ExecutionPlan, PlanProperties, SendableRecordBatchStream,
};
use datafusion::prelude::{ParquetReadOptions, SessionConfig};

/// A data key (DEK) as the hex of a Parquet footer key; redacted in every `Debug`.
#[derive(Clone, PartialEq, Eq)]
pub struct KeyHex(pub String);

impl fmt::Debug for KeyHex {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("KeyHex(<redacted>)")
    }
}

/// The encrypted Parquet files of one bundle's table, read with that bundle's DEK.
pub struct BundleTable {
    paths: Vec<String>,
    key: KeyHex,
    listing: ListingTable,
}

impl fmt::Debug for BundleTable {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("BundleTable")
            .field("files", &self.paths.len())
            .finish_non_exhaustive()
    }
}

impl BundleTable {
    /// Opens the files on the client: their schema is read from the first footer (which the
    /// key must decrypt), so that the scheduler and the executors never infer it.
    pub async fn open(state: &dyn Session, paths: Vec<String>, key: KeyHex) -> Result<BundleTable> {
        let config = listing_config(&paths, &key, state.config(), state.default_table_options())?;
        let config = config.infer_schema(state).await?;
        let schema = config
            .file_schema
            .clone()
            .expect("infer_schema sets the schema");
        BundleTable::with_schema(paths, schema, key, state.config())
    }

    /// The table with a known schema, as the codec rebuilds it on the scheduler: no I/O.
    pub fn with_schema(
        paths: Vec<String>,
        schema: SchemaRef,
        key: KeyHex,
        session: &SessionConfig,
    ) -> Result<BundleTable> {
        let table_options = TableOptions::default_from_session_config(session.options());
        let config = listing_config(&paths, &key, session, table_options)?.with_schema(schema);
        let listing = ListingTable::try_new(config)?;
        Ok(BundleTable {
            paths,
            key,
            listing,
        })
    }

    pub fn paths(&self) -> &[String] {
        &self.paths
    }

    pub fn key(&self) -> &KeyHex {
        &self.key
    }
}

fn listing_config(
    paths: &[String],
    key: &KeyHex,
    session: &SessionConfig,
    table_options: TableOptions,
) -> Result<ListingTableConfig> {
    use datafusion::datasource::file_format::options::ReadOptions;
    let urls = paths
        .iter()
        .map(ListingTableUrl::parse)
        .collect::<Result<Vec<_>>>()?;
    let options = ParquetReadOptions::default()
        .file_decryption_properties(decryption(key))
        .to_listing_options(session, table_options);
    Ok(ListingTableConfig::new_with_multi_paths(urls).with_listing_options(options))
}

fn decryption(key: &KeyHex) -> ConfigFileDecryptionProperties {
    ConfigFileDecryptionProperties {
        footer_key_as_hex: key.0.clone(),
        ..Default::default()
    }
}

#[async_trait]
impl TableProvider for BundleTable {
    fn schema(&self) -> SchemaRef {
        self.listing.schema()
    }

    fn table_type(&self) -> TableType {
        TableType::Base
    }

    fn supports_filters_pushdown(
        &self,
        filters: &[&Expr],
    ) -> Result<Vec<TableProviderFilterPushDown>> {
        self.listing.supports_filters_pushdown(filters)
    }

    async fn scan(
        &self,
        state: &dyn Session,
        projection: Option<&Vec<usize>>,
        filters: &[Expr],
        limit: Option<usize>,
    ) -> Result<Arc<dyn ExecutionPlan>> {
        let scan = self.listing.scan(state, projection, filters, limit).await?;
        Ok(Arc::new(DecryptExec::new(self.key.clone(), scan)))
    }
}

/// Passes its child's batches through unchanged; it exists to carry the DEK of the Parquet
/// scans beneath it across the wire (see the module doc).
pub struct DecryptExec {
    key: KeyHex,
    input: Arc<dyn ExecutionPlan>,
}

impl fmt::Debug for DecryptExec {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("DecryptExec")
    }
}

impl DecryptExec {
    pub fn new(key: KeyHex, input: Arc<dyn ExecutionPlan>) -> DecryptExec {
        DecryptExec { key, input }
    }

    pub fn key(&self) -> &KeyHex {
        &self.key
    }

    /// The wrapper around `input` as it arrives decoded: every Parquet scan beneath it gets
    /// the key back (the protobuf dropped it).
    pub fn with_key_restored(key: KeyHex, input: Arc<dyn ExecutionPlan>) -> Result<DecryptExec> {
        let input = input
            .transform_down(|plan| {
                let Some(exec) = plan.downcast_ref::<DataSourceExec>() else {
                    return Ok(Transformed::no(plan));
                };
                let Some((conf, source)) = exec.downcast_to_file_source::<ParquetSource>() else {
                    return Ok(Transformed::no(plan));
                };
                let mut options = source.table_parquet_options().clone();
                options.crypto.file_decryption = Some(decryption(&key));
                let source = source.clone().with_table_parquet_options(options);
                let conf = FileScanConfigBuilder::from(conf.clone())
                    .with_source(Arc::new(source))
                    .build();
                let plan: Arc<dyn ExecutionPlan> = DataSourceExec::from_data_source(conf);
                Ok(Transformed::yes(plan))
            })?
            .data;
        Ok(DecryptExec::new(key, input))
    }
}

impl DisplayAs for DecryptExec {
    fn fmt_as(&self, _t: DisplayFormatType, f: &mut fmt::Formatter) -> fmt::Result {
        write!(f, "DecryptExec")
    }
}

impl ExecutionPlan for DecryptExec {
    fn name(&self) -> &str {
        "DecryptExec"
    }

    fn properties(&self) -> &Arc<PlanProperties> {
        self.input.properties()
    }

    fn children(&self) -> Vec<&Arc<dyn ExecutionPlan>> {
        vec![&self.input]
    }

    fn maintains_input_order(&self) -> Vec<bool> {
        vec![true]
    }

    fn apply_expressions(
        &self,
        _f: &mut dyn FnMut(&Arc<dyn PhysicalExpr>) -> Result<TreeNodeRecursion>,
    ) -> Result<TreeNodeRecursion> {
        Ok(TreeNodeRecursion::Continue)
    }

    fn replace_children(
        self: Arc<Self>,
        mut children: Vec<Arc<dyn ExecutionPlan>>,
        _options: ReplaceChildrenOptions,
    ) -> Result<Arc<dyn ExecutionPlan>> {
        if children.len() != 1 {
            return datafusion::common::internal_err!("DecryptExec has one child");
        }
        Ok(Arc::new(DecryptExec::new(
            self.key.clone(),
            children.swap_remove(0),
        )))
    }

    #[allow(deprecated)]
    fn with_new_children(
        self: Arc<Self>,
        children: Vec<Arc<dyn ExecutionPlan>>,
    ) -> Result<Arc<dyn ExecutionPlan>> {
        self.replace_children(
            children,
            ReplaceChildrenOptions::new(ChildrenPropertiesMode::Recompute),
        )
    }

    fn execute(
        &self,
        partition: usize,
        context: Arc<TaskContext>,
    ) -> Result<SendableRecordBatchStream> {
        self.input.execute(partition, context)
    }
}

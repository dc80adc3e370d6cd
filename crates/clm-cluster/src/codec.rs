//! The codecs that carry clm's tables across a Ballista cluster.
//!
//! Ballista sends logical plans client → scheduler and physical plans scheduler → executors
//! as protobuf. DataFusion's protobuf knows Parquet listing tables but drops their decryption
//! options, and knows no in-memory table. So:
//! - a `BundleTable` travels as its file paths, schema and key (logical plan); its scan's
//!   `DecryptExec` travels as its key, which decoding puts back into the Parquet scans
//!   beneath it (physical plan), so the executors decrypt;
//! - a `MemTable` (the `CREATE TABLE … AS` of the query files, fixtures, empty optional
//!   tables) travels as Arrow IPC; its physical scan is DataFusion's own.
//!
//! Everything else goes to Ballista's own codecs. Our buffers start with a zero byte, which
//! no protobuf message does (field number 0 is invalid), so the two never mix up.

use std::sync::Arc;

use ballista_core::serde::{BallistaLogicalExtensionCodec, BallistaPhysicalExtensionCodec};
use clm_query::bundle_table::{BundleTable, DecryptExec, KeyHex};
use datafusion::arrow::datatypes::SchemaRef;
use datafusion::arrow::ipc::reader::StreamReader;
use datafusion::arrow::ipc::writer::StreamWriter;
use datafusion::arrow::record_batch::RecordBatch;
use datafusion::catalog::TableProvider;
use datafusion::common::TableReference;
use datafusion::datasource::file_format::FileFormatFactory;
use datafusion::datasource::MemTable;
use datafusion::error::{DataFusionError, Result};
use datafusion::execution::TaskContext;
use datafusion::logical_expr::{Extension, LogicalPlan};
use datafusion::physical_plan::ExecutionPlan;
use datafusion_proto::logical_plan::LogicalExtensionCodec;
use datafusion_proto::physical_plan::{PhysicalExtensionCodec, PhysicalProtoConverterExtension};
use serde::{Deserialize, Serialize};

const BUNDLE_TABLE: &[u8; 8] = b"\0clmtab1";
const MEM_TABLE: &[u8; 8] = b"\0clmmem1";
const DECRYPT_EXEC: &[u8; 8] = b"\0clmdec1";

/// The logical codec of client and scheduler.
#[derive(Debug, Default)]
pub struct LogicalCodec {
    ballista: BallistaLogicalExtensionCodec,
}

#[derive(Serialize, Deserialize)]
struct BundleTableWire {
    paths: Vec<String>,
    key: String,
}

impl LogicalExtensionCodec for LogicalCodec {
    fn try_decode(
        &self,
        buf: &[u8],
        inputs: &[LogicalPlan],
        ctx: &TaskContext,
    ) -> Result<Extension> {
        self.ballista.try_decode(buf, inputs, ctx)
    }

    fn try_encode(&self, node: &Extension, buf: &mut Vec<u8>) -> Result<()> {
        self.ballista.try_encode(node, buf)
    }

    fn try_decode_table_provider(
        &self,
        buf: &[u8],
        table_ref: &TableReference,
        schema: SchemaRef,
        ctx: &TaskContext,
    ) -> Result<Arc<dyn TableProvider>> {
        if let Some(rest) = buf.strip_prefix(BUNDLE_TABLE.as_slice()) {
            let (meta, rest) = take_chunk(rest)?;
            let wire: BundleTableWire = serde_json::from_slice(meta)
                .map_err(|e| wire_error(format!("bundle table: {e}")))?;
            let (file_schema, _) = read_ipc(take_chunk(rest)?.0)?;
            let table = BundleTable::with_schema(
                wire.paths,
                file_schema,
                KeyHex(wire.key),
                ctx.session_config(),
            )?;
            return Ok(Arc::new(table));
        }
        if let Some(rest) = buf.strip_prefix(MEM_TABLE.as_slice()) {
            let (head, mut rest) = take_chunk(rest)?;
            let (mem_schema, _) = read_ipc(head)?;
            let mut partitions = Vec::new();
            while !rest.is_empty() {
                let (part, after) = take_chunk(rest)?;
                partitions.push(read_ipc(part)?.1);
                rest = after;
            }
            return Ok(Arc::new(MemTable::try_new(mem_schema, partitions)?));
        }
        self.ballista
            .try_decode_table_provider(buf, table_ref, schema, ctx)
    }

    fn try_encode_table_provider(
        &self,
        table_ref: &TableReference,
        node: Arc<dyn TableProvider>,
        buf: &mut Vec<u8>,
    ) -> Result<()> {
        if let Some(t) = node.downcast_ref::<BundleTable>() {
            buf.extend_from_slice(BUNDLE_TABLE);
            let wire = BundleTableWire {
                paths: t.paths().to_vec(),
                key: t.key().0.clone(),
            };
            let meta =
                serde_json::to_vec(&wire).map_err(|e| wire_error(format!("bundle table: {e}")))?;
            put_chunk(buf, &meta);
            put_chunk(buf, &write_ipc(&t.schema(), &[])?);
            return Ok(());
        }
        if let Some(t) = node.downcast_ref::<MemTable>() {
            buf.extend_from_slice(MEM_TABLE);
            put_chunk(buf, &write_ipc(&t.schema(), &[])?);
            for part in &t.batches {
                let batches = part.try_read().map_err(|_| {
                    wire_error("an in-memory table is being written while it is sent".into())
                })?;
                put_chunk(buf, &write_ipc(&t.schema(), &batches)?);
            }
            return Ok(());
        }
        self.ballista
            .try_encode_table_provider(table_ref, node, buf)
    }

    fn try_decode_file_format(
        &self,
        buf: &[u8],
        ctx: &TaskContext,
    ) -> Result<Arc<dyn FileFormatFactory>> {
        self.ballista.try_decode_file_format(buf, ctx)
    }

    fn try_encode_file_format(
        &self,
        buf: &mut Vec<u8>,
        node: Arc<dyn FileFormatFactory>,
    ) -> Result<()> {
        self.ballista.try_encode_file_format(buf, node)
    }
}

/// The physical codec of scheduler and executors.
#[derive(Debug, Default)]
pub struct PhysicalCodec {
    ballista: BallistaPhysicalExtensionCodec,
}

impl PhysicalExtensionCodec for PhysicalCodec {
    fn try_decode(
        &self,
        buf: &[u8],
        inputs: &[Arc<dyn ExecutionPlan>],
        ctx: &TaskContext,
        proto_converter: &dyn PhysicalProtoConverterExtension,
    ) -> Result<Arc<dyn ExecutionPlan>> {
        if let Some(key) = buf.strip_prefix(DECRYPT_EXEC.as_slice()) {
            let [input] = inputs else {
                return Err(wire_error(format!(
                    "DecryptExec with {} inputs, not 1",
                    inputs.len()
                )));
            };
            let key = String::from_utf8(key.to_vec())
                .map_err(|_| wire_error("DecryptExec: the key is not text".into()))?;
            return Ok(Arc::new(DecryptExec::with_key_restored(
                KeyHex(key),
                Arc::clone(input),
            )?));
        }
        self.ballista.try_decode(buf, inputs, ctx, proto_converter)
    }

    fn try_encode(
        &self,
        node: Arc<dyn ExecutionPlan>,
        buf: &mut Vec<u8>,
        proto_converter: &dyn PhysicalProtoConverterExtension,
    ) -> Result<()> {
        if let Some(d) = node.downcast_ref::<DecryptExec>() {
            buf.extend_from_slice(DECRYPT_EXEC);
            buf.extend_from_slice(d.key().0.as_bytes());
            return Ok(());
        }
        self.ballista.try_encode(node, buf, proto_converter)
    }
}

fn wire_error(msg: String) -> DataFusionError {
    DataFusionError::Internal(format!("clm plan on the wire: {msg}"))
}

fn put_chunk(buf: &mut Vec<u8>, chunk: &[u8]) {
    buf.extend_from_slice(&(chunk.len() as u64).to_le_bytes());
    buf.extend_from_slice(chunk);
}

fn take_chunk(buf: &[u8]) -> Result<(&[u8], &[u8])> {
    let short = || wire_error("truncated buffer".into());
    let (len, rest) = buf.split_first_chunk::<8>().ok_or_else(short)?;
    let len = usize::try_from(u64::from_le_bytes(*len)).map_err(|_| short())?;
    if rest.len() < len {
        return Err(short());
    }
    Ok(rest.split_at(len))
}

fn write_ipc(schema: &SchemaRef, batches: &[RecordBatch]) -> Result<Vec<u8>> {
    let mut out = Vec::new();
    let mut w = StreamWriter::try_new(&mut out, schema)?;
    for b in batches {
        w.write(b)?;
    }
    w.finish()?;
    drop(w);
    Ok(out)
}

fn read_ipc(bytes: &[u8]) -> Result<(SchemaRef, Vec<RecordBatch>)> {
    let reader = StreamReader::try_new(bytes, None)?;
    let schema = reader.schema();
    let batches = reader.collect::<std::result::Result<Vec<_>, _>>()?;
    Ok((schema, batches))
}

//! clm on a Ballista cluster (DataFusion's distributed engine): the same query files, the
//! same outputs, the bundles decrypted by the executors.
//!
//! - `codec`: how a bundle table (its files and data key) and an in-memory table cross the
//!   wire from the consultant's session to the scheduler and the executors;
//! - `session`: the consultant's session on a cluster (`clm-analyze --cluster`), and a
//!   cluster inside the process for tests and demos;
//! - `engine`: the executors' execution engine (Ballista's, minus a metrics report that
//!   hangs jobs of some plans);
//! - `process`: the scheduler and executor processes of the `clm-cluster` binary (stock
//!   Ballista binaries lack the codecs and cannot read a bundle).

pub mod codec;
pub mod engine;
pub mod process;
pub mod session;

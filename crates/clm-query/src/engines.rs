//! Where an analysis's engines come from: local DataFusion sessions, or sessions whose plans
//! run on a Ballista cluster (`--cluster`; crate `clm-cluster` implements [`Connector`]).
//! A portfolio makes one engine per club, so that no club's tables are ever visible to
//! another's queries.

use std::sync::Arc;

use anyhow::Result;
use async_trait::async_trait;

use crate::engine::{Engine, Limits};

/// Makes engines whose plans run elsewhere.
#[async_trait]
pub trait Connector: Send + Sync {
    async fn engine(&self, limits: Limits) -> Result<Engine>;
    /// Where, in words: "the Ballista cluster at df://…".
    fn describe(&self) -> String;
}

/// The engines of a run, all under the same limits.
#[derive(Clone)]
pub struct Engines {
    limits: Limits,
    cluster: Option<Arc<dyn Connector>>,
}

impl Default for Engines {
    fn default() -> Self {
        Engines::local(Limits::default())
    }
}

impl Engines {
    pub fn local(limits: Limits) -> Engines {
        Engines {
            limits,
            cluster: None,
        }
    }

    pub fn on_cluster(limits: Limits, cluster: Arc<dyn Connector>) -> Engines {
        Engines {
            limits,
            cluster: Some(cluster),
        }
    }

    /// A fresh engine (no table registered).
    pub async fn engine(&self) -> Result<Engine> {
        match &self.cluster {
            None => Engine::with_limits(self.limits.clone()),
            Some(c) => c.engine(self.limits.clone()).await,
        }
    }

    pub fn limits(&self) -> &Limits {
        &self.limits
    }

    /// Where the engines run, for messages: None when local.
    pub fn cluster(&self) -> Option<String> {
        self.cluster.as_ref().map(|c| c.describe())
    }
}

//! Optional Redis connection (shared state across instances). Connects lazily and reconnects on its
//! own, so a Redis that is down at start-up or goes away later never stops the server.

use std::time::Duration;

use redis::aio::{ConnectionManager, ConnectionManagerConfig};
use tokio::sync::OnceCell;

#[derive(Clone)]
pub struct Redis {
    client: redis::Client,
    manager: std::sync::Arc<OnceCell<ConnectionManager>>,
}

impl Redis {
    /// Parses the URL; no connection is made yet.
    pub fn new(url: &str) -> anyhow::Result<Self> {
        Ok(Self {
            client: redis::Client::open(url)?,
            manager: Default::default(),
        })
    }

    /// A connection, made on first use. Bounded so a dead Redis answers quickly.
    pub async fn connection(&self) -> anyhow::Result<ConnectionManager> {
        let manager = self
            .manager
            .get_or_try_init(|| async {
                let config = ConnectionManagerConfig::new()
                    .set_connection_timeout(Some(Duration::from_millis(500)))
                    .set_response_timeout(Some(Duration::from_millis(500)))
                    .set_number_of_retries(1);
                tokio::time::timeout(
                    Duration::from_secs(1),
                    ConnectionManager::new_with_config(self.client.clone(), config),
                )
                .await
                .map_err(|_| anyhow::anyhow!("redis connection timed out"))?
                .map_err(anyhow::Error::from)
            })
            .await?;
        Ok(manager.clone())
    }

    /// Whether Redis answers PING within a second.
    pub async fn ping(&self) -> bool {
        let fut = async {
            let mut conn = self.connection().await?;
            let pong: String = redis::cmd("PING").query_async(&mut conn).await?;
            anyhow::Ok(pong == "PONG")
        };
        matches!(tokio::time::timeout(Duration::from_secs(1), fut).await, Ok(Ok(true)))
    }
}

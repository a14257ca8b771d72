//! Turning the `[auth]` configuration into what the server runs with: token keys and the webhook.

use std::path::PathBuf;
use std::sync::Arc;

use std::time::Duration;

use crate::auth::token::TokenKeys;
use crate::auth::webhook::{self, Webhook, WebhookConfigError, WebhookSettings};
use crate::auth::{AuthProvider, AuthRequest, ProviderFuture};
use crate::config::Config;
use crate::keyfile::{self, KeyFileError, KeyOrigin};

/// The configured token keys, loaded (and created where missing). Without `auth.token_keys`:
/// `token.key` beside the server's key file, id 1. Logs which files were created.
pub fn token_keys(config: &Config) -> Result<TokenKeys, KeyFileError> {
    let configured: Vec<(u32, PathBuf)> = match config.auth.token_keys.as_slice() {
        [] => {
            let path = match config.key_file.as_deref().and_then(std::path::Path::parent) {
                Some(dir) if !dir.as_os_str().is_empty() => dir.join("token.key"),
                _ => keyfile::default_state_file("token.key")?,
            };
            vec![(1, path)]
        }
        keys => keys.iter().map(|key| (key.id, key.file.clone())).collect(),
    };
    let mut keys = Vec::with_capacity(configured.len());
    for (id, path) in configured {
        let (secret, origin) = keyfile::load_or_create_secret(&path)?;
        match origin {
            KeyOrigin::Created => tracing::warn!(
                id,
                path = %path.display(),
                "generated a new token key: servers of one deployment must share their token keys, or tokens \
                 from one are refused by the others"
            ),
            KeyOrigin::Loaded => tracing::info!(id, path = %path.display(), "loaded token key"),
        }
        keys.push((id, secret));
    }
    Ok(TokenKeys::new(keys))
}

/// The configured webhook as the server's authentication provider; `None` when no URL is set.
pub fn webhook(config: &Config) -> Result<Option<Arc<dyn AuthProvider>>, WebhookConfigError> {
    let configured = &config.auth.webhook;
    if configured.url.is_empty() {
        return Ok(None);
    }
    let secret = webhook::load_secret(&configured.secret_file)?;
    let settings = WebhookSettings {
        static_params: configured.static_params.iter().map(|(k, v)| (k.clone(), v.clone())).collect(),
        allow_plain_http: configured.allow_plain_http,
        timeout: Duration::from_millis(configured.timeout_ms),
        max_attempts: configured.max_attempts,
        max_data_bytes: configured.max_data_bytes,
        max_outstanding: configured.max_outstanding,
        ca_file: configured.ca_file.clone(),
        ..WebhookSettings::new(configured.url.clone(), secret)
    };
    Ok(Some(Arc::new(Webhook::new(settings)?)))
}

impl AuthProvider for Webhook {
    fn name(&self) -> &str {
        "webhook"
    }

    fn authenticate(&self, request: AuthRequest) -> ProviderFuture {
        // A clone shares the connection pool and the bound on calls in flight.
        let webhook = self.clone();
        Box::pin(async move { webhook.authenticate(&request).await })
    }
}

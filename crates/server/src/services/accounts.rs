//! Accounts and API keys.

use std::path::Path;

use secrecy::ExposeSecret;
use sitechat_core::{
    model::{Account, ApiKey},
    AccountId, KeyId, Plan, Scope,
};
use sitechat_store::{NewKey, Page, PageRequest, Store};

use crate::{
    auth::{describe_key, generate_key, Caller},
    error::ApiResult,
    state::AppState,
};

/// A key just created: the only time its secret is shown.
pub struct CreatedKey {
    pub key: ApiKey,
    pub secret: String,
}

/// What start-up did about the operator's key.
#[derive(Debug)]
pub enum Bootstrap {
    /// A key was generated; it is shown once and written to this file.
    Generated {
        secret: String,
        file: std::path::PathBuf,
    },
    /// The configured `admin_key` was registered.
    Configured,
    /// Nothing to do.
    Existing,
}

/// Makes sure the operator account exists, with the configured admin key or a generated one.
pub async fn bootstrap_operator(
    store: &Store,
    data_dir: &Path,
    admin_key: Option<&secrecy::SecretString>,
) -> anyhow::Result<Bootstrap> {
    let (operator, created) = match store.operator_account().await? {
        Some(account) => (account, false),
        None => (
            store
                .create_account("operator", Plan::Unlimited, true)
                .await?,
            true,
        ),
    };
    if let Some(secret) = admin_key {
        let secret = secret.expose_secret();
        anyhow::ensure!(
            secret.len() >= 16,
            "the admin key must be at least 16 characters long"
        );
        let described = describe_key(secret);
        if store.find_key(&described.hash).await?.is_none() {
            store
                .insert_key(NewKey {
                    account_id: operator.id.clone(),
                    name: "operator (configured)".to_owned(),
                    prefix: described.prefix,
                    secret_hash: described.hash,
                    scopes: vec![Scope::Admin],
                })
                .await?;
        }
        return Ok(Bootstrap::Configured);
    }
    if !created {
        return Ok(Bootstrap::Existing);
    }
    let generated = generate_key();
    store
        .insert_key(NewKey {
            account_id: operator.id,
            name: "operator".to_owned(),
            prefix: generated.prefix,
            secret_hash: generated.hash,
            scopes: vec![Scope::Admin],
        })
        .await?;
    let file = data_dir.join("admin-key.txt");
    write_private(&file, &format!("{}\n", generated.secret))?;
    Ok(Bootstrap::Generated {
        secret: generated.secret,
        file,
    })
}

/// Writes a file only its owner can read.
fn write_private(path: &Path, contents: &str) -> std::io::Result<()> {
    use std::io::Write;
    let mut options = std::fs::OpenOptions::new();
    options.write(true).create(true).truncate(true);
    #[cfg(unix)]
    {
        use std::os::unix::fs::OpenOptionsExt;
        options.mode(0o600);
    }
    let mut file = options.open(path)?;
    file.write_all(contents.as_bytes())
}

/// Creates a tenant with a first admin key (operator only).
pub async fn create_account(
    state: &AppState,
    caller: &Caller,
    name: &str,
    plan: Plan,
) -> ApiResult<(Account, CreatedKey)> {
    caller.require_operator()?;
    let account = state.store.create_account(name, plan, false).await?;
    let key = insert_key(&state.store, &account.id, "default", vec![Scope::Admin]).await?;
    tracing::info!(account = %account.id, plan = %plan, "account created");
    Ok((account, key))
}

pub async fn list_accounts(
    state: &AppState,
    caller: &Caller,
    page: PageRequest,
) -> ApiResult<Page<Account>> {
    caller.require_operator()?;
    Ok(state.store.list_accounts(page).await?)
}

async fn insert_key(
    store: &Store,
    account: &AccountId,
    name: &str,
    scopes: Vec<Scope>,
) -> ApiResult<CreatedKey> {
    let generated = generate_key();
    let key = store
        .insert_key(NewKey {
            account_id: account.clone(),
            name: name.to_owned(),
            prefix: generated.prefix,
            secret_hash: generated.hash,
            scopes,
        })
        .await?;
    Ok(CreatedKey {
        key,
        secret: generated.secret,
    })
}

/// Creates a key in the caller's account.
pub async fn create_key(
    state: &AppState,
    caller: &Caller,
    name: &str,
    scopes: Vec<Scope>,
) -> ApiResult<CreatedKey> {
    caller.require(Scope::Admin)?;
    insert_key(&state.store, &caller.account.id, name, scopes).await
}

pub async fn list_keys(
    state: &AppState,
    caller: &Caller,
    page: PageRequest,
) -> ApiResult<Page<ApiKey>> {
    caller.require(Scope::Admin)?;
    Ok(state.store.list_keys(&caller.account.id, page).await?)
}

pub async fn delete_key(state: &AppState, caller: &Caller, id: &KeyId) -> ApiResult<()> {
    caller.require(Scope::Admin)?;
    state.store.delete_key(&caller.account.id, id).await?;
    Ok(())
}

/// What an account used of its plan: this month's messages and today's uploaded characters.
#[derive(Debug, Clone, Copy)]
pub struct Usage {
    pub messages_this_month: i64,
    pub upload_chars_today: i64,
}

/// Any key of the account may read it, as it may read the account's plan.
pub async fn usage(state: &AppState, caller: &Caller) -> ApiResult<Usage> {
    Ok(Usage {
        messages_this_month: state
            .store
            .usage(
                &caller.account.id,
                "messages",
                &crate::services::chat::this_month(),
            )
            .await?,
        upload_chars_today: state
            .store
            .usage(
                &caller.account.id,
                "upload_chars",
                &crate::services::knowledge::today(),
            )
            .await?,
    })
}

//! Accounts and API keys.

use sitechat_core::{
    model::{Account, ApiKey},
    now, AccountId, KeyId, Plan, Scope,
};
use sqlx::Row;
use time::OffsetDateTime;

use crate::{error::StoreError, page_of, Page, PageRequest, Result, Store};

/// A key to store: its secret is already hashed.
#[derive(Debug, Clone)]
pub struct NewKey {
    pub account_id: AccountId,
    pub name: String,
    pub prefix: String,
    pub secret_hash: String,
    pub scopes: Vec<Scope>,
}

/// A key found by its secret, with the account it belongs to.
#[derive(Debug, Clone)]
pub struct KeyRecord {
    pub key: ApiKey,
    pub account: Account,
}

fn scopes_to_text(scopes: &[Scope]) -> String {
    scopes
        .iter()
        .map(|s| s.as_str())
        .collect::<Vec<_>>()
        .join(",")
}

fn scopes_from_text(text: &str) -> Result<Vec<Scope>> {
    text.split(',')
        .filter(|s| !s.is_empty())
        .map(|s| Scope::parse(s).ok_or_else(|| StoreError::Corrupt(format!("unknown scope {s}"))))
        .collect()
}

pub(crate) fn account_from_row(row: &sqlx::sqlite::SqliteRow, prefix: &str) -> Result<Account> {
    let plan: String = row.try_get(format!("{prefix}plan").as_str())?;
    Ok(Account {
        id: AccountId::from_trusted(row.try_get(format!("{prefix}id").as_str())?),
        name: row.try_get(format!("{prefix}name").as_str())?,
        plan: Plan::parse(&plan)
            .ok_or_else(|| StoreError::Corrupt(format!("unknown plan {plan}")))?,
        is_operator: row.try_get(format!("{prefix}is_operator").as_str())?,
        created_at: row.try_get(format!("{prefix}created_at").as_str())?,
    })
}

fn key_from_row(row: &sqlx::sqlite::SqliteRow) -> Result<ApiKey> {
    Ok(ApiKey {
        id: KeyId::from_trusted(row.try_get("id")?),
        account_id: AccountId::from_trusted(row.try_get("account_id")?),
        name: row.try_get("name")?,
        prefix: row.try_get("prefix")?,
        scopes: scopes_from_text(row.try_get("scopes")?)?,
        created_at: row.try_get("created_at")?,
        last_used_at: row.try_get("last_used_at")?,
    })
}

impl Store {
    pub async fn create_account(
        &self,
        name: &str,
        plan: Plan,
        is_operator: bool,
    ) -> Result<Account> {
        let account = Account {
            id: AccountId::generate(),
            name: name.to_owned(),
            plan,
            is_operator,
            created_at: now(),
        };
        sqlx::query(
            "INSERT INTO accounts (id, name, plan, is_operator, created_at) VALUES (?, ?, ?, ?, ?)",
        )
        .bind(account.id.as_str())
        .bind(&account.name)
        .bind(plan.as_str())
        .bind(is_operator)
        .bind(account.created_at)
        .execute(&self.pool)
        .await?;
        Ok(account)
    }

    /// The operator account, if it was created.
    pub async fn operator_account(&self) -> Result<Option<Account>> {
        let row = sqlx::query("SELECT * FROM accounts WHERE is_operator = 1 ORDER BY seq LIMIT 1")
            .fetch_optional(&self.pool)
            .await?;
        row.map(|r| account_from_row(&r, "")).transpose()
    }

    pub async fn get_account(&self, id: &AccountId) -> Result<Account> {
        let row = sqlx::query("SELECT * FROM accounts WHERE id = ?")
            .bind(id.as_str())
            .fetch_optional(&self.pool)
            .await?
            .ok_or_else(|| StoreError::not_found("account"))?;
        account_from_row(&row, "")
    }

    pub async fn list_accounts(&self, page: PageRequest) -> Result<Page<Account>> {
        let rows = sqlx::query("SELECT * FROM accounts WHERE seq > ? ORDER BY seq LIMIT ?")
            .bind(page.after_seq())
            .bind(page.fetch_limit())
            .fetch_all(&self.pool)
            .await?;
        page_of(&rows, page, |r| account_from_row(r, ""))
    }

    pub async fn insert_key(&self, new: NewKey) -> Result<ApiKey> {
        let key = ApiKey {
            id: KeyId::generate(),
            account_id: new.account_id,
            name: new.name,
            prefix: new.prefix,
            scopes: new.scopes,
            created_at: now(),
            last_used_at: None,
        };
        sqlx::query(
            "INSERT INTO api_keys (id, account_id, name, prefix, secret_hash, scopes, created_at)
             VALUES (?, ?, ?, ?, ?, ?, ?)",
        )
        .bind(key.id.as_str())
        .bind(key.account_id.as_str())
        .bind(&key.name)
        .bind(&key.prefix)
        .bind(&new.secret_hash)
        .bind(scopes_to_text(&key.scopes))
        .bind(key.created_at)
        .execute(&self.pool)
        .await
        .map_err(|e| {
            crate::error::conflict_on_unique(e, || "this key already exists".to_owned())
        })?;
        Ok(key)
    }

    /// Finds a key by the hash of its secret.
    pub async fn find_key(&self, secret_hash: &str) -> Result<Option<KeyRecord>> {
        let row = sqlx::query(
            "SELECT k.*, a.id AS a_id, a.name AS a_name, a.plan AS a_plan,
                    a.is_operator AS a_is_operator, a.created_at AS a_created_at
             FROM api_keys k JOIN accounts a ON a.id = k.account_id
             WHERE k.secret_hash = ?",
        )
        .bind(secret_hash)
        .fetch_optional(&self.pool)
        .await?;
        row.map(|r| {
            Ok(KeyRecord {
                key: key_from_row(&r)?,
                account: account_from_row(&r, "a_")?,
            })
        })
        .transpose()
    }

    /// Records that a key was used, at most once a minute per key to spare the writer.
    pub async fn touch_key(&self, id: &KeyId, at: OffsetDateTime) -> Result<()> {
        sqlx::query(
            "UPDATE api_keys SET last_used_at = ?1
             WHERE id = ?2 AND (last_used_at IS NULL OR last_used_at < ?3)",
        )
        .bind(at)
        .bind(id.as_str())
        .bind(at - time::Duration::minutes(1))
        .execute(&self.pool)
        .await?;
        Ok(())
    }

    pub async fn list_keys(&self, account: &AccountId, page: PageRequest) -> Result<Page<ApiKey>> {
        let rows = sqlx::query(
            "SELECT * FROM api_keys WHERE account_id = ? AND seq > ? ORDER BY seq LIMIT ?",
        )
        .bind(account.as_str())
        .bind(page.after_seq())
        .bind(page.fetch_limit())
        .fetch_all(&self.pool)
        .await?;
        page_of(&rows, page, key_from_row)
    }

    /// Deletes a key of the account. Refuses to delete the account's last admin key, which would
    /// lock the tenant out.
    pub async fn delete_key(&self, account: &AccountId, id: &KeyId) -> Result<()> {
        let mut tx = self.begin_write().await?;
        let row = sqlx::query("SELECT scopes FROM api_keys WHERE id = ? AND account_id = ?")
            .bind(id.as_str())
            .bind(account.as_str())
            .fetch_optional(&mut *tx)
            .await?
            .ok_or_else(|| StoreError::not_found("API key"))?;
        let scopes = scopes_from_text(row.try_get("scopes")?)?;
        if scopes.contains(&Scope::Admin) {
            let admins: i64 = sqlx::query_scalar(
                "SELECT COUNT(*) FROM api_keys WHERE account_id = ? AND (',' || scopes || ',') LIKE '%,admin,%'",
            )
            .bind(account.as_str())
            .fetch_one(&mut *tx)
            .await?;
            if admins <= 1 {
                return Err(StoreError::Conflict(
                    "this is the account's last admin key; create another admin key before deleting it"
                        .to_owned(),
                ));
            }
        }
        sqlx::query("DELETE FROM api_keys WHERE id = ? AND account_id = ?")
            .bind(id.as_str())
            .bind(account.as_str())
            .execute(&mut *tx)
            .await?;
        tx.commit().await?;
        Ok(())
    }
}

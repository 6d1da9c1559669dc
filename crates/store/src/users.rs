//! People, their sessions, and the one-time links that invite them or reset their password.
//!
//! Secrets never reach this module in clear: the server hashes session and link tokens (SHA-256,
//! they carry 200+ random bits) and passwords (argon2id) before they are stored.

use sitechat_core::{
    model::{Account, User, UserRole},
    now, AccountId, UserId,
};
use sqlx::Row;
use time::OffsetDateTime;

use crate::{error::StoreError, Result, Store};

/// A person to create; the password is already hashed.
#[derive(Debug, Clone)]
pub struct NewUser {
    pub account_id: AccountId,
    pub email: String,
    pub name: String,
    pub password_hash: String,
    pub role: UserRole,
}

/// A signed-in session: who, in which account, and the session's CSRF token.
#[derive(Debug, Clone)]
pub struct SessionRecord {
    pub user: User,
    pub account: Account,
    pub csrf: String,
    pub expires_at: OffsetDateTime,
}

/// What a one-time link is for.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum LinkPurpose {
    /// Join an account with a role.
    Invite,
    /// Choose a new password.
    Reset,
}

impl LinkPurpose {
    fn as_str(self) -> &'static str {
        match self {
            LinkPurpose::Invite => "invite",
            LinkPurpose::Reset => "reset",
        }
    }
}

/// A one-time link as stored.
#[derive(Debug, Clone)]
pub struct UserLink {
    pub account_id: AccountId,
    pub email: String,
    pub role: UserRole,
    pub expires_at: OffsetDateTime,
}

fn role_of(text: &str) -> Result<UserRole> {
    UserRole::parse(text).ok_or_else(|| StoreError::Corrupt(format!("unknown user role {text}")))
}

fn user_from_row(row: &sqlx::sqlite::SqliteRow) -> Result<User> {
    Ok(User {
        id: UserId::from_trusted(row.try_get("id")?),
        account_id: AccountId::from_trusted(row.try_get("account_id")?),
        email: row.try_get("email")?,
        name: row.try_get("name")?,
        role: role_of(row.try_get("role")?)?,
        created_at: row.try_get("created_at")?,
    })
}

impl Store {
    pub async fn create_user(&self, new: NewUser) -> Result<User> {
        let user = User {
            id: UserId::generate(),
            account_id: new.account_id,
            email: new.email,
            name: new.name,
            role: new.role,
            created_at: now(),
        };
        sqlx::query(
            "INSERT INTO users (id, account_id, email, name, password_hash, role, created_at)
             VALUES (?, ?, ?, ?, ?, ?, ?)",
        )
        .bind(user.id.as_str())
        .bind(user.account_id.as_str())
        .bind(&user.email)
        .bind(&user.name)
        .bind(&new.password_hash)
        .bind(user.role.as_str())
        .bind(user.created_at)
        .execute(&self.pool)
        .await
        .map_err(|e| {
            crate::error::conflict_on_unique(e, || {
                format!("someone already signs in as {}", user.email)
            })
        })?;
        Ok(user)
    }

    /// A person and their password hash, by email (case-insensitive).
    pub async fn user_by_email(&self, email: &str) -> Result<Option<(User, String)>> {
        let row = sqlx::query("SELECT * FROM users WHERE email = ?")
            .bind(email)
            .fetch_optional(&self.pool)
            .await?;
        row.map(|r| Ok((user_from_row(&r)?, r.try_get("password_hash")?)))
            .transpose()
    }

    pub async fn get_user(&self, account: &AccountId, id: &UserId) -> Result<User> {
        let row = sqlx::query("SELECT * FROM users WHERE id = ? AND account_id = ?")
            .bind(id.as_str())
            .bind(account.as_str())
            .fetch_optional(&self.pool)
            .await?
            .ok_or_else(|| StoreError::not_found("user"))?;
        user_from_row(&row)
    }

    pub async fn list_users(&self, account: &AccountId) -> Result<Vec<User>> {
        let rows = sqlx::query("SELECT * FROM users WHERE account_id = ? ORDER BY seq")
            .bind(account.as_str())
            .fetch_all(&self.pool)
            .await?;
        rows.iter().map(user_from_row).collect()
    }

    /// Changes a person's role. Refuses to leave the account without an owner.
    pub async fn set_user_role(
        &self,
        account: &AccountId,
        id: &UserId,
        role: UserRole,
    ) -> Result<User> {
        let mut tx = self.begin_write().await?;
        let current = self.owner_guard(&mut tx, account, id).await?;
        sqlx::query("UPDATE users SET role = ? WHERE id = ? AND account_id = ?")
            .bind(role.as_str())
            .bind(id.as_str())
            .bind(account.as_str())
            .execute(&mut *tx)
            .await?;
        tx.commit().await?;
        Ok(User { role, ..current })
    }

    /// Removes a person and their sessions. Refuses to remove the account's last owner.
    pub async fn delete_user(&self, account: &AccountId, id: &UserId) -> Result<()> {
        let mut tx = self.begin_write().await?;
        self.owner_guard(&mut tx, account, id).await?;
        sqlx::query("DELETE FROM users WHERE id = ? AND account_id = ?")
            .bind(id.as_str())
            .bind(account.as_str())
            .execute(&mut *tx)
            .await?;
        tx.commit().await?;
        Ok(())
    }

    /// The person, refusing a change that would take away the account's last owner.
    async fn owner_guard(
        &self,
        tx: &mut crate::WriteTx<'_>,
        account: &AccountId,
        id: &UserId,
    ) -> Result<User> {
        let row = sqlx::query("SELECT * FROM users WHERE id = ? AND account_id = ?")
            .bind(id.as_str())
            .bind(account.as_str())
            .fetch_optional(&mut **tx)
            .await?
            .ok_or_else(|| StoreError::not_found("user"))?;
        let user = user_from_row(&row)?;
        if user.role == UserRole::Owner {
            let owners: i64 = sqlx::query_scalar(
                "SELECT COUNT(*) FROM users WHERE account_id = ? AND role = 'owner'",
            )
            .bind(account.as_str())
            .fetch_one(&mut **tx)
            .await?;
            if owners <= 1 {
                return Err(StoreError::Conflict(
                    "this is the account's last owner; make someone else an owner first".to_owned(),
                ));
            }
        }
        Ok(user)
    }

    /// Sets a new password and ends every session of the person.
    pub async fn set_password(&self, id: &UserId, password_hash: &str) -> Result<()> {
        let mut tx = self.begin_write().await?;
        let changed = sqlx::query("UPDATE users SET password_hash = ? WHERE id = ?")
            .bind(password_hash)
            .bind(id.as_str())
            .execute(&mut *tx)
            .await?
            .rows_affected();
        if changed == 0 {
            return Err(StoreError::not_found("user"));
        }
        sqlx::query("DELETE FROM sessions WHERE user_id = ?")
            .bind(id.as_str())
            .execute(&mut *tx)
            .await?;
        tx.commit().await?;
        Ok(())
    }

    pub async fn create_session(
        &self,
        token_hash: &str,
        user: &UserId,
        csrf: &str,
        expires_at: OffsetDateTime,
    ) -> Result<()> {
        sqlx::query(
            "INSERT INTO sessions (token_hash, user_id, csrf, created_at, expires_at)
             VALUES (?, ?, ?, ?, ?)",
        )
        .bind(token_hash)
        .bind(user.as_str())
        .bind(csrf)
        .bind(now())
        .bind(expires_at)
        .execute(&self.pool)
        .await?;
        Ok(())
    }

    /// The live session with this token hash, with its person and account.
    pub async fn find_session(&self, token_hash: &str) -> Result<Option<SessionRecord>> {
        let row = sqlx::query(
            "SELECT s.csrf, s.expires_at, u.*, a.id AS a_id, a.name AS a_name, a.plan AS a_plan,
                    a.is_operator AS a_is_operator, a.created_at AS a_created_at
             FROM sessions s JOIN users u ON u.id = s.user_id JOIN accounts a ON a.id = u.account_id
             WHERE s.token_hash = ? AND s.expires_at > ?",
        )
        .bind(token_hash)
        .bind(now())
        .fetch_optional(&self.pool)
        .await?;
        row.map(|r| {
            Ok(SessionRecord {
                user: user_from_row(&r)?,
                account: crate::accounts::account_from_row(&r, "a_")?,
                csrf: r.try_get("csrf")?,
                expires_at: r.try_get("expires_at")?,
            })
        })
        .transpose()
    }

    /// Ends a session (signing out); also sweeps expired ones.
    pub async fn delete_session(&self, token_hash: &str) -> Result<()> {
        sqlx::query("DELETE FROM sessions WHERE token_hash = ? OR expires_at <= ?")
            .bind(token_hash)
            .bind(now())
            .execute(&self.pool)
            .await?;
        Ok(())
    }

    pub async fn create_user_link(
        &self,
        purpose: LinkPurpose,
        token_hash: &str,
        link: &UserLink,
    ) -> Result<()> {
        sqlx::query(
            "INSERT INTO user_links (token_hash, purpose, account_id, email, role, created_at, expires_at)
             VALUES (?, ?, ?, ?, ?, ?, ?)",
        )
        .bind(token_hash)
        .bind(purpose.as_str())
        .bind(link.account_id.as_str())
        .bind(&link.email)
        .bind(link.role.as_str())
        .bind(now())
        .bind(link.expires_at)
        .execute(&self.pool)
        .await?;
        Ok(())
    }

    /// The unused, unexpired link with this token hash, without using it.
    pub async fn peek_user_link(
        &self,
        purpose: LinkPurpose,
        token_hash: &str,
    ) -> Result<Option<UserLink>> {
        let row = sqlx::query(
            "SELECT * FROM user_links
             WHERE token_hash = ? AND purpose = ? AND used_at IS NULL AND expires_at > ?",
        )
        .bind(token_hash)
        .bind(purpose.as_str())
        .bind(now())
        .fetch_optional(&self.pool)
        .await?;
        row.map(|r| {
            Ok(UserLink {
                account_id: AccountId::from_trusted(r.try_get("account_id")?),
                email: r.try_get("email")?,
                role: role_of(r.try_get("role")?)?,
                expires_at: r.try_get("expires_at")?,
            })
        })
        .transpose()
    }

    /// Marks a link used; `false` if it was already used or expired (a second click, a race).
    pub async fn use_user_link(&self, purpose: LinkPurpose, token_hash: &str) -> Result<bool> {
        let changed = sqlx::query(
            "UPDATE user_links SET used_at = ?1
             WHERE token_hash = ?2 AND purpose = ?3 AND used_at IS NULL AND expires_at > ?1",
        )
        .bind(now())
        .bind(token_hash)
        .bind(purpose.as_str())
        .execute(&self.pool)
        .await?
        .rows_affected();
        Ok(changed == 1)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::testing::store;
    use sitechat_core::Plan;

    fn person(account: &AccountId, email: &str, role: UserRole) -> NewUser {
        NewUser {
            account_id: account.clone(),
            email: email.to_owned(),
            name: "Ada".to_owned(),
            password_hash: "$argon2id$stand-in".to_owned(),
            role,
        }
    }

    #[tokio::test]
    async fn an_email_signs_in_to_one_account_only() {
        let (store, _dir, _) = store().await;
        let a = store.create_account("a", Plan::Free, false).await.unwrap();
        let b = store.create_account("b", Plan::Free, false).await.unwrap();
        store
            .create_user(person(&a.id, "ada@example.org", UserRole::Owner))
            .await
            .unwrap();
        let err = store
            .create_user(person(&b.id, "ADA@example.org", UserRole::Owner))
            .await
            .unwrap_err();
        assert!(matches!(err, StoreError::Conflict(_)), "{err:?}");
        let (found, hash) = store
            .user_by_email("Ada@Example.org")
            .await
            .unwrap()
            .unwrap();
        assert_eq!(found.account_id, a.id);
        assert_eq!(hash, "$argon2id$stand-in");
    }

    #[tokio::test]
    async fn the_last_owner_stays() {
        let (store, _dir, _) = store().await;
        let a = store.create_account("a", Plan::Free, false).await.unwrap();
        let owner = store
            .create_user(person(&a.id, "o@example.org", UserRole::Owner))
            .await
            .unwrap();
        assert!(store.delete_user(&a.id, &owner.id).await.is_err());
        assert!(store
            .set_user_role(&a.id, &owner.id, UserRole::Agent)
            .await
            .is_err());
        let second = store
            .create_user(person(&a.id, "p@example.org", UserRole::Owner))
            .await
            .unwrap();
        store.delete_user(&a.id, &owner.id).await.unwrap();
        // Another account cannot reach the person.
        let other = store.create_account("b", Plan::Free, false).await.unwrap();
        assert!(store.delete_user(&other.id, &second.id).await.is_err());
    }

    #[tokio::test]
    async fn a_link_is_used_once_and_a_new_password_ends_sessions() {
        let (store, _dir, _) = store().await;
        let a = store.create_account("a", Plan::Free, false).await.unwrap();
        let user = store
            .create_user(person(&a.id, "o@example.org", UserRole::Owner))
            .await
            .unwrap();
        let link = UserLink {
            account_id: a.id.clone(),
            email: "new@example.org".to_owned(),
            role: UserRole::Agent,
            expires_at: now() + time::Duration::hours(1),
        };
        store
            .create_user_link(LinkPurpose::Invite, "h1", &link)
            .await
            .unwrap();
        assert!(store
            .peek_user_link(LinkPurpose::Reset, "h1")
            .await
            .unwrap()
            .is_none());
        assert!(store
            .use_user_link(LinkPurpose::Invite, "h1")
            .await
            .unwrap());
        assert!(!store
            .use_user_link(LinkPurpose::Invite, "h1")
            .await
            .unwrap());

        store
            .create_session("s1", &user.id, "c1", now() + time::Duration::hours(1))
            .await
            .unwrap();
        assert!(store.find_session("s1").await.unwrap().is_some());
        store.set_password(&user.id, "$argon2id$new").await.unwrap();
        assert!(store.find_session("s1").await.unwrap().is_none());
    }
}

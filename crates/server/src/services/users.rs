//! People of an account: signing in and out, invitations, password resets, roles.
//!
//! Who may manage whom: an owner or admin (or an `admin` key) manages people; only an owner (or
//! an `admin` key) may make, change, reset or remove an owner. An agent manages no one.
//! One-time links (invitations, password resets) last [`LINK_LIFETIME`] and are shown once: only
//! their hash is stored. sitechat sends no email; the person who made a link passes it on.

use sitechat_core::{
    model::{User, UserRole},
    now, random_token, AccountId, Scope, UserId,
};
use sitechat_store::{LinkPurpose, NewUser, Store, UserLink};
use time::OffsetDateTime;

use crate::{
    auth::{hash_key, rate_limited, Caller},
    error::{ApiError, ApiResult},
    sessions::{self, NewSession},
    state::AppState,
};

pub const LINK_LIFETIME: time::Duration = time::Duration::days(3);

/// A one-time link just made: its secret is shown this once.
#[derive(Debug, Clone)]
pub struct Link {
    pub token: String,
    /// Where the person opens it: `/dashboard/join/…` or `/dashboard/reset/…`.
    pub path: String,
    pub email: String,
    pub role: UserRole,
    pub expires_at: OffsetDateTime,
}

/// A trimmed, plausible email address, or what is wrong with it.
pub fn parse_email(value: &str) -> ApiResult<String> {
    let email = value.trim();
    let plausible = email.len() <= 254
        && !email.chars().any(char::is_whitespace)
        && email.split_once('@').is_some_and(|(local, domain)| {
            !local.is_empty()
                && !domain.contains('@')
                && domain.contains('.')
                && !domain.starts_with('.')
                && !domain.ends_with('.')
        });
    if plausible {
        Ok(email.to_owned())
    } else {
        Err(ApiError::invalid(format!(
            "email: `{}` is not an email address (name@example.org)",
            email.chars().take(80).collect::<String>()
        )))
    }
}

fn parse_name(value: &str) -> ApiResult<String> {
    let name = value.trim();
    if name.is_empty() || name.chars().count() > 100 {
        return Err(ApiError::invalid("name: give 1 to 100 characters"));
    }
    Ok(name.to_owned())
}

/// Creates a person directly (the operator's `sitechat users create`, or an accepted invitation).
pub async fn create(
    store: &Store,
    account: &AccountId,
    email: &str,
    name: &str,
    password: &str,
    role: UserRole,
) -> ApiResult<User> {
    let email = parse_email(email)?;
    let name = parse_name(name)?;
    sessions::check_new_password(password)?;
    let password_hash = sessions::hash_password(password).await?;
    Ok(store
        .create_user(NewUser {
            account_id: account.clone(),
            email,
            name,
            password_hash,
            role,
        })
        .await?)
}

/// Checks an email and password and starts a session. Every attempt counts against the
/// email's and the IP's allowance; a wrong email and a wrong password get the same answer.
pub async fn sign_in(
    state: &AppState,
    email: &str,
    password: &str,
    ip: Option<std::net::IpAddr>,
) -> Result<(User, NewSession), axum::response::Response> {
    use axum::response::IntoResponse;
    let email = email.trim();
    if let Some(refused) = state.limits.check_sign_in(email, ip) {
        return Err(rate_limited(
            &refused,
            "too many sign-in attempts for this email or from this address".to_owned(),
        ));
    }
    let found = state
        .store
        .user_by_email(email)
        .await
        .map_err(|e| ApiError::from(e).into_response())?;
    let (user, stored) = match found {
        Some((user, hash)) => (Some(user), Some(hash)),
        None => (None, None),
    };
    let verified = sessions::verify_password(stored, password).await;
    let user = user.filter(|_| verified).ok_or_else(|| {
        ApiError::Unauthorized("the email or the password is wrong".to_owned()).into_response()
    })?;
    let session = start_session(state, &user)
        .await
        .map_err(IntoResponse::into_response)?;
    tracing::info!(user = %user.id, account = %user.account_id, "signed in");
    Ok((user, session))
}

pub async fn sign_out(state: &AppState, token_hash: &str) -> ApiResult<()> {
    Ok(state.store.delete_session(token_hash).await?)
}

/// Refuses unless the caller may manage people, and owners when `role` is one.
fn require_manager(caller: &Caller, role: UserRole) -> ApiResult<()> {
    caller.require(Scope::Admin)?;
    if role == UserRole::Owner
        && caller
            .user
            .as_ref()
            .is_some_and(|u| u.role != UserRole::Owner)
    {
        return Err(ApiError::forbidden(
            "only an owner may make, change, reset or remove an owner",
        ));
    }
    Ok(())
}

pub async fn list(state: &AppState, caller: &Caller) -> ApiResult<Vec<User>> {
    caller.require(Scope::Read)?;
    Ok(state.store.list_users(&caller.account.id).await?)
}

async fn make_link(
    store: &Store,
    purpose: LinkPurpose,
    account: &AccountId,
    email: String,
    role: UserRole,
) -> ApiResult<Link> {
    let token = random_token(40);
    let link = UserLink {
        account_id: account.clone(),
        email: email.clone(),
        role,
        expires_at: now() + LINK_LIFETIME,
    };
    store
        .create_user_link(purpose, &hash_key(&token), &link)
        .await?;
    let path = match purpose {
        LinkPurpose::Invite => format!("/dashboard/join/{token}"),
        LinkPurpose::Reset => format!("/dashboard/reset/{token}"),
    };
    Ok(Link {
        token,
        path,
        email,
        role,
        expires_at: link.expires_at,
    })
}

/// A one-time link that lets `email` join the account with `role`.
pub async fn invite(
    state: &AppState,
    caller: &Caller,
    email: &str,
    role: UserRole,
) -> ApiResult<Link> {
    require_manager(caller, role)?;
    let email = parse_email(email)?;
    if state.store.user_by_email(&email).await?.is_some() {
        return Err(ApiError::Conflict(format!(
            "someone already signs in as {email}"
        )));
    }
    make_link(
        &state.store,
        LinkPurpose::Invite,
        &caller.account.id,
        email,
        role,
    )
    .await
}

/// What an unused link is for, without using it (the page that asks for a name and password).
pub async fn peek_link(state: &AppState, purpose: LinkPurpose, token: &str) -> ApiResult<UserLink> {
    state
        .store
        .peek_user_link(purpose, &hash_key(token))
        .await?
        .ok_or_else(|| {
            ApiError::not_found(
                "link (it was used, it expired, or it was mistyped; ask for a new one)",
            )
        })
}

/// Joins the account of an invitation: the person is created and signed in.
pub async fn accept_invite(
    state: &AppState,
    token: &str,
    name: &str,
    password: &str,
) -> ApiResult<(User, NewSession)> {
    let link = peek_link(state, LinkPurpose::Invite, token).await?;
    parse_name(name)?;
    sessions::check_new_password(password)?;
    if !state
        .store
        .use_user_link(LinkPurpose::Invite, &hash_key(token))
        .await?
    {
        return Err(ApiError::not_found("link (it was used a moment ago)"));
    }
    let user = create(
        &state.store,
        &link.account_id,
        &link.email,
        name,
        password,
        link.role,
    )
    .await?;
    let session = start_session(state, &user).await?;
    Ok((user, session))
}

async fn start_session(state: &AppState, user: &User) -> ApiResult<NewSession> {
    let session = sessions::new_session();
    state
        .store
        .create_session(
            &session.token_hash,
            &user.id,
            &session.csrf,
            now() + sessions::LIFETIME,
        )
        .await?;
    Ok(session)
}

/// A one-time link with which a person of the account chooses a new password.
pub async fn reset_link(state: &AppState, caller: &Caller, id: &UserId) -> ApiResult<Link> {
    let user = state.store.get_user(&caller.account.id, id).await?;
    require_manager(caller, user.role)?;
    make_link(
        &state.store,
        LinkPurpose::Reset,
        &caller.account.id,
        user.email,
        user.role,
    )
    .await
}

/// A password reset link for the person who signs in as `email`, made by the operator on the
/// command line (`sitechat users reset-link`): the way back in for an account's only owner.
pub async fn operator_reset_link(store: &Store, email: &str) -> ApiResult<Link> {
    let (user, _) = store
        .user_by_email(email.trim())
        .await?
        .ok_or_else(|| ApiError::not_found(format!("user {}", email.trim())))?;
    make_link(
        store,
        LinkPurpose::Reset,
        &user.account_id,
        user.email,
        user.role,
    )
    .await
}

/// Sets the password of a reset link's person, ends their other sessions and signs them in.
pub async fn reset_password(
    state: &AppState,
    token: &str,
    password: &str,
) -> ApiResult<(User, NewSession)> {
    let link = peek_link(state, LinkPurpose::Reset, token).await?;
    sessions::check_new_password(password)?;
    let (user, _) = state
        .store
        .user_by_email(&link.email)
        .await?
        .filter(|(u, _)| u.account_id == link.account_id)
        .ok_or_else(|| ApiError::not_found("user (they were removed)"))?;
    if !state
        .store
        .use_user_link(LinkPurpose::Reset, &hash_key(token))
        .await?
    {
        return Err(ApiError::not_found("link (it was used a moment ago)"));
    }
    let hash = sessions::hash_password(password).await?;
    state.store.set_password(&user.id, &hash).await?;
    let session = start_session(state, &user).await?;
    Ok((user, session))
}

pub async fn set_role(
    state: &AppState,
    caller: &Caller,
    id: &UserId,
    role: UserRole,
) -> ApiResult<User> {
    let user = state.store.get_user(&caller.account.id, id).await?;
    require_manager(caller, user.role)?;
    require_manager(caller, role)?;
    Ok(state
        .store
        .set_user_role(&caller.account.id, id, role)
        .await?)
}

pub async fn remove(state: &AppState, caller: &Caller, id: &UserId) -> ApiResult<()> {
    let user = state.store.get_user(&caller.account.id, id).await?;
    require_manager(caller, user.role)?;
    Ok(state.store.delete_user(&caller.account.id, id).await?)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn emails_are_checked_loosely_but_surely() {
        assert_eq!(
            parse_email("  ada@example.org ").unwrap(),
            "ada@example.org"
        );
        for bad in [
            "",
            "ada",
            "ada@",
            "@example.org",
            "ada@example",
            "a b@example.org",
            "a@b@c.org",
        ] {
            assert!(parse_email(bad).is_err(), "{bad}");
        }
    }
}

//! People of the caller's account, and the dashboard session: signing in and out, invitations
//! and password resets.

use axum::{
    extract::{ConnectInfo, State},
    http::{header, HeaderMap, StatusCode},
    response::{IntoResponse, Response},
    Json,
};
use serde::{Deserialize, Serialize};
use sitechat_core::{
    model::{User, UserRole},
    UserId,
};
use sitechat_store::LinkPurpose;
use utoipa::ToSchema;
use utoipa_axum::{router::OpenApiRouter, routes};

use crate::{
    auth::{client_ip_of, Caller},
    error::{ApiError, ApiResult, ErrorBody},
    extract::{ApiJson, ApiPath},
    services::users,
    sessions::{self, NewSession},
    state::AppState,
};

/// The routes that take a key or a session.
pub fn router() -> OpenApiRouter<AppState> {
    OpenApiRouter::new()
        .routes(routes!(current_session, sign_out))
        .routes(routes!(list_users))
        .routes(routes!(invite))
        .routes(routes!(update_user, delete_user))
        .routes(routes!(reset_link))
}

/// The routes that take neither: signing in, and the one-time links.
pub fn open_router() -> OpenApiRouter<AppState> {
    OpenApiRouter::new()
        .routes(routes!(sign_in))
        .routes(routes!(show_invitation, accept_invitation))
        .routes(routes!(reset_password))
}

fn parse_role(value: &str) -> ApiResult<UserRole> {
    UserRole::parse(value.trim()).ok_or_else(|| {
        ApiError::invalid(format!(
            "role: `{value}` is not a role; use owner, admin or agent"
        ))
    })
}

#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct SignIn {
    pub email: String,
    pub password: String,
}

/// A signed-in session: who, and the token that every change made with the cookie must carry in
/// `X-CSRF-Token`.
#[derive(Serialize, ToSchema)]
pub struct SessionBody {
    pub user: User,
    pub csrf_token: String,
}

/// The session's body with the cookie that carries it.
fn started(
    state: &AppState,
    headers: &HeaderMap,
    status: StatusCode,
    user: User,
    session: NewSession,
) -> Response {
    let cookie = sessions::set_cookie(Some(&session.token), sessions::is_https(state, headers));
    (
        status,
        [(header::SET_COOKIE, cookie)],
        Json(SessionBody {
            user,
            csrf_token: session.csrf,
        }),
    )
        .into_response()
}

/// Signs in with email and password. The session is an HttpOnly cookie (`sitechat_session`);
/// the body's `csrf_token` must accompany every change made with it. Attempts are limited per
/// email and per client IP (429 with `Retry-After`).
#[utoipa::path(post, path = "/v1/session", tag = "users", request_body = SignIn,
    responses((status = 200, body = SessionBody), (status = 400, body = ErrorBody),
        (status = 401, body = ErrorBody), (status = 429, body = ErrorBody)))]
pub async fn sign_in(
    State(state): State<AppState>,
    extensions: axum::http::Extensions,
    headers: HeaderMap,
    ApiJson(body): ApiJson<SignIn>,
) -> Response {
    if body.email.trim().is_empty() || body.password.is_empty() {
        return ApiError::invalid("give both `email` and `password`").into_response();
    }
    let peer = extensions
        .get::<ConnectInfo<std::net::SocketAddr>>()
        .map(|p| p.0);
    let ip = client_ip_of(&state, &headers, peer);
    match users::sign_in(&state, &body.email, &body.password, ip).await {
        Ok((user, session)) => started(&state, &headers, StatusCode::OK, user, session),
        Err(refused) => refused,
    }
}

/// The signed-in person and the session's CSRF token (401 without a session).
#[utoipa::path(get, path = "/v1/session", tag = "users",
    responses((status = 200, body = SessionBody), (status = 400, body = ErrorBody)),
    security(("session" = [])))]
pub async fn current_session(
    State(state): State<AppState>,
    headers: HeaderMap,
) -> ApiResult<Json<SessionBody>> {
    let session = sessions::current(&state, &headers).await?.ok_or_else(|| {
        ApiError::invalid("this request is signed with an API key, not a session")
    })?;
    let user = session
        .caller
        .user
        .ok_or_else(|| ApiError::internal("a session without its person"))?;
    Ok(Json(SessionBody {
        user,
        csrf_token: session.csrf,
    }))
}

/// Signs out: the session ends at once and the cookie is cleared.
#[utoipa::path(delete, path = "/v1/session", tag = "users",
    responses((status = 204), (status = 400, body = ErrorBody)),
    security(("session" = [])))]
pub async fn sign_out(State(state): State<AppState>, headers: HeaderMap) -> ApiResult<Response> {
    let session = sessions::current(&state, &headers).await?.ok_or_else(|| {
        ApiError::invalid("this request is signed with an API key, not a session")
    })?;
    users::sign_out(&state, &session.token_hash).await?;
    let cookie = sessions::set_cookie(None, sessions::is_https(&state, &headers));
    Ok((StatusCode::NO_CONTENT, [(header::SET_COOKIE, cookie)]).into_response())
}

/// The people of the account.
#[utoipa::path(get, path = "/v1/users", tag = "users",
    responses((status = 200, body = Vec<User>)), security(("bearer" = []), ("api_key" = [])))]
pub async fn list_users(
    State(state): State<AppState>,
    caller: Caller,
) -> ApiResult<Json<Vec<User>>> {
    Ok(Json(users::list(&state, &caller).await?))
}

#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct Invite {
    pub email: String,
    /// `owner`, `admin` or `agent`.
    pub role: String,
}

/// A one-time link; its token is shown only in this response.
#[derive(Serialize, ToSchema)]
pub struct LinkBody {
    pub email: String,
    pub role: UserRole,
    /// The dashboard page that opens it, relative to this server (`/dashboard/join/…`).
    pub path: String,
    pub token: String,
    #[serde(with = "time::serde::rfc3339")]
    pub expires_at: time::OffsetDateTime,
}

impl From<users::Link> for LinkBody {
    fn from(link: users::Link) -> Self {
        Self {
            email: link.email,
            role: link.role,
            path: link.path,
            token: link.token,
            expires_at: link.expires_at,
        }
    }
}

/// Invites someone to the account with a role: a one-time link, valid three days, to pass on
/// (sitechat sends no email). Owners and admins invite; only an owner invites an owner.
#[utoipa::path(post, path = "/v1/users/invitations", tag = "users", request_body = Invite,
    responses((status = 201, body = LinkBody), (status = 400, body = ErrorBody),
        (status = 403, body = ErrorBody), (status = 409, body = ErrorBody)),
    security(("bearer" = []), ("api_key" = [])))]
pub async fn invite(
    State(state): State<AppState>,
    caller: Caller,
    ApiJson(body): ApiJson<Invite>,
) -> ApiResult<(StatusCode, Json<LinkBody>)> {
    let role = parse_role(&body.role)?;
    let link = users::invite(&state, &caller, &body.email, role).await?;
    Ok((StatusCode::CREATED, Json(link.into())))
}

#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct UpdateUser {
    /// `owner`, `admin` or `agent`.
    pub role: String,
}

/// Changes a person's role. The account's last owner keeps theirs (409).
#[utoipa::path(patch, path = "/v1/users/{id}", tag = "users", request_body = UpdateUser,
    params(("id" = String, Path, description = "User id (`usr_…`)")),
    responses((status = 200, body = User), (status = 400, body = ErrorBody),
        (status = 403, body = ErrorBody), (status = 404, body = ErrorBody), (status = 409, body = ErrorBody)),
    security(("bearer" = []), ("api_key" = [])))]
pub async fn update_user(
    State(state): State<AppState>,
    caller: Caller,
    ApiPath(id): ApiPath<String>,
    ApiJson(body): ApiJson<UpdateUser>,
) -> ApiResult<Json<User>> {
    let id = UserId::parse(&id)?;
    let role = parse_role(&body.role)?;
    Ok(Json(users::set_role(&state, &caller, &id, role).await?))
}

/// Removes a person and ends their sessions. The account's last owner stays (409).
#[utoipa::path(delete, path = "/v1/users/{id}", tag = "users",
    params(("id" = String, Path, description = "User id (`usr_…`)")),
    responses((status = 204), (status = 403, body = ErrorBody), (status = 404, body = ErrorBody),
        (status = 409, body = ErrorBody)),
    security(("bearer" = []), ("api_key" = [])))]
pub async fn delete_user(
    State(state): State<AppState>,
    caller: Caller,
    ApiPath(id): ApiPath<String>,
) -> ApiResult<StatusCode> {
    let id = UserId::parse(&id)?;
    users::remove(&state, &caller, &id).await?;
    Ok(StatusCode::NO_CONTENT)
}

/// A one-time link with which the person chooses a new password (valid three days; using it
/// ends their other sessions).
#[utoipa::path(post, path = "/v1/users/{id}/password-reset", tag = "users",
    params(("id" = String, Path, description = "User id (`usr_…`)")),
    responses((status = 201, body = LinkBody), (status = 403, body = ErrorBody), (status = 404, body = ErrorBody)),
    security(("bearer" = []), ("api_key" = [])))]
pub async fn reset_link(
    State(state): State<AppState>,
    caller: Caller,
    ApiPath(id): ApiPath<String>,
) -> ApiResult<(StatusCode, Json<LinkBody>)> {
    let id = UserId::parse(&id)?;
    let link = users::reset_link(&state, &caller, &id).await?;
    Ok((StatusCode::CREATED, Json(link.into())))
}

/// What an invitation is for (its email and role), without using it.
#[derive(Serialize, ToSchema)]
pub struct InvitationBody {
    pub email: String,
    pub role: UserRole,
    #[serde(with = "time::serde::rfc3339")]
    pub expires_at: time::OffsetDateTime,
}

/// An unused invitation's email and role (404 when used, expired or unknown).
#[utoipa::path(get, path = "/v1/invitations/{token}", tag = "users",
    params(("token" = String, Path, description = "The invitation's token")),
    responses((status = 200, body = InvitationBody), (status = 404, body = ErrorBody)))]
pub async fn show_invitation(
    State(state): State<AppState>,
    ApiPath(token): ApiPath<String>,
) -> ApiResult<Json<InvitationBody>> {
    let link = users::peek_link(&state, LinkPurpose::Invite, &token).await?;
    Ok(Json(InvitationBody {
        email: link.email,
        role: link.role,
        expires_at: link.expires_at,
    }))
}

#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct AcceptInvitation {
    pub name: String,
    /// At least 10 characters.
    pub password: String,
}

/// Joins the account: the person is created with the invitation's email and role, and signed in.
#[utoipa::path(post, path = "/v1/invitations/{token}", tag = "users", request_body = AcceptInvitation,
    params(("token" = String, Path, description = "The invitation's token")),
    responses((status = 201, body = SessionBody), (status = 400, body = ErrorBody),
        (status = 404, body = ErrorBody), (status = 409, body = ErrorBody)))]
pub async fn accept_invitation(
    State(state): State<AppState>,
    headers: HeaderMap,
    ApiPath(token): ApiPath<String>,
    ApiJson(body): ApiJson<AcceptInvitation>,
) -> ApiResult<Response> {
    let (user, session) = users::accept_invite(&state, &token, &body.name, &body.password).await?;
    Ok(started(
        &state,
        &headers,
        StatusCode::CREATED,
        user,
        session,
    ))
}

#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct ResetPassword {
    /// At least 10 characters.
    pub password: String,
}

/// Sets a new password with a reset link; the person's other sessions end and they are signed in.
#[utoipa::path(post, path = "/v1/password-resets/{token}", tag = "users", request_body = ResetPassword,
    params(("token" = String, Path, description = "The reset link's token")),
    responses((status = 200, body = SessionBody), (status = 400, body = ErrorBody), (status = 404, body = ErrorBody)))]
pub async fn reset_password(
    State(state): State<AppState>,
    headers: HeaderMap,
    ApiPath(token): ApiPath<String>,
    ApiJson(body): ApiJson<ResetPassword>,
) -> ApiResult<Response> {
    let (user, session) = users::reset_password(&state, &token, &body.password).await?;
    Ok(started(&state, &headers, StatusCode::OK, user, session))
}

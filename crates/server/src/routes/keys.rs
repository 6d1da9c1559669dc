//! API keys of the caller's account.

use axum::{extract::State, http::StatusCode, Json};
use serde::{Deserialize, Serialize};
use sitechat_core::{model::ApiKey, validate::Label, KeyId, Scope};
use utoipa::ToSchema;
use utoipa_axum::{router::OpenApiRouter, routes};

use crate::{
    auth::Caller,
    error::{ApiError, ApiResult, ErrorBody},
    extract::{ApiJson, ApiPath, ApiQuery},
    routes::{List, PageQuery},
    services::accounts,
    state::AppState,
};

pub fn router() -> OpenApiRouter<AppState> {
    OpenApiRouter::new()
        .routes(routes!(create_key, list_keys))
        .routes(routes!(delete_key))
}

#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct CreateKey {
    pub name: String,
    /// Any of `admin`, `chat`, `read`.
    pub scopes: Vec<String>,
}

#[derive(Serialize, ToSchema)]
pub struct CreatedKey {
    #[serde(flatten)]
    pub key: ApiKey,
    /// The secret. Shown only in this response: store it now.
    pub secret: String,
}

/// Creates a key in the caller's account. The secret is in this response and nowhere else.
#[utoipa::path(post, path = "/v1/keys", tag = "keys", request_body = CreateKey,
    responses((status = 201, body = CreatedKey), (status = 400, body = ErrorBody), (status = 403, body = ErrorBody)),
    security(("bearer" = []), ("api_key" = [])))]
pub async fn create_key(
    State(state): State<AppState>,
    caller: Caller,
    ApiJson(body): ApiJson<CreateKey>,
) -> ApiResult<(StatusCode, Json<CreatedKey>)> {
    let name = Label::parse("name", &body.name)?;
    if body.scopes.is_empty() {
        return Err(ApiError::invalid(
            "scopes: give at least one of admin, chat, read",
        ));
    }
    let mut scopes = body
        .scopes
        .iter()
        .map(|s| {
            Scope::parse(s.trim()).ok_or_else(|| {
                ApiError::invalid(format!(
                    "scopes: `{s}` is not a scope; use admin, chat or read"
                ))
            })
        })
        .collect::<Result<Vec<_>, _>>()?;
    scopes.sort();
    scopes.dedup();
    let created = accounts::create_key(&state, &caller, name.as_str(), scopes).await?;
    Ok((
        StatusCode::CREATED,
        Json(CreatedKey {
            key: created.key,
            secret: created.secret,
        }),
    ))
}

/// Lists the account's keys: prefixes only, never secrets.
#[utoipa::path(get, path = "/v1/keys", tag = "keys", params(PageQuery),
    responses((status = 200, body = List<ApiKey>)), security(("bearer" = []), ("api_key" = [])))]
pub async fn list_keys(
    State(state): State<AppState>,
    caller: Caller,
    ApiQuery(page): ApiQuery<PageQuery>,
) -> ApiResult<Json<List<ApiKey>>> {
    let page = accounts::list_keys(&state, &caller, page.parse()?).await?;
    Ok(Json(List::from_page(page, |k| k)))
}

/// Revokes a key at once. The account's last admin key cannot be deleted (409).
#[utoipa::path(delete, path = "/v1/keys/{id}", tag = "keys",
    params(("id" = String, Path, description = "Key id (`key_…`)")),
    responses((status = 204), (status = 404, body = ErrorBody), (status = 409, body = ErrorBody)),
    security(("bearer" = []), ("api_key" = [])))]
pub async fn delete_key(
    State(state): State<AppState>,
    caller: Caller,
    ApiPath(id): ApiPath<String>,
) -> ApiResult<StatusCode> {
    let id = KeyId::parse(&id)?;
    accounts::delete_key(&state, &caller, &id).await?;
    Ok(StatusCode::NO_CONTENT)
}

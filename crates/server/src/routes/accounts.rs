//! Accounts (tenants).

use axum::{extract::State, http::StatusCode, Json};
use serde::{Deserialize, Serialize};
use sitechat_core::{model::Account, plan::PlanLimits, validate::Label, Plan};
use utoipa::ToSchema;
use utoipa_axum::{router::OpenApiRouter, routes};

use crate::{
    auth::Caller,
    error::{ApiError, ApiResult, ErrorBody},
    extract::{ApiJson, ApiQuery},
    routes::{List, PageQuery},
    services::accounts,
    state::AppState,
};

pub fn router() -> OpenApiRouter<AppState> {
    OpenApiRouter::new()
        .routes(routes!(create_account, list_accounts))
        .routes(routes!(current_account))
}

#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct CreateAccount {
    pub name: String,
    /// `free`, `starter`, `standard`, `pro`, `enterprise` or `unlimited`.
    pub plan: String,
}

#[derive(Serialize, ToSchema)]
pub struct CreatedAccount {
    pub id: String,
    pub name: String,
    pub plan: Plan,
    /// The account's first admin key. Shown only in this response.
    pub api_key: String,
    #[serde(with = "time::serde::rfc3339")]
    pub created_at: time::OffsetDateTime,
}

#[derive(Serialize, ToSchema)]
pub struct AccountView {
    #[serde(flatten)]
    pub account: Account,
    pub limits: PlanLimits,
}

/// Creates a tenant with a plan and returns its first admin key. Operator only.
#[utoipa::path(post, path = "/v1/accounts", tag = "accounts", request_body = CreateAccount,
    responses((status = 201, body = CreatedAccount), (status = 400, body = ErrorBody), (status = 403, body = ErrorBody)),
    security(("bearer" = []), ("api_key" = [])))]
pub async fn create_account(
    State(state): State<AppState>,
    caller: Caller,
    ApiJson(body): ApiJson<CreateAccount>,
) -> ApiResult<(StatusCode, Json<CreatedAccount>)> {
    let name = Label::parse("name", &body.name)?;
    let plan = Plan::parse(body.plan.trim()).ok_or_else(|| {
        ApiError::invalid(format!(
            "plan: `{}` is not a plan; use one of free, starter, standard, pro, enterprise, unlimited",
            body.plan
        ))
    })?;
    let (account, key) = accounts::create_account(&state, &caller, name.as_str(), plan).await?;
    Ok((
        StatusCode::CREATED,
        Json(CreatedAccount {
            id: account.id.to_string(),
            name: account.name,
            plan: account.plan,
            api_key: key.secret,
            created_at: account.created_at,
        }),
    ))
}

/// Lists every account. Operator only.
#[utoipa::path(get, path = "/v1/accounts", tag = "accounts", params(PageQuery),
    responses((status = 200, body = List<Account>), (status = 403, body = ErrorBody)),
    security(("bearer" = []), ("api_key" = [])))]
pub async fn list_accounts(
    State(state): State<AppState>,
    caller: Caller,
    ApiQuery(page): ApiQuery<PageQuery>,
) -> ApiResult<Json<List<Account>>> {
    let page = accounts::list_accounts(&state, &caller, page.parse()?).await?;
    Ok(Json(List::from_page(page, |a| a)))
}

/// The caller's own account with its plan's limits.
#[utoipa::path(get, path = "/v1/account", tag = "accounts",
    responses((status = 200, body = AccountView)), security(("bearer" = []), ("api_key" = [])))]
pub async fn current_account(caller: Caller) -> Json<AccountView> {
    let limits = caller.account.plan.limits();
    Json(AccountView {
        account: caller.account,
        limits,
    })
}

//! Contacts (visitors), their saved chat state and unread count; captured leads; the event log.

use axum::{
    extract::State,
    http::StatusCode,
    response::{IntoResponse, Response},
    Json,
};
use serde::{Deserialize, Serialize};
use sitechat_core::{
    model::{Contact, Event, Lead, EVENT_TYPES},
    validate::ValidationError,
    BotId, ContactId, ConversationId,
};
use sitechat_store::{Cursor, EventFilter, LeadFilter, PageRequest};
use utoipa::{IntoParams, ToSchema};
use utoipa_axum::{router::OpenApiRouter, routes};

use crate::{
    auth::Caller,
    error::{ApiError, ApiResult, ErrorBody},
    extract::{ApiJson, ApiPath, ApiQuery},
    routes::{
        chat::ContactBody, conversations::parse_time, csv_field, csv_response, json_text, Format,
        List, PageQuery,
    },
    services::conversations,
    state::AppState,
};

pub fn router() -> OpenApiRouter<AppState> {
    OpenApiRouter::new()
        .routes(routes!(list_contacts, save_contact))
        .routes(routes!(get_contact))
        .routes(routes!(unread))
        .routes(routes!(load_state, save_state))
        .routes(routes!(list_leads))
        .routes(routes!(list_events))
}

#[derive(Deserialize, IntoParams)]
#[serde(deny_unknown_fields)]
#[into_params(parameter_in = Query)]
pub struct ContactQuery {
    pub bot_id: String,
    pub limit: Option<u32>,
    pub cursor: Option<String>,
}

/// A bot's contacts, oldest first.
#[utoipa::path(get, path = "/v1/contacts", tag = "contacts", params(ContactQuery),
    responses((status = 200, body = List<Contact>), (status = 400, body = ErrorBody), (status = 404, body = ErrorBody)),
    security(("bearer" = []), ("api_key" = [])))]
pub async fn list_contacts(
    State(state): State<AppState>,
    caller: Caller,
    ApiQuery(q): ApiQuery<ContactQuery>,
) -> ApiResult<Json<List<Contact>>> {
    let bot = BotId::parse(&q.bot_id)?;
    let page = PageQuery {
        limit: q.limit,
        cursor: q.cursor,
    }
    .parse()?;
    Ok(Json(List::from_page(
        conversations::contacts(&state, &caller, &bot, page).await?,
        |c| c,
    )))
}

/// A bot's contact, by your key for it. The fields of [`ContactBody`] plus the bot, written out
/// (not flattened) so that the documented schema accepts what the handler accepts.
#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct SaveContact {
    pub bot_id: String,
    /// Your own key for the visitor (up to 128 characters), unique per bot.
    pub external_id: String,
    pub name: Option<String>,
    pub email: Option<String>,
    pub phone: Option<String>,
    /// Variables by scope: `{"system": {…}, "contact": {…}}`, merged into the contact's.
    #[schema(value_type = Option<Object>)]
    pub variables: Option<serde_json::Value>,
}

/// Creates or updates a bot's contact by your key for it (`external_id`); variables merge by scope.
#[utoipa::path(post, path = "/v1/contacts", tag = "contacts", request_body = SaveContact,
    responses((status = 200, body = Contact), (status = 400, body = ErrorBody), (status = 404, body = ErrorBody)),
    security(("bearer" = []), ("api_key" = [])))]
pub async fn save_contact(
    State(state): State<AppState>,
    caller: Caller,
    ApiJson(body): ApiJson<SaveContact>,
) -> ApiResult<Json<Contact>> {
    let bot = BotId::parse(&body.bot_id)?;
    let contact = ContactBody {
        external_id: body.external_id,
        name: body.name,
        email: body.email,
        phone: body.phone,
        variables: body.variables,
    };
    Ok(Json(
        conversations::save_contact(&state, &caller, &bot, contact.parse()?).await?,
    ))
}

/// One contact.
#[utoipa::path(get, path = "/v1/contacts/{id}", tag = "contacts",
    params(("id" = String, Path, description = "Contact id (`cnt_…`)")),
    responses((status = 200, body = Contact), (status = 404, body = ErrorBody)),
    security(("bearer" = []), ("api_key" = [])))]
pub async fn get_contact(
    State(state): State<AppState>,
    caller: Caller,
    ApiPath(id): ApiPath<String>,
) -> ApiResult<Json<Contact>> {
    let id = ContactId::parse(&id)?;
    Ok(Json(conversations::contact(&state, &caller, &id).await?))
}

#[derive(Serialize, ToSchema)]
pub struct Unread {
    pub contact_id: ContactId,
    /// Bot and agent messages not marked READ.
    pub unread: i64,
}

/// How many bot and agent messages the contact has not read.
#[utoipa::path(get, path = "/v1/contacts/{id}/unread", tag = "contacts",
    params(("id" = String, Path, description = "Contact id")),
    responses((status = 200, body = Unread), (status = 404, body = ErrorBody)),
    security(("bearer" = []), ("api_key" = [])))]
pub async fn unread(
    State(state): State<AppState>,
    caller: Caller,
    ApiPath(id): ApiPath<String>,
) -> ApiResult<Json<Unread>> {
    let id = ContactId::parse(&id)?;
    let unread = conversations::unread(&state, &caller, &id).await?;
    Ok(Json(Unread {
        contact_id: id,
        unread,
    }))
}

/// The contact's saved chat state, exactly as saved, byte for byte (404 when none was saved).
#[utoipa::path(get, path = "/v1/contacts/{id}/state", tag = "contacts",
    params(("id" = String, Path, description = "Contact id")),
    responses((status = 200, description = "the saved JSON document"), (status = 404, body = ErrorBody)),
    security(("bearer" = []), ("api_key" = [])))]
pub async fn load_state(
    State(state): State<AppState>,
    caller: Caller,
    ApiPath(id): ApiPath<String>,
) -> ApiResult<Response> {
    let id = ContactId::parse(&id)?;
    conversations::load_state(&state, &caller, &id)
        .await?
        .map(json_text)
        .ok_or_else(|| ApiError::not_found("saved state"))
}

/// Saves the contact's chat state: a JSON object (up to the body limit), stored as is. Anything
/// else (`null`, an array, a string, a number) is refused with 400.
#[utoipa::path(put, path = "/v1/contacts/{id}/state", tag = "contacts",
    request_body(content = Object, description = "the state to save: any JSON object"),
    params(("id" = String, Path, description = "Contact id")),
    responses((status = 204), (status = 400, body = ErrorBody), (status = 404, body = ErrorBody)),
    security(("bearer" = []), ("api_key" = [])))]
pub async fn save_state(
    State(state): State<AppState>,
    caller: Caller,
    ApiPath(id): ApiPath<String>,
    ApiJson(document): ApiJson<serde_json::Value>,
) -> ApiResult<StatusCode> {
    let id = ContactId::parse(&id)?;
    if !document.is_object() {
        return Err(ValidationError::new(
            "state",
            "must be a JSON object, e.g. {\"step\": \"checkout\", \"cart\": [\"sku-1\"]}",
        )
        .into());
    }
    conversations::save_state(&state, &caller, &id, &document.to_string()).await?;
    Ok(StatusCode::NO_CONTENT)
}

#[derive(Deserialize, IntoParams)]
#[serde(deny_unknown_fields)]
#[into_params(parameter_in = Query)]
pub struct LeadQuery {
    pub bot_id: Option<String>,
    /// Captured at or after this time (RFC 3339).
    pub since: Option<String>,
    /// Captured before this time (RFC 3339).
    pub until: Option<String>,
    /// `json` (default) or `csv` (every matching lead, no paging).
    pub format: Option<String>,
    pub limit: Option<u32>,
    pub cursor: Option<String>,
}

/// Captured leads (emails and phone numbers visitors gave), oldest first; `format=csv` exports
/// them all.
#[utoipa::path(get, path = "/v1/leads", tag = "contacts", params(LeadQuery),
    responses((status = 200, body = List<Lead>), (status = 400, body = ErrorBody)),
    security(("bearer" = []), ("api_key" = [])))]
pub async fn list_leads(
    State(state): State<AppState>,
    caller: Caller,
    ApiQuery(q): ApiQuery<LeadQuery>,
) -> ApiResult<Response> {
    let filter = LeadFilter {
        bot: q
            .bot_id
            .as_deref()
            .map(BotId::parse)
            .transpose()
            .map_err(|e| ApiError::invalid(e.to_string()))?,
        since: parse_time("since", q.since.as_deref())?,
        until: parse_time("until", q.until.as_deref())?,
    };
    match Format::parse(q.format.as_deref())? {
        Format::Json => {
            let page = PageQuery {
                limit: q.limit,
                cursor: q.cursor,
            }
            .parse()?;
            let page = conversations::leads(&state, &caller, &filter, page).await?;
            Ok(Json(List::from_page(page, |l| l)).into_response())
        }
        Format::Csv => {
            let mut csv = String::from("lead_id,created_at,bot_id,conversation_id,contact_id,external_id,name,email,phone\n");
            let mut after: Option<Cursor> = None;
            loop {
                let page = conversations::leads(
                    &state,
                    &caller,
                    &filter,
                    PageRequest { limit: 100, after },
                )
                .await?;
                for l in &page.items {
                    let created = l
                        .created_at
                        .format(&time::format_description::well_known::Rfc3339)
                        .unwrap_or_default();
                    let fields = [
                        Some(l.id.as_str()),
                        Some(created.as_str()),
                        Some(l.bot_id.as_str()),
                        l.conversation_id.as_ref().map(ConversationId::as_str),
                        l.contact_id.as_ref().map(ContactId::as_str),
                        l.external_id.as_deref(),
                        l.name.as_deref(),
                        l.email.as_deref(),
                        l.phone.as_deref(),
                    ];
                    csv.push_str(
                        &fields
                            .iter()
                            .map(|f| csv_field(*f))
                            .collect::<Vec<_>>()
                            .join(","),
                    );
                    csv.push('\n');
                }
                match page.next_cursor {
                    Some(c) => after = Some(c),
                    None => break,
                }
            }
            Ok(csv_response(csv, "leads.csv"))
        }
    }
}

#[derive(Deserialize, IntoParams)]
#[serde(deny_unknown_fields)]
#[into_params(parameter_in = Query)]
pub struct EventQuery {
    /// Events at or after this time (RFC 3339).
    pub since: Option<String>,
    /// `next_cursor` of the previous page: events after it.
    pub cursor: Option<String>,
    /// Comma-separated event types.
    pub types: Option<String>,
    pub bot_id: Option<String>,
    pub conversation_id: Option<String>,
    /// 1–500 (default 100).
    pub limit: Option<u32>,
}

#[derive(Serialize, ToSchema)]
pub struct EventPage {
    pub data: Vec<Event>,
    /// Pass as `cursor` to continue; present even on the last page, to poll for new events.
    pub next_cursor: Option<String>,
    pub has_more: bool,
}

/// The event log, in the order events happened. Paging with `cursor` returns every event exactly
/// once, even while new ones are written; `next_cursor` of the last page polls for new ones.
#[utoipa::path(get, path = "/v1/events", tag = "contacts", params(EventQuery),
    responses((status = 200, body = EventPage), (status = 400, body = ErrorBody)),
    security(("bearer" = []), ("api_key" = [])))]
pub async fn list_events(
    State(state): State<AppState>,
    caller: Caller,
    ApiQuery(q): ApiQuery<EventQuery>,
) -> ApiResult<Json<EventPage>> {
    let limit = q.limit.unwrap_or(100);
    if !(1..=500).contains(&limit) {
        return Err(ApiError::invalid(format!(
            "limit must be between 1 and 500 (got {limit})"
        )));
    }
    let types: Vec<String> = q
        .types
        .as_deref()
        .map(|t| {
            t.split(',')
                .map(|s| s.trim().to_owned())
                .filter(|s| !s.is_empty())
                .collect()
        })
        .unwrap_or_default();
    if let Some(unknown) = types.iter().find(|t| !EVENT_TYPES.contains(&t.as_str())) {
        return Err(ApiError::invalid(format!(
            "types: `{unknown}` is not an event type; use {}",
            EVENT_TYPES.join(", ")
        )));
    }
    let after = super::cursor_of(q.cursor.as_deref())?.map_or(0, Cursor::position);
    let filter = EventFilter {
        after,
        since: parse_time("since", q.since.as_deref())?,
        types,
        bot: q
            .bot_id
            .as_deref()
            .map(BotId::parse)
            .transpose()
            .map_err(|e| ApiError::invalid(e.to_string()))?,
        conversation: q
            .conversation_id
            .as_deref()
            .map(ConversationId::parse)
            .transpose()
            .map_err(|e| ApiError::invalid(e.to_string()))?,
    };
    let rows = conversations::events(&state, &caller, &filter, limit + 1).await?;
    let has_more = rows.len() > limit as usize;
    let mut data: Vec<(i64, Event)> = rows;
    data.truncate(limit as usize);
    let last = data.last().map_or(after, |(seq, _)| *seq);
    Ok(Json(EventPage {
        data: data.into_iter().map(|(_, e)| e).collect(),
        next_cursor: Some(Cursor::at(last).encode()),
        has_more,
    }))
}

//! The OpenAPI document and a readable reference page rendered from it.
//!
//! The page is rendered here, on the server, from the same document that `/openapi.json` serves:
//! no JavaScript bundle and no CDN, so the reference works on an air-gapped install and can never
//! disagree with the API.

use std::fmt::Write;

use serde_json::Value;
use utoipa::openapi::{
    path::{Operation, ParameterIn},
    security::SecurityRequirement,
    ContentBuilder, OpenApi, Ref, ResponseBuilder,
};

fn escape(s: &str) -> String {
    s.replace('&', "&amp;")
        .replace('<', "&lt;")
        .replace('>', "&gt;")
        .replace('"', "&quot;")
}

fn schema_name(v: &Value) -> String {
    if let Some(r) = v.get("$ref").and_then(Value::as_str) {
        let name = r.rsplit('/').next().unwrap_or(r);
        return format!("<a href=\"#schema-{0}\">{0}</a>", escape(name));
    }
    if let Some(items) = v.get("items") {
        return format!("array of {}", schema_name(items));
    }
    match v.get("type") {
        Some(Value::String(t)) => escape(t),
        Some(Value::Array(ts)) => ts
            .iter()
            .filter_map(Value::as_str)
            .collect::<Vec<_>>()
            .join(" | "),
        _ if v.get("oneOf").is_some() || v.get("anyOf").is_some() => {
            let alts = v
                .get("oneOf")
                .or_else(|| v.get("anyOf"))
                .and_then(Value::as_array)
                .cloned()
                .unwrap_or_default();
            alts.iter().map(schema_name).collect::<Vec<_>>().join(" | ")
        }
        _ => "object".to_owned(),
    }
}

/// Documents, on every operation of the authenticated API, the errors that the layers all of
/// them pass through can answer, next to each handler's own: 401 (no valid key), 403 (the key's
/// scopes), 429 (the account's rate limit), 400 (a query string, header or body that does not
/// parse), 404 (an id in the path that cannot exist), 413 and 415 (a body too large, or not
/// JSON), and 422 on POST (an `Idempotency-Key` reused with a different request).
pub fn document_shared_errors(spec: &mut OpenApi) {
    document_errors(spec, Credential::Key, "ErrorBody");
    // Every route that takes a key also takes the dashboard's session cookie.
    for (operation, _) in operations(spec) {
        operation
            .security
            .get_or_insert_with(Vec::new)
            .push(SecurityRequirement::new("session", Vec::<String>::new()));
    }
}

/// The errors of the layers shared by the public visitor routes: no key, so no idempotency
/// (and no 422); 401 only where a visitor token is needed; 403 for a page of another origin;
/// 429 for the address's hourly allowance.
pub fn document_visitor_errors(spec: &mut OpenApi) {
    document_errors(spec, Credential::Visitor, "ErrorBody");
}

/// The errors of routes that take no credential at all (signing in, the one-time links): bad
/// input, unknown ids, bodies too large or of the wrong type.
pub fn document_open_errors(spec: &mut OpenApi) {
    document_errors(spec, Credential::None, "ErrorBody");
}

/// What a route's layers check before its handler runs, and so which errors they can answer.
#[derive(Clone, Copy, PartialEq)]
pub enum Credential {
    /// An API key (or the dashboard's session), with idempotency on POST.
    Key,
    /// None, or a visitor token: the public visitor routes.
    Visitor,
    /// A channel token in the path, counted against the bot's account.
    Channel,
    /// None at all.
    None,
}

fn operations(spec: &mut OpenApi) -> impl Iterator<Item = (&mut Operation, bool)> {
    spec.paths.paths.values_mut().flat_map(|item| {
        [
            (&mut item.get, false),
            (&mut item.put, false),
            (&mut item.post, true),
            (&mut item.patch, false),
            (&mut item.delete, false),
        ]
        .into_iter()
        .filter_map(|(operation, is_post)| operation.as_mut().map(|o| (o, is_post)))
    })
}

/// Documents on every operation of `spec` the errors of the layers it passes through, each as a
/// response of `error_schema` (a schema of the document's components): the native API's
/// `ErrorBody`, or a dialect's own error shape.
pub fn document_errors(spec: &mut OpenApi, credential: Credential, error_schema: &str) {
    for (operation, is_post) in operations(spec) {
        document_operation_errors(operation, is_post, credential, error_schema);
    }
}

fn document_operation_errors(
    operation: &mut Operation,
    is_post: bool,
    credential: Credential,
    error_schema: &str,
) {
    let has_parameter = |location: ParameterIn| {
        operation
            .parameters
            .iter()
            .flatten()
            .any(|p| p.parameter_in == location)
    };
    let has_path = has_parameter(ParameterIn::Path);
    let has_input = has_parameter(ParameterIn::Query)
        || has_parameter(ParameterIn::Header)
        || operation.request_body.is_some();
    let body_types: Vec<String> = operation
        .request_body
        .iter()
        .flat_map(|b| b.content.keys().cloned())
        .collect();
    let mut shared = match credential {
        Credential::None => Vec::new(),
        Credential::Channel => vec![(
            "429",
            "the bot's account's rate limit is reached; see `Retry-After`",
        )],
        Credential::Key => vec![
            (
                "401",
                "the API key (or the dashboard session) is missing, invalid, revoked or ended",
            ),
            (
                "403",
                "the key's scopes or the person's role do not allow this, or a change made with \
                 the session cookie lacks its `X-CSRF-Token`",
            ),
            (
                "429",
                "the account's rate limit is reached; see `Retry-After`",
            ),
        ],
        Credential::Visitor => {
            let mut visitor = vec![
                (
                    "403",
                    "the page's origin is not one of the bot's allowed origins",
                ),
                (
                    "429",
                    "the address's hourly allowance of the public widget, or the bot's \
                     account's rate limit, is reached; see `Retry-After`",
                ),
            ];
            if operation.security.as_ref().is_some_and(|s| !s.is_empty()) {
                visitor.push((
                    "401",
                    "the visitor token is missing, damaged, expired or not this server's",
                ));
            }
            visitor
        }
    };
    if has_input {
        shared.push((
            "400",
            "the request is invalid; the message says what to fix",
        ));
    }
    if has_path {
        shared.push(("404", "nothing with this id in your account"));
    }
    if !body_types.is_empty() {
        shared.push(("413", "the body is larger than this server accepts"));
    }
    if body_types.iter().any(|t| t == "application/json") {
        shared.push(("415", "the body is not sent as `application/json`"));
    }
    if is_post && credential == Credential::Key {
        shared.push((
            "422",
            "this `Idempotency-Key` was already used with a different request",
        ));
    }
    for (status, description) in shared {
        operation
            .responses
            .responses
            .entry(status.to_owned())
            .or_insert_with(|| {
                ResponseBuilder::new()
                    .description(description)
                    .content(
                        "application/json",
                        ContentBuilder::new()
                            .schema(Some(Ref::from_schema_name(error_schema)))
                            .build(),
                    )
                    .build()
                    .into()
            });
    }
}

/// Renders the API reference page, which links the dialects' documents.
pub fn render_reference(spec: &Value, dialects: &[crate::dialects::Document]) -> String {
    let mut html = String::new();
    let title = spec
        .pointer("/info/title")
        .and_then(Value::as_str)
        .unwrap_or("API");
    let version = spec
        .pointer("/info/version")
        .and_then(Value::as_str)
        .unwrap_or("");
    let _ = write!(
        html,
        "<!doctype html><html lang=\"en\"><head><meta charset=\"utf-8\"><title>{t} reference</title>\
         <meta name=\"viewport\" content=\"width=device-width, initial-scale=1\"><style>\
         body{{font:15px/1.5 system-ui,sans-serif;max-width:980px;margin:2em auto;padding:0 1em;color:#1d2330}}\
         code,.path{{font-family:ui-monospace,monospace}} .op{{border:1px solid #d8dde6;border-radius:6px;margin:1em 0;padding:.6em 1em}}\
         .m{{display:inline-block;min-width:4.5em;font-weight:700;text-transform:uppercase}} .get{{color:#1a7f37}} .post{{color:#0550ae}}\
         .patch,.put{{color:#9a6700}} .delete{{color:#cf222e}} table{{border-collapse:collapse}} td,th{{border-bottom:1px solid #eee;padding:.2em .6em;text-align:left;vertical-align:top}}\
         </style></head><body><h1>{t} <small>{v}</small></h1>\
         <p>Machine-readable: <a href=\"/openapi.json\">/openapi.json</a> (OpenAPI 3.1). Authenticate with \
         <code>Authorization: Bearer sk_…</code> or <code>X-API-Key: sk_…</code>. Errors are \
         <code>{{\"error\": {{\"code\", \"message\", \"details\"}}}}</code>.</p>",
        t = escape(title),
        v = escape(version)
    );
    if let Some(desc) = spec.pointer("/info/description").and_then(Value::as_str) {
        let _ = write!(html, "<p>{}</p>", escape(desc));
    }
    if !dialects.is_empty() {
        html.push_str(
            "<h2 id=\"dialects\">Dialects</h2><p>The seed services' APIs, each with its own \
             OpenAPI document, generated from the same handlers as its routes:</p><ul>",
        );
        for dialect in dialects {
            let _ = write!(
                html,
                "<li><a href=\"{path}\">{path}</a>: {title}</li>",
                path = escape(&dialect.path()),
                title = escape(&dialect.spec.info.title)
            );
        }
        html.push_str("</ul>");
    }
    html.push_str("<h2>Endpoints</h2>");
    if let Some(paths) = spec.get("paths").and_then(Value::as_object) {
        for (path, item) in paths {
            for method in ["get", "post", "put", "patch", "delete"] {
                let Some(op) = item.get(method) else { continue };
                let summary = op.get("summary").and_then(Value::as_str).unwrap_or("");
                let _ = write!(
                    html,
                    "<div class=\"op\" id=\"{id}\"><span class=\"m {method}\">{method}</span> <span class=\"path\">{p}</span><p>{s}</p>",
                    id = escape(op.get("operationId").and_then(Value::as_str).unwrap_or("")),
                    p = escape(path),
                    s = escape(summary)
                );
                if let Some(desc) = op.get("description").and_then(Value::as_str) {
                    let _ = write!(html, "<p>{}</p>", escape(desc));
                }
                if let Some(params) = op
                    .get("parameters")
                    .and_then(Value::as_array)
                    .filter(|p| !p.is_empty())
                {
                    html.push_str(
                        "<table><tr><th>parameter</th><th>in</th><th>type</th><th></th></tr>",
                    );
                    for p in params {
                        let _ = write!(
                            html,
                            "<tr><td><code>{}</code>{}</td><td>{}</td><td>{}</td><td>{}</td></tr>",
                            escape(p.get("name").and_then(Value::as_str).unwrap_or("")),
                            if p.get("required").and_then(Value::as_bool).unwrap_or(false) {
                                " *"
                            } else {
                                ""
                            },
                            escape(p.get("in").and_then(Value::as_str).unwrap_or("")),
                            p.get("schema").map(schema_name).unwrap_or_default(),
                            escape(p.get("description").and_then(Value::as_str).unwrap_or(""))
                        );
                    }
                    html.push_str("</table>");
                }
                if let Some(body) = op.pointer("/requestBody/content/application~1json/schema") {
                    let _ = write!(html, "<p>Request body: {}</p>", schema_name(body));
                }
                if let Some(responses) = op.get("responses").and_then(Value::as_object) {
                    html.push_str("<p>Responses: ");
                    for (status, r) in responses {
                        let body = r
                            .pointer("/content/application~1json/schema")
                            .map(|s| format!(" {}", schema_name(s)))
                            .unwrap_or_default();
                        let _ = write!(html, "<code>{}</code>{} ", escape(status), body);
                    }
                    html.push_str("</p>");
                }
                html.push_str("</div>");
            }
        }
    }
    html.push_str("<h2>Schemas</h2>");
    if let Some(schemas) = spec
        .pointer("/components/schemas")
        .and_then(Value::as_object)
    {
        for (name, schema) in schemas {
            let _ = write!(html, "<h3 id=\"schema-{0}\">{0}</h3>", escape(name));
            if let Some(desc) = schema.get("description").and_then(Value::as_str) {
                let _ = write!(html, "<p>{}</p>", escape(desc));
            }
            let mut props: Vec<(String, Value)> = Vec::new();
            let mut collect = |s: &Value| {
                if let Some(p) = s.get("properties").and_then(Value::as_object) {
                    props.extend(p.iter().map(|(k, v)| (k.clone(), v.clone())));
                }
            };
            collect(schema);
            for part in schema
                .get("allOf")
                .and_then(Value::as_array)
                .into_iter()
                .flatten()
            {
                collect(part);
            }
            if let Some(values) = schema.get("enum").and_then(Value::as_array) {
                let list = values
                    .iter()
                    .filter_map(Value::as_str)
                    .map(|v| format!("<code>{}</code>", escape(v)))
                    .collect::<Vec<_>>();
                let _ = write!(html, "<p>One of {}</p>", list.join(", "));
            }
            if !props.is_empty() {
                html.push_str("<table><tr><th>field</th><th>type</th><th></th></tr>");
                for (prop, s) in props {
                    let _ = write!(
                        html,
                        "<tr><td><code>{}</code></td><td>{}</td><td>{}</td></tr>",
                        escape(&prop),
                        schema_name(&s),
                        escape(s.get("description").and_then(Value::as_str).unwrap_or(""))
                    );
                }
                html.push_str("</table>");
            }
        }
    }
    html.push_str("</body></html>");
    html
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_operation_and_schema_is_on_the_page() {
        let spec = serde_json::json!({
            "info": {"title": "t", "version": "1"},
            "paths": {"/v1/x": {"get": {"summary": "Gets <x>", "responses": {"200": {}}}}},
            "components": {"schemas": {"X": {"properties": {"a": {"type": "string", "description": "the a"}}}}}
        });
        let html = render_reference(&spec, &[]);
        assert!(html.contains("/v1/x"));
        assert!(html.contains("Gets &lt;x&gt;"), "text is escaped");
        assert!(html.contains("id=\"schema-X\""));
        assert!(html.contains("the a"));
    }
}

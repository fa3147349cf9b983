//! `/v1/openapi.json`, generated from the handlers' annotations and the
//! protocol types, so the description can't drift from the code.

use axum::Json;
use utoipa::openapi::security::{HttpAuthScheme, HttpBuilder, SecurityScheme};
use utoipa::{Modify, OpenApi};

use latch_protocol as p;

#[derive(OpenApi)]
#[openapi(
    info(title = "Latch account API", description = "The wire contract v1 of Latch (docs/protocol.md in the repository). Every error body is {\"error\", \"message\"} plus that code's details."),
    paths(
        super::auth::server_info,
        super::auth::email_link,
        super::auth::token,
        super::open::page,
        super::me::get,
        super::me::rename,
        super::sessions::list,
        super::sessions::heartbeat,
        super::sessions::rename,
        super::sessions::delete,
        super::sessions::revoke_others,
        super::sessions::revoke_all,
        super::stream::events,
        serve,
    ),
    components(schemas(
        p::ServerInfo, p::EmailLinkRequest, p::EmailLinkResponse, p::TokenRequest, p::TokenResponse,
        p::Account, p::UpdateAccountRequest, p::Session, p::SessionList, p::SessionState,
        p::HeartbeatRequest, p::RenameSessionRequest, p::RevokedCount, p::Device, p::Platform,
        p::AppKind, p::ErrorBody, p::ErrorCode, p::Revocation, p::RevocationReason, p::SessionRevoked,
    )),
    modifiers(&BearerAuth),
)]
pub struct ApiDoc;

struct BearerAuth;

impl Modify for BearerAuth {
    fn modify(&self, openapi: &mut utoipa::openapi::OpenApi) {
        let components = openapi.components.get_or_insert_with(Default::default);
        components.add_security_scheme(
            "bearer",
            SecurityScheme::Http(HttpBuilder::new().scheme(HttpAuthScheme::Bearer).build()),
        );
    }
}

#[utoipa::path(get, path = "/v1/openapi.json", tag = "server",
    responses((status = 200, description = "This description (OpenAPI 3.1), without sign-in", content_type = "application/json")))]
pub async fn serve() -> Json<utoipa::openapi::OpenApi> {
    let mut doc = ApiDoc::openapi();
    doc.info.version = env!("CARGO_PKG_VERSION").to_owned();
    Json(doc)
}

//! What the hand-written OpenAPI schemas share.

/// A string schema of the given values.
pub(crate) fn string_enum(
    values: impl IntoIterator<Item = String>,
) -> utoipa::openapi::RefOr<utoipa::openapi::schema::Schema> {
    use utoipa::openapi::schema::{ObjectBuilder, Type};
    ObjectBuilder::new()
        .schema_type(Type::String)
        .enum_values(Some(values))
        .into()
}

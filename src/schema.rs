//! Schemas for the OpenAPI document of values the server checks by hand: the limits it enforces,
//! stated where clients read them. Ground: used by the rules and the error type alike.

/// A schema for the document only, of strings the server checks item by item in a `Vec<String>`
/// field (`#[schema(value_type = Vec<Name>)]`): the limits it enforces, stated where clients read
/// them.
macro_rules! string_schema {
    ($(#[$doc:meta])* $name:ident, $min:expr, $max:expr, $pattern:expr, $description:expr) => {
        $(#[$doc])*
        pub struct $name;

        impl utoipa::PartialSchema for $name {
            fn schema() -> utoipa::openapi::RefOr<utoipa::openapi::schema::Schema> {
                let pattern: Option<&str> = $pattern;
                utoipa::openapi::ObjectBuilder::new()
                    .schema_type(utoipa::openapi::schema::Type::String)
                    .min_length(Some($min))
                    .max_length(Some($max))
                    .pattern(pattern)
                    .description(Some($description))
                    .into()
            }
        }

        impl utoipa::ToSchema for $name {}
    };
}
pub(crate) use string_schema;

//! How resources are shown: the response bodies of the API and the documents stored as revisions.
//! Built from stored rows; no I/O except in `document`, which loads a whole plan in a fixed number
//! of queries.

pub mod balp;
pub mod consent;
pub mod deviation;
pub mod document;
pub mod document_reference;
pub mod feed;
pub mod fhir;
pub mod glossary;
pub mod import;
pub mod individual;
pub mod me;
pub mod plan;
pub mod printout;
pub mod process;
pub mod time;
pub mod webhook;

/// Declares a page type: the items and the cursor of the next page.
macro_rules! page_of {
    ($page:ident, $item:ty, $what:literal) => {
        #[doc = concat!("One page of ", $what, ". Pass `next_cursor` as `cursor` to get the next page; it is absent on the last page.")]
        #[derive(Debug, serde::Serialize, utoipa::ToSchema)]
        pub struct $page {
            pub items: Vec<$item>,
            #[serde(skip_serializing_if = "Option::is_none")]
            #[schema(nullable = false)]
            pub next_cursor: Option<String>,
        }
    };
}
pub(crate) use page_of;

/// Declares a list type for the children of one plan, which are few and bounded by the plan
/// (e.g. at most [`crate::domain::process::MAX_PER_PLAN`] goals), so they come in one response.
macro_rules! list_of {
    ($list:ident, $item:ty, $what:literal) => {
        #[doc = concat!("All ", $what, " of a plan, in order.")]
        #[derive(Debug, serde::Serialize, utoipa::ToSchema)]
        pub struct $list {
            pub items: Vec<$item>,
        }
    };
}
pub(crate) use list_of;

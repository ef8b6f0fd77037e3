//! What an entry of the access log did — one reading for everyone who reads the log: the
//! person's own extract (`/me/access-log`) and the region's tools (the BALP export).

/// The interaction an access was.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Interaction {
    Read,
    /// A search: by identity number, or a list asked for by criteria.
    Search,
    Create,
    Update,
}

impl Interaction {
    /// From an entry's `action` — `read` (a GET, or a search by number), a change's event type
    /// (`plan.created`), a record of the bulk import (`plan.imported`, `plan.reimported`), the method of a refused write (`post`, `put`, `delete`) or a named attempt
    /// (`search_denied`, `register_denied`, `register`) — and its `resource_type` (the route's last
    /// resource: `search` for a search by number).
    pub fn of(action: &str, resource_type: &str) -> Interaction {
        if action.contains("search") || resource_type == "search" || resource_type == "_search" {
            Interaction::Search
        } else if action == "read" {
            Interaction::Read
        } else if action.ends_with(".created")
            || action.ends_with(".imported")
            || action == "post"
            || action.starts_with("register")
        {
            Interaction::Create
        } else {
            Interaction::Update
        }
    }
}

#[cfg(test)]
mod tests {
    use super::Interaction::{self, *};

    #[test]
    fn every_kind_of_entry_reads_as_one_interaction() {
        for (action, resource_type, expected) in [
            ("read", "plans", Read),
            ("read", "document", Read),
            ("read", "search", Search),
            ("search_denied", "individuals", Search),
            ("plan.created", "plans", Create),
            ("post", "goals", Create),
            ("register", "individuals", Create),
            ("register_denied", "individuals", Create),
            ("plan.updated", "plans", Update),
            ("plan.imported", "plan", Create),
            ("plan.reimported", "plan", Update),
            ("consent.withdrawn", "consents", Update),
            ("put", "plans", Update),
            ("delete", "goals", Update),
        ] {
            assert_eq!(
                Interaction::of(action, resource_type),
                expected,
                "{action} {resource_type}"
            );
        }
    }
}

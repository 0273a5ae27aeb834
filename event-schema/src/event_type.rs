/// Every event type of schema version 1, with its snake_case wire name.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum EventType {
    PageView,
    ProductListView,
    ProductView,
    Search,
    AddToCart,
    RemoveFromCart,
    CheckoutStarted,
    Purchase,
    RecommendationImpression,
    RecommendationClick,
    InventorySnapshot,
    Identify,
    Custom,
}

impl EventType {
    /// All types, in documentation order.
    pub const ALL: [EventType; 13] = [
        EventType::PageView,
        EventType::ProductListView,
        EventType::ProductView,
        EventType::Search,
        EventType::AddToCart,
        EventType::RemoveFromCart,
        EventType::CheckoutStarted,
        EventType::Purchase,
        EventType::RecommendationImpression,
        EventType::RecommendationClick,
        EventType::InventorySnapshot,
        EventType::Identify,
        EventType::Custom,
    ];

    /// The wire name (`"add_to_cart"`).
    pub const fn as_str(self) -> &'static str {
        match self {
            EventType::PageView => "page_view",
            EventType::ProductListView => "product_list_view",
            EventType::ProductView => "product_view",
            EventType::Search => "search",
            EventType::AddToCart => "add_to_cart",
            EventType::RemoveFromCart => "remove_from_cart",
            EventType::CheckoutStarted => "checkout_started",
            EventType::Purchase => "purchase",
            EventType::RecommendationImpression => "recommendation_impression",
            EventType::RecommendationClick => "recommendation_click",
            EventType::InventorySnapshot => "inventory_snapshot",
            EventType::Identify => "identify",
            EventType::Custom => "custom",
        }
    }

    /// Parses a wire name; `None` for anything else (names are case-sensitive).
    pub fn from_wire(name: &str) -> Option<EventType> {
        EventType::ALL.into_iter().find(|t| t.as_str() == name)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn wire_names_round_trip_and_are_unique() {
        for t in EventType::ALL {
            assert_eq!(EventType::from_wire(t.as_str()), Some(t));
        }
        let mut names: std::vec::Vec<_> = EventType::ALL.iter().map(|t| t.as_str()).collect();
        names.sort();
        names.dedup();
        assert_eq!(names.len(), EventType::ALL.len());
        assert_eq!(EventType::from_wire("Page_View"), None);
    }
}

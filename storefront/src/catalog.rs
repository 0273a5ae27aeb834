/// A product of the demo catalog.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct Product {
    pub sku: &'static str,
    pub name: &'static str,
    pub brand: &'static str,
    pub category: &'static str,
    /// In `CURRENCY`.
    pub price: f64,
    pub colour: &'static str,
}

pub const CURRENCY: &str = "EUR";

impl Product {
    pub fn price_label(&self) -> String {
        format!("€{:.2}", self.price)
    }
}

pub const CATALOG: &[Product] = &[
    Product {
        sku: "sku-trail-shoe",
        name: "Trail Running Shoe",
        brand: "Northpeak",
        category: "Shoes",
        price: 89.90,
        colour: "#3b82f6",
    },
    Product {
        sku: "sku-merino-sock",
        name: "Merino Hiking Socks",
        brand: "Woolly",
        category: "Socks",
        price: 14.50,
        colour: "#a16207",
    },
    Product {
        sku: "sku-rain-jacket",
        name: "Packable Rain Jacket",
        brand: "Northpeak",
        category: "Jackets",
        price: 129.00,
        colour: "#059669",
    },
    Product {
        sku: "sku-day-pack",
        name: "20 L Day Pack",
        brand: "Carryall",
        category: "Bags",
        price: 64.00,
        colour: "#dc2626",
    },
    Product {
        sku: "sku-water-bottle",
        name: "Steel Water Bottle",
        brand: "Carryall",
        category: "Accessories",
        price: 22.00,
        colour: "#7c3aed",
    },
    Product {
        sku: "sku-head-torch",
        name: "Rechargeable Head Torch",
        brand: "Lumen",
        category: "Accessories",
        price: 39.95,
        colour: "#f59e0b",
    },
];
